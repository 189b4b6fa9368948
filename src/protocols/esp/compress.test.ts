import { readFileSync } from 'node:fs';
import { constants, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compressOnce, ImageMemo } from './once-per-image.ts';
import { compressImage, compressInline, decodableBytes, type CompressFn } from './compress.ts';

const blink = new Uint8Array(
  readFileSync(
    new URL('../../../test/fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url),
  ),
);

describe('compressImage', () => {
  it('makes a zlib stream that zlib inflates back to the image', async () => {
    const c = await compressInline(blink, { chunkSize: 4096, level: 6 });
    expect(Buffer.compare(inflateSync(c.data), Buffer.from(blink))).toBe(0);
    // test/fixtures/README.md: deflate level 6 shrinks this app to 0.56 of its size.
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

  it('sends data that does not compress in stored blocks, one per chunk, each a boundary', () => {
    let x = 7;
    const random = Uint8Array.from({ length: 10 * 4096 + 300 }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    });
    const c = compressImage(random, { chunkSize: 4096, level: 6 });
    // zlib header, 11 blocks of 5 bytes of framing, Adler-32 (checked by inflateSync).
    expect(c.data.length).toBe(2 + random.length + 11 * 5 + 4);
    expect(Buffer.compare(inflateSync(c.data), Buffer.from(random))).toBe(0);
    expect(c.boundaries).toHaveLength(11);
    c.boundaries.forEach((b, i) => {
      const out = inflateSync(c.data.subarray(0, b), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(out.length).toBe(Math.min(random.length, (i + 1) * 4096));
    });
    expect(c.boundaries.at(-1)).toBe(c.data.length);
    // An image that compresses is deflated as before.
    expect(compressImage(blink, { chunkSize: 4096, level: 6 }).data.length).toBeLessThan(
      blink.length * 0.6,
    );
  });

  it('round-trips any data and chunk size (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 70_000 }),
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

describe('compressOnce', () => {
  const counting = (): { fn: CompressFn; calls: () => number } => {
    let n = 0;
    return {
      fn: (data, options) => {
        n++;
        return compressInline(data, options);
      },
      calls: () => n,
    };
  };
  const image = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff);
  const opts = { chunkSize: 4096, level: 6 };

  it('compresses equal bytes once, whichever copy of them a job holds', async () => {
    const inner = counting();
    const once = compressOnce(inner.fn);
    const a = await once(image.slice(), opts);
    const b = await once(image.slice(), opts);
    expect(inner.calls()).toBe(1);
    expect(b).toBe(a);
    expect(a).toEqual(compressImage(image, opts));
  });

  it('other bytes or other options are compressed again', async () => {
    const inner = counting();
    const once = compressOnce(inner.fn);
    await once(image, opts);
    const changed = image.slice();
    changed[100]! ^= 1;
    await once(changed, opts);
    await once(image, { ...opts, level: 9 });
    await once(image.subarray(4096), opts);
    expect(inner.calls()).toBe(4);
  });

  it('keeps only the most recent results', async () => {
    const inner = counting();
    const once = compressOnce(inner.fn, new ImageMemo(2));
    const imgs = [1, 2, 3].map((k) => image.map((b) => b ^ k));
    for (const im of imgs) await once(im, opts);
    await once(imgs[2]!, opts); // kept
    await once(imgs[0]!, opts); // dropped when the third arrived
    expect(inner.calls()).toBe(4);
  });

  it('does not keep a failure', async () => {
    let fail = true;
    const once = compressOnce((data, options) =>
      fail ? Promise.reject(new RangeError('bad')) : compressInline(data, options),
    );
    await expect(once(image, opts)).rejects.toThrow('bad');
    fail = false;
    await expect(once(image, opts)).resolves.toEqual(compressImage(image, opts));
  });
});
