/**
 * Builds the demo bundle that demo mode, the e2e tests and the benchmarks load:
 * public/demo/demo.fwb, signed with the public demo key (demo/keys/), so only a demo build
 * trusts it.
 *
 * The images are real ESP-IDF builds from ../shared/firmware (espressif/esptool test images):
 * the ESP32-S2 "blink" app, the ESP32 and ESP32-C3 second-stage bootloaders and a single-app
 * partition table. For chips without a real build among them, the blink app is re-targeted
 * (image chip id, checksum and appended SHA-256 rewritten): such images are for simulated
 * boards only. The output is byte-for-byte reproducible (fixed dates, deterministic ed25519).
 *
 * Usage: npx tsx scripts/make-demo-bundle.ts [--out public/demo/demo.fwb]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createBundle, type ManifestDraft } from '../src/bundle/create.ts';
import { readSecretKey } from '../src/cli/keyfile.ts';
import { ESP_CHIPS } from '../src/protocols/esp/chips.ts';
import { retargetImage } from '../src/protocols/esp/image.ts';

const firmware = join(import.meta.dirname, '..', '..', 'shared', 'firmware');
const outArg = process.argv.indexOf('--out');
const out = outArg >= 0 ? process.argv[outArg + 1]! : join('public', 'demo', 'demo.fwb');

const read = async (name: string): Promise<Uint8Array> =>
  new Uint8Array(await readFile(join(firmware, name)));

const blinkS2 = await read('esp_idf_blink_esp32s2.bin');
const images: Record<string, Uint8Array> = {
  'partitions': await read('partitions_singleapp.bin'),
  'blink-esp32s2': blinkS2,
  'blink-esp32s3': retargetImage(blinkS2, ESP_CHIPS.esp32s3),
  'blink-esp32': retargetImage(blinkS2, ESP_CHIPS.esp32),
  'blink-esp32c3': retargetImage(blinkS2, ESP_CHIPS.esp32c3),
  'bootloader-esp32': await read('bootloader_esp32.bin'),
  'bootloader-esp32c3': await read('bootloader_esp32c3.bin'),
};

const manifest: ManifestDraft = {
  product: 'webflash-demo',
  version: '1.2.0',
  securityCounter: 2,
  created: '2026-11-01T00:00:00Z',
  expires: '2031-11-01T00:00:00Z',
  notes:
    'Demo release for simulated boards: the ESP-IDF "blink" example. Signed with the public ' +
    'demo key, so only demo builds accept it.',
  targets: [
    {
      chip: 'esp32s3',
      protocol: 'esp-serial',
      images: [
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32s3', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32s2',
      protocol: 'esp-serial',
      images: [
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32s2', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32',
      protocol: 'esp-serial',
      images: [
        { name: 'bootloader-esp32', address: 0x1000 },
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32c3',
      protocol: 'esp-serial',
      images: [
        { name: 'bootloader-esp32c3', address: 0x0 },
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32c3', address: 0x10000 },
      ],
    },
  ],
};

const key = await readSecretKey(join('demo', 'keys', 'demo-release.key'));
const bundle = createBundle({ manifest, images, signers: [key] });
await mkdir(dirname(out), { recursive: true });
await writeFile(out, bundle);
console.log(`wrote ${out} (${bundle.length} bytes)`);
