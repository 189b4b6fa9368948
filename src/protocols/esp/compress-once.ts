/**
 * Compressing each image once for many boards (the bench). A module of its own, so the customer
 * updater's ESP chunk, which flashes one board, does not carry it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../core/bytes.ts';
import type { CompressedImage, CompressFn } from './compress.ts';

/**
 * A `CompressFn` that compresses each image once: a bench flashing one release to many boards
 * compresses it for the first board and hands the same stream to the others. Images are
 * recognised by their SHA-256 (each job holds its own copy of the bytes), together with the
 * options; the last `keep` results are kept, and a failed compression is not.
 * @example connectEsp(port, { compress: compressOnce(client.compress) })
 */
export function compressOnce(compress: CompressFn, keep = 4): CompressFn {
  const cache = new Map<string, Promise<CompressedImage>>();
  return (data, options) => {
    const key = `${toHex(sha256(data))}:${options.chunkSize}:${options.level}`;
    let result = cache.get(key);
    if (result) {
      cache.delete(key); // most recently used last
    } else {
      result = compress(data, options);
      result.catch(() => cache.delete(key));
    }
    cache.set(key, result);
    while (cache.size > keep) cache.delete(cache.keys().next().value!);
    return result;
  };
}
