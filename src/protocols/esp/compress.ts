/**
 * Compression for FLASH_DEFL_* (esptool serial protocol "Writing Data": the data is a zlib
 * stream, as Python's `zlib.compress` makes; the ROM inflates it with miniz's tinfl and a zlib
 * header). The image is compressed in chunks with a flush after each one, so the position
 * in the compressed stream where each chunk's data is complete is known: that is how far the
 * board is known to have the image when a block is acknowledged. An image that does not
 * compress (already compressed or encrypted data) goes in stored blocks, one per chunk: 5 bytes
 * of framing per chunk, where deflating it would make it larger.
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
  if (out.length > storedLength(data.length, chunkSize)) return storedImage(data, chunkSize);
  if (!inflatesTo(out, data)) {
    // fflate 0.8.3's streaming Zlib gave an invalid stream ("invalid distance") for one 4 KiB
    // piece of the blink app at level 6 and 9 (measured; its one-shot zlibSync did not): then
    // the image goes as one plain zlib stream, decodable only as a whole.
    const whole = zlibSync(data, zopts);
    return { data: whole, chunkSize, boundaries: boundaries.map(() => whole.length) };
  }
  return { data: out, chunkSize, boundaries };
}

/** Bytes of a zlib stream of `length` bytes in stored blocks of `chunkSize`: header, blocks, Adler-32. */
function storedLength(length: number, chunkSize: number): number {
  return 2 + length + 5 * Math.max(1, Math.ceil(length / chunkSize)) + 4;
}

/**
 * `data` as a zlib stream of stored blocks (RFC 1951 §3.2.4: BTYPE 00, LEN, NLEN, the bytes),
 * one per chunk, so that every chunk ends on a block boundary. Written here because fflate's
 * level 0 applies its own block size, and the format is a few lines.
 */
function storedImage(data: Uint8Array, chunkSize: number): CompressedImage {
  const block = Math.min(chunkSize, 0xffff);
  const out = new Uint8Array(storedLength(data.length, block));
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // fastest, no dictionary: (0x78 << 8 | 0x01) % 31 === 0
  let o = 2;
  const boundaries: number[] = [];
  let off = 0;
  do {
    const end = Math.min(data.length, off + block);
    const n = end - off;
    out[o] = end === data.length ? 1 : 0; // BFINAL on the last block, BTYPE 00
    out[o + 1] = n & 0xff;
    out[o + 2] = n >>> 8;
    out[o + 3] = ~n & 0xff;
    out[o + 4] = (~n >>> 8) & 0xff;
    out.set(data.subarray(off, end), o + 5);
    o += 5 + n;
    boundaries.push(o);
    off = end;
  } while (off < data.length);
  const sum = adler32(data);
  out[o] = sum >>> 24;
  out[o + 1] = (sum >>> 16) & 0xff;
  out[o + 2] = (sum >>> 8) & 0xff;
  out[o + 3] = sum & 0xff;
  boundaries[boundaries.length - 1] = o + 4;
  return { data: out, chunkSize: block, boundaries };
}

/** Adler-32 (RFC 1950 §8.2). */
function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552: the most bytes before b can overflow 32 bits (zlib's NMAX).
  for (let i = 0; i < data.length;) {
    const stop = Math.min(data.length, i + 5552);
    for (; i < stop; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
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
