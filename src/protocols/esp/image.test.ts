import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../core/bytes.ts';
import { UsageError } from '../../core/errors.ts';
import { ESP_CHIPS } from './chips.ts';
import { APP_DESC_OFFSET, parseEspImage, retargetImage } from './image.ts';

// Real images from espressif/esptool test/images (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../../test/fixtures/firmware/${name}`, import.meta.url)));

describe('parseEspImage on real images', () => {
  it('ESP-IDF blink app for ESP32-S2: 6 segments, app descriptor, valid checksum and SHA-256', () => {
    const bytes = firmware('esp_idf_blink_esp32s2.bin');
    const img = parseEspImage(bytes);
    expect(img.format).toBe('esp32');
    expect(img.chip).toBe('esp32s2');
    expect(img.chipId).toBe(2);
    expect(img.segmentCount).toBe(6);
    expect(img.segments).toHaveLength(6);
    expect(img.flashMode).toBe('dio');
    expect(img.entry).toBe(0x40022f84);
    expect(img.checksumValid).toBe(true);
    expect(img.hashAppended).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(img.length).toBe(bytes.length);
    expect(img.appDesc?.projectName).toBe('blink');
    expect(img.appDesc?.secureVersion).toBe(0);
    expect(img.appDesc?.version).toMatch(/^qa-test-v5\.0/);
    expect(img.appDesc?.idfVersion).not.toBe('');
    expect(img.appDesc?.appElfSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(img.segments[0]!.dataOffset).toBe(APP_DESC_OFFSET);
  });

  it('ESP32 second-stage bootloader: chip id 0, no appended hash, no app descriptor', () => {
    const img = parseEspImage(firmware('bootloader_esp32.bin'));
    expect(img.chip).toBe('esp32');
    expect(img.segmentCount).toBe(4);
    expect(img.hashAppended).toBe(false);
    expect(img.sha256).toBeUndefined();
    expect(img.checksumValid).toBe(true);
    expect(img.appDesc).toBeUndefined();
    expect(img.flashSize).toBe(2 * 1024 * 1024);
  });

  it('ESP32-C3 bootloader: chip id 5 with an appended SHA-256', () => {
    const bytes = firmware('bootloader_esp32c3.bin');
    const img = parseEspImage(bytes);
    expect(img.chip).toBe('esp32c3');
    expect(img.checksumValid).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(img.length).toBe(bytes.length);
  });

  it('ESP8266 image: 8-byte v1 header, one segment (eboot), a second image at 0x1000', () => {
    const bytes = firmware('esp8266_deepsleep.bin');
    const img = parseEspImage(bytes);
    expect(img.format).toBe('esp8266');
    expect(img.chipId).toBeUndefined();
    expect(img.segmentCount).toBe(1);
    expect(img.entry).toBe(0x4010f29c);
    expect(img.checksumValid).toBe(true);
    expect(img.length).toBeLessThan(0x1000);
    const app = parseEspImage(bytes.subarray(0x1000), { format: 'esp8266' });
    expect(app.checksumValid).toBe(true);
  });

  it('rejects the partition table (magic 0xAA50, not an image)', () => {
    expect(() => parseEspImage(firmware('partitions_singleapp.bin'))).toThrow(UsageError);
  });
});

describe('parseEspImage rejections', () => {
  const blink = firmware('esp_idf_blink_esp32s2.bin');
  const table: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['wrong magic', Uint8Array.of(0xe8, 1, 2, 0x20, 0, 0, 0, 0)],
    ['zero segments', Uint8Array.of(0xe9, 0, 2, 0x20, 0, 0, 0, 0)],
    ['truncated extended header', blink.slice(0, 20)],
    ['truncated segment', blink.slice(0, 1000)],
    ['missing checksum', blink.slice(0, blink.length - 33)],
    ['missing hash', blink.slice(0, blink.length - 5)],
  ];
  it.each(table)('%s', (_name, bytes) => {
    expect(() => parseEspImage(bytes)).toThrow(UsageError);
  });

  it('reports (does not throw) a wrong checksum or hash', () => {
    const bad = blink.slice();
    bad[APP_DESC_OFFSET + 300]! ^= 0xff;
    const img = parseEspImage(bad);
    expect(img.checksumValid).toBe(false);
    expect(img.sha256?.valid).toBe(false);
  });
});

describe('retargetImage', () => {
  it('turns the ESP32-S2 blink app into an ESP32-S3 image with valid checksum and hash', () => {
    const blink = firmware('esp_idf_blink_esp32s2.bin');
    const s3 = retargetImage(blink, ESP_CHIPS.esp32s3);
    const img = parseEspImage(s3);
    expect(img.chip).toBe('esp32s3');
    expect(img.checksumValid).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(toHex(img.sha256!.stored)).toBe(toHex(sha256(s3.subarray(0, s3.length - 32))));
    expect(img.appDesc?.projectName).toBe('blink');
    // Only the chip id and the hash changed.
    let diffs = 0;
    for (let i = 0; i < blink.length - 32; i++) if (blink[i] !== s3[i]) diffs++;
    expect(diffs).toBe(1);
    expect(blink[12]).toBe(2); // input untouched
  });

  it('fixes a wrong checksum on the way', () => {
    const blink = firmware('esp_idf_blink_esp32s2.bin');
    const img = parseEspImage(blink);
    const broken = blink.slice();
    broken[img.checksumOffset]! ^= 0x5a;
    expect(parseEspImage(retargetImage(broken, ESP_CHIPS.esp32c3)).checksumValid).toBe(true);
  });

  it('refuses a chip whose images have no chip id', () => {
    expect(() => retargetImage(firmware('bootloader_esp32.bin'), ESP_CHIPS.esp8266)).toThrow(
      UsageError,
    );
  });

  it('round-trips synthetic images of any segments through parse (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (segments, hash) => {
          const bytes = buildImage(segments, hash);
          const img = parseEspImage(bytes);
          expect(img.segments.map((s) => s.length)).toEqual(segments.map((s) => s.length));
          expect(img.checksumValid).toBe(true);
          expect(img.sha256?.valid ?? !hash).toBe(true);
          expect(img.length).toBe(bytes.length);
          const moved = parseEspImage(retargetImage(bytes, ESP_CHIPS.esp32h2));
          expect(moved.chip).toBe('esp32h2');
          expect(moved.sha256?.valid ?? !hash).toBe(true);
        },
      ),
    );
  });
});

/** A minimal ESP32-S2 image in the documented layout, for property tests. */
function buildImage(segments: Uint8Array[], hash: boolean): Uint8Array {
  const parts: number[] = [0xe9, segments.length, 2, 0x20, 0, 0, 0, 0x40];
  parts.push(0xee, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hash ? 1 : 0);
  let sum = 0xef;
  for (const s of segments) {
    parts.push(0, 0, 0, 0x3f, s.length & 0xff, s.length >> 8, 0, 0, ...s);
    for (const b of s) sum ^= b;
  }
  while (parts.length % 16 !== 15) parts.push(0);
  parts.push(sum);
  const body = Uint8Array.from(parts);
  if (!hash) return body;
  const out = new Uint8Array(body.length + 32);
  out.set(body);
  out.set(sha256(body), body.length);
  return out;
}
