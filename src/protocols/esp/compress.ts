/**
 * Compression for FLASH_DEFL_* (esptool serial protocol "Writing Data": the data is a zlib
 * stream, as Python's `zlib.compress` makes; the ROM inflates it with miniz's tinfl and a zlib
 * header). The image is compressed in chunks with a flush after each one, so the position
 * in the compressed stream where each chunk's data is complete is known: that is how far the
 * board is known to have the image when a block is acknowledged.
 */
import { Zlib, unzlibSync, zlibSync, type ZlibOptions } from 'fflate';
import { equalBytes } from '../../core/bytes.ts';

export interface CompressedImage {
  /** The zlib stream. */
  data: Uint8Array;
  /** Uncompressed bytes per chunk. */
  chunkSize: number;
  /**
   * `boundaries[i]` is the compressed length after chunk i was flushed: once that many compressed
   * bytes are consumed, `(i + 1) × chunkSize` image bytes (at most the total) are decodable.
   */
  boundaries: number[];
}

export interface CompressOptions {
  chunkSize: number;
  /** zlib level 0–9; esptool uses 9, webflash defaults to 6 (about as small, much faster). */
  level: number;
}

/** Compresses an image; injectable so the app can run it in a Web Worker. */
export type CompressFn = (data: Uint8Array, options: CompressOptions) => Promise<CompressedImage>;

/**
 * Compresses on the calling thread with fflate's streaming Zlib (a flush per chunk).
 * @throws {RangeError} for a chunk size below 1 or a level outside 0–9.
 */
export function compressImage(data: Uint8Array, options: CompressOptions): CompressedImage {
  const { chunkSize, level } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`compressImage: chunkSize must be a positive integer, got ${chunkSize}`);
  }
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`compressImage: level must be 0-9, got ${level}`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const zopts: ZlibOptions = { level: level as NonNullable<ZlibOptions['level']> };
  const z = new Zlib(zopts, (chunk) => {
    parts.push(chunk.slice());
    total += chunk.length;
  });
  const boundaries: number[] = [];
  if (data.length === 0) {
    z.push(new Uint8Array(0), true);
    boundaries.push(total);
  }
  for (let off = 0; off < data.length; off += chunkSize) {
    const end = Math.min(data.length, off + chunkSize);
    const last = end === data.length;
    z.push(data.subarray(off, end), last);
    // A plain flush ends the deflate block. (fflate 0.8.3's sync flush, `flush(true)`, yields a
    // stream zlib rejects with "invalid stored block lengths", measured; so it is not used.)
    if (!last) z.flush(false);
    boundaries.push(total);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  if (!inflatesTo(out, data)) {
    // fflate 0.8.3's streaming Zlib gave an invalid stream ("invalid distance") for one 4 KiB
    // piece of the blink app at level 6 and 9 (measured; its one-shot zlibSync did not): then
    // the image goes as one plain zlib stream, decodable only as a whole.
    const whole = zlibSync(data, zopts);
    return { data: whole, chunkSize, boundaries: boundaries.map(() => whole.length) };
  }
  return { data: out, chunkSize, boundaries };
}

/** True when `stream` inflates to exactly `data`. */
function inflatesTo(stream: Uint8Array, data: Uint8Array): boolean {
  try {
    return equalBytes(unzlibSync(stream), data);
  } catch {
    return false;
  }
}

/** `compressImage` as a CompressFn: the default, inline compressor. */
export const compressInline: CompressFn = (data, options) =>
  Promise.resolve(compressImage(data, options));

/**
 * Image bytes known decodable once `consumed` compressed bytes were accepted by the board.
 */
export function decodableBytes(image: CompressedImage, consumed: number, total: number): number {
  let chunks = 0;
  while (chunks < image.boundaries.length && image.boundaries[chunks]! <= consumed) chunks++;
  return Math.min(total, chunks * image.chunkSize);
}
