/**
 * Work done once per image for many boards (the bench): a bench flashing one release to many
 * boards compresses each image and computes its digests for the first board and hands the
 * results to the others. A module of its own, so the customer updater's ESP chunk, which
 * flashes one board, does not carry it.
 *
 * Each job holds its own copy of the image bytes (a VerifiedBundle hands out copies), so an
 * image is recognised by its content: the memo keeps one copy of each image and compares a
 * job's bytes with it in full. Comparing costs far less than the MD5 or SHA-256 it replaces,
 * and unlike a digest as key it cannot confuse two images.
 */
import type { CompressFn } from './compress.ts';
import { plainDigests, type ImageDigests } from './digests.ts';

/**
 * Whether `a` and `b` hold the same bytes; four at a time where both start on a 4-byte boundary
 * (copies of an image do), several times faster than byte by byte.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (; i < words; i++) if (wa[i] !== wb[i]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Entry {
  readonly bytes: Uint8Array;
  readonly values: Map<string, unknown>;
}

/** Results computed from image bytes, kept per image for the last `keep` images used. */
export class ImageMemo {
  readonly #entries: Entry[] = [];

  constructor(private readonly keep = 4) {}

  /**
   * The value `compute` gave for `key` on bytes equal to `data`; computed now if there is none.
   * @example memo.get(image, 'md5', () => md5(image))
   */
  get<T>(data: Uint8Array, key: string, compute: () => T): T {
    const entry = this.#entry(data);
    if (entry.values.has(key)) return entry.values.get(key) as T;
    const value = compute();
    entry.values.set(key, value);
    return value;
  }

  /** Drops the value for `key` on bytes equal to `data` (a computation that failed). */
  forget(data: Uint8Array, key: string): void {
    this.#find(data)?.values.delete(key);
  }

  #find(data: Uint8Array): Entry | undefined {
    return this.#entries.find((e) => sameBytes(e.bytes, data));
  }

  /** The entry for these bytes, most recently used last; the least recently used goes. */
  #entry(data: Uint8Array): Entry {
    const found = this.#find(data);
    const entry = found ?? { bytes: data.slice(), values: new Map<string, unknown>() };
    if (found) this.#entries.splice(this.#entries.indexOf(found), 1);
    this.#entries.push(entry);
    if (this.#entries.length > this.keep) this.#entries.shift();
    return entry;
  }
}

/**
 * A `CompressFn` that compresses each image once per set of options; a failed compression is
 * not kept.
 * @example connectEsp(port, { compress: compressOnce(client.compress) })
 */
export function compressOnce(compress: CompressFn, memo = new ImageMemo()): CompressFn {
  return (data, options) => {
    const key = `deflate:${options.chunkSize}:${options.level}`;
    return memo.get(data, key, () => {
      const result = compress(data, options);
      result.catch(() => memo.forget(data, key));
      return result;
    });
  };
}

/**
 * `digests` (default: computed here) once per image. Each caller gets its own copies.
 * @example connectEsp(port, { digests: digestsOnce(memo) })
 */
export function digestsOnce(
  memo = new ImageMemo(),
  digests: ImageDigests = plainDigests,
): ImageDigests {
  return {
    md5: (data) => memo.get(data, 'md5', () => digests.md5(data)).slice(),
    sectors(data) {
      // One lookup per region; each run of sectors is then hashed once for all boards.
      const shared = memo.get(data, 'sectors', () => {
        // Its own copy: the caller may change its bytes after this job.
        const of = digests.sectors(data.slice());
        const known = new Map<string, Uint8Array>();
        return {
          md5(from: number, to: number): Uint8Array {
            const key = `${from}:${to}`;
            let d = known.get(key);
            if (!d) known.set(key, (d = of.md5(from, to)));
            return d;
          },
        };
      });
      return { md5: (from, to) => shared.md5(from, to).slice() };
    },
  };
}
