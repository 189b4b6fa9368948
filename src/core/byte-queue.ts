/**
 * A buffered byte source with deadline-bounded reads: the single place incoming bytes wait until
 * a protocol asks for them. Producers `push()` chunks (a transport's read loop, a simulator);
 * consumers `read()`/`readExactly()` without polling. One reader at a time.
 */
import type { Clock, TimerHandle } from './clock.ts';
import { AbortError, TimeoutError, type WebflashError } from './errors.ts';

export interface ReadOptions {
  /** Give up with TimeoutError after this many milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** What is being waited for, for the error message ("SYNC reply"). */
  what?: string;
}

interface Waiter {
  min: number;
  max: number;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
}

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0;
  private size = 0;
  private waiter: Waiter | undefined;
  private endError: WebflashError | undefined;

  constructor(private readonly clock: Clock) {}

  /** Bytes buffered and not yet read. */
  get available(): number {
    return this.size;
  }

  /** True once `end()` was called. */
  get ended(): boolean {
    return this.endError !== undefined;
  }

  /** Appends received bytes. The chunk is not copied: the producer must not reuse it. */
  push(chunk: Uint8Array): void {
    if (this.endError || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.serve();
  }

  /** No more bytes will come: pending and later reads fail with `error` once the buffer is drained. */
  end(error: WebflashError): void {
    if (this.endError) return;
    this.endError = error;
    this.serve();
  }

  /** Drops everything buffered; returns how many bytes were dropped. */
  discard(): number {
    const n = this.size;
    this.chunks = [];
    this.headOffset = 0;
    this.size = 0;
    return n;
  }

  /** Resolves with 1..max bytes as soon as at least one is buffered. */
  read(max: number, options: ReadOptions): Promise<Uint8Array> {
    return this.wait(1, max, options);
  }

  /** Resolves with exactly `n` bytes. */
  readExactly(n: number, options: ReadOptions): Promise<Uint8Array> {
    return this.wait(n, n, options);
  }

  /** Resolves with one byte. */
  async readByte(options: ReadOptions): Promise<number> {
    const b = await this.wait(1, 1, options);
    return b[0]!;
  }

  /**
   * Reads and drops input until none arrives for `quietMs` (a device still answering a command
   * the host gave up on, or printing after a reset).
   * @throws {AbortError} when `signal` fires; the queue's end error once it has ended.
   */
  async drainUntilQuiet(quietMs: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.read(4096, { timeoutMs: quietMs, signal, what: 'drain' });
      } catch (err) {
        if (err instanceof TimeoutError) return;
        throw err;
      }
    }
  }

  private wait(min: number, max: number, options: ReadOptions): Promise<Uint8Array> {
    if (this.waiter) return Promise.reject(new Error('ByteQueue: a read is already pending'));
    if (min === 0) return Promise.resolve(new Uint8Array(0));
    if (this.size >= min) return Promise.resolve(this.take(max));
    if (this.endError) return Promise.reject(this.endError);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError());

    return new Promise<Uint8Array>((resolve, reject) => {
      const cleanup = (): void => {
        this.clock.clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      const onAbort = (): void => {
        cleanup();
        reject(new AbortError());
      };
      this.waiter = {
        min,
        max,
        resolve: (b) => {
          cleanup();
          resolve(b);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const timer: TimerHandle = this.clock.setTimer(options.timeoutMs, () => {
        cleanup();
        reject(new TimeoutError(options.what ?? 'Reading from the device', options.timeoutMs));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private serve(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.size >= w.min) w.resolve(this.take(w.max));
    else if (this.endError) w.reject(this.endError);
  }

  private take(max: number): Uint8Array {
    const n = Math.min(max, this.size);
    const first = this.chunks[0]!;
    // Fast path: the request lies within the first chunk.
    if (first.length - this.headOffset >= n) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === first.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
      this.size -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(n - filled, chunk.length - this.headOffset);
      out.set(chunk.subarray(this.headOffset, this.headOffset + part), filled);
      filled += part;
      this.headOffset += part;
      if (this.headOffset === chunk.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    }
    this.size -= n;
    return out;
  }
}
