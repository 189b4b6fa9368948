/**
 * Pull-based reader over a bundle arriving in chunks (a file, a fetch body, worker messages).
 * It counts every byte received and refuses to go past `maxBytes` as soon as a chunk would cross
 * it (TUF "endless data" attack), bounds each wait for the next chunk with a stall timeout on the
 * injected clock (TUF "slow retrieval" attack), honours an AbortSignal, and hands out copies: the
 * caller owns every byte it receives, so later changes to the source buffers cannot reach it.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { AbortError, TimeoutError, UsageError } from '../core/errors.ts';
import { reject } from './errors.ts';

/** Where bundle bytes come from: the whole file, or its chunks in order. */
export type BundleSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface ChunkReaderOptions {
  maxBytes: number;
  clock: Clock;
  /** Longest wait for the next chunk. */
  stallTimeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Most zero-length chunks tolerated in one bundle; a source that sends only those is endless. */
const MAX_EMPTY_CHUNKS = 10_000;

export class ChunkReader {
  private readonly it: Iterator<Uint8Array> | AsyncIterator<Uint8Array>;
  private readonly sync: boolean;
  private head: Uint8Array = new Uint8Array(0);
  private headOffset = 0;
  private received = 0;
  private consumed = 0;
  private emptyChunks = 0;
  private done = false;

  constructor(
    source: BundleSource,
    private readonly options: ChunkReaderOptions,
  ) {
    if (source instanceof Uint8Array) {
      this.it = [source][Symbol.iterator]();
      this.sync = true;
    } else if (Symbol.asyncIterator in source) {
      this.it = source[Symbol.asyncIterator]();
      this.sync = false;
    } else if (Symbol.iterator in source) {
      this.it = source[Symbol.iterator]();
      this.sync = true;
    } else {
      throw new UsageError(
        'verifyBundle: source must be a Uint8Array or an (async) iterable of them',
      );
    }
  }

  /** Bytes handed to the caller so far (the offset of the next byte in the bundle). */
  get position(): number {
    return this.consumed;
  }

  /** Reads exactly `n` bytes into a new array. @throws {BundleError} `container.truncated`. */
  async readExactly(n: number, what: string): Promise<Uint8Array> {
    this.checkBudget(n, what);
    const out = new Uint8Array(n);
    await this.readInto(out, what);
    return out;
  }

  /**
   * Fills `dest` from the stream, calling `onFilled(part)` with each newly filled view of `dest`
   * (so a hash sees exactly the bytes that were stored).
   */
  async readInto(
    dest: Uint8Array,
    what: string,
    onFilled?: (part: Uint8Array) => void,
  ): Promise<void> {
    this.checkBudget(dest.length, what);
    let filled = 0;
    while (filled < dest.length) {
      if (this.headOffset === this.head.length && !(await this.pull())) {
        throw reject('container.truncated', `ended inside ${what} at byte ${this.consumed}`);
      }
      const take = Math.min(dest.length - filled, this.head.length - this.headOffset);
      dest.set(this.head.subarray(this.headOffset, this.headOffset + take), filled);
      onFilled?.(dest.subarray(filled, filled + take));
      this.headOffset += take;
      this.consumed += take;
      filled += take;
    }
  }

  /** True when the source has ended and every byte was read. */
  async atEnd(): Promise<boolean> {
    while (this.headOffset === this.head.length) {
      if (!(await this.pull())) return true;
    }
    return false;
  }

  /** Lets the source release its resources (closes a fetch body) when reading stops early. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.it.return?.();
    } catch {
      // The source is being abandoned; its own cleanup errors do not matter here.
    }
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    this.throwIfAborted();
    const next = this.sync
      ? (this.it as Iterator<Uint8Array>).next()
      : await this.withDeadline((this.it as AsyncIterator<Uint8Array>).next());
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk: unknown = next.value;
    if (!(chunk instanceof Uint8Array))
      throw new UsageError('verifyBundle: the source yielded something other than bytes');
    this.received += chunk.length;
    if (this.received > this.options.maxBytes) {
      throw reject('size.exceeded', `more than ${this.options.maxBytes} bytes arrived`);
    }
    if (chunk.length === 0 && ++this.emptyChunks > MAX_EMPTY_CHUNKS) {
      throw reject('size.exceeded', 'the download sent only empty chunks');
    }
    this.head = chunk;
    this.headOffset = 0;
    return true;
  }

  /** Refuses a read that could only succeed past `maxBytes`, before allocating for it. */
  private checkBudget(n: number, what: string): void {
    if (n > this.options.maxBytes - this.consumed) {
      throw reject(
        'size.exceeded',
        `${what} (${n} bytes) would run past ${this.options.maxBytes} bytes`,
      );
    }
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) throw new AbortError('Bundle verification cancelled');
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    const { clock, stallTimeoutMs, signal } = this.options;
    return new Promise<T>((resolve, rejectP) => {
      let timer: TimerHandle | undefined = undefined;
      const cleanup = (): void => {
        if (timer !== undefined) clock.clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        rejectP(new AbortError('Bundle verification cancelled'));
      };
      timer = clock.setTimer(stallTimeoutMs, () => {
        cleanup();
        rejectP(
          new TimeoutError('Bundle download', stallTimeoutMs, {
            hints: ['Check the network connection and try again.'],
          }),
        );
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort(); // fired while the source was producing `p`
      p.then(
        (v) => {
          cleanup();
          resolve(v);
        },
        (err: unknown) => {
          cleanup();
          rejectP(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
