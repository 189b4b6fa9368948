import { readFileSync } from 'node:fs';
import { constants, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compressImage, compressInline, decodableBytes } from './compress.ts';

const blink = new Uint8Array(
  readFileSync(new URL('../../../../shared/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);

describe('compressImage', () => {
  it('makes a zlib stream that zlib inflates back to the image', async () => {
    const c = await compressInline(blink, { chunkSize: 4096, level: 6 });
    expect(Buffer.compare(inflateSync(c.data), Buffer.from(blink))).toBe(0);
    // shared/README.md: deflate level 6 shrinks this app to 0.56 of its size.
    expect(c.data.length / blink.length).toBeLessThan(0.6);
    expect(c.boundaries).toHaveLength(Math.ceil(blink.length / 4096));
  });

  it('every boundary is a point where all earlier chunks can be decoded', () => {
    const c = compressImage(blink, { chunkSize: 4096, level: 6 });
    c.boundaries.forEach((b, i) => {
      const out = inflateSync(c.data.subarray(0, b), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(out.length).toBeGreaterThanOrEqual(Math.min(blink.length, (i + 1) * 4096));
      expect(decodableBytes(c, b, blink.length)).toBe(Math.min(blink.length, (i + 1) * 4096));
      expect(decodableBytes(c, b - 1, blink.length)).toBe(i * 4096);
    });
  });

  it('round-trips any data and chunk size (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 0, max: 9 }),
        (data, chunkSize, level) => {
          const c = compressImage(data, { chunkSize, level });
          expect(Buffer.compare(inflateSync(c.data), Buffer.from(data))).toBe(0);
          expect(c.boundaries[c.boundaries.length - 1]).toBe(c.data.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each([
    ['chunk size 0', 0, 6],
    ['fractional chunk size', 1.5, 6],
    ['level 10', 10, 10],
    ['negative level', 10, -1],
  ])('rejects %s', (_n, chunkSize, level) => {
    expect(() => compressImage(blink, { chunkSize, level })).toThrow(RangeError);
  });
});
