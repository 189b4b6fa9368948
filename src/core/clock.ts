/**
 * Time as a dependency. Everything that waits (reads with deadlines, retries, the simulator's
 * link and flash timings) asks a Clock, so unit tests run in virtual time and e2e tests and
 * benchmarks in real time with the same code.
 */
import { AbortError } from './errors.ts';

export type TimerHandle = { readonly __timer: true };

export interface Clock {
  /** Milliseconds since an arbitrary origin; fractional values allowed. */
  now(): number;
  /** Calls `cb` once after `ms` milliseconds. */
  setTimer(ms: number, cb: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /**
   * Optional: waits for work that takes host time, not clock time (loading a module, a file),
   * without letting a virtual clock run ahead meanwhile. Real clocks need not have it; use
   * `untimed()`.
   */
  hold?<T>(work: Promise<T>): Promise<T>;
}

/**
 * Awaits `work` through `clock.hold` when the clock has it (VirtualClock), else directly.
 * @example const image = await untimed(clock, import('./data.json'))
 */
export function untimed<T>(clock: Clock, work: Promise<T>): Promise<T> {
  return clock.hold ? clock.hold(work) : work;
}

/**
 * Resolves after `ms` on `clock`; rejects with AbortError if `signal` fires first.
 * @example await sleep(realClock, 50)
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(new AbortError());
    };
    const handle = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The host's clock: `performance.now()` where there is one, else `Date.now()`. */
export const realClock: Clock = {
  now: () => {
    const perf = (globalThis as { performance?: { now(): number } }).performance;
    return perf ? perf.now() : Date.now();
  },
  setTimer: (ms, cb) => setTimeout(cb, Math.max(0, ms)) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as Parameters<typeof clearTimeout>[0]),
};

interface VirtualTimer {
  at: number;
  seq: number;
  cb: () => void;
}

export interface VirtualClockOptions {
  /**
   * When true (the default) the clock jumps to the next timer as soon as the host has nothing
   * else to do, so code that waits runs as fast as the CPU allows while every duration it
   * measures is exact. When false, time moves only through `advance()`.
   */
  auto?: boolean;
  /** How to wait for the host to go idle (one macrotask). Node tests pass `setImmediate`. */
  yieldToHost?: (cb: () => void) => void;
}

/** A deterministic clock for tests: time moves only when every pending job has settled. */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: VirtualTimer[] = [];
  private pumping = false;
  private holds = 0;
  private readonly auto: boolean;
  private readonly yieldToHost: (cb: () => void) => void;

  constructor(options: VirtualClockOptions = {}) {
    this.auto = options.auto ?? true;
    this.yieldToHost = options.yieldToHost ?? ((cb) => void setTimeout(cb, 0));
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, cb: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, cb };
    this.timers.push(timer);
    this.schedulePump();
    return timer as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    const i = this.timers.indexOf(handle as unknown as VirtualTimer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Keeps time still until `work` settles (see Clock.hold). */
  async hold<T>(work: Promise<T>): Promise<T> {
    this.holds++;
    try {
      return await work;
    } finally {
      this.holds--;
      if (this.timers.length > 0) this.schedulePump();
    }
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > end) break;
      this.fire(next);
    }
    this.t = end;
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.timers) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) {
        best = timer;
      }
    }
    return best;
  }

  private fire(timer: VirtualTimer): void {
    this.timers.splice(this.timers.indexOf(timer), 1);
    this.t = Math.max(this.t, timer.at);
    timer.cb();
  }

  private schedulePump(): void {
    if (!this.auto || this.pumping) return;
    this.pumping = true;
    this.yieldToHost(() => {
      this.pumping = false;
      if (this.holds > 0) return; // hold() pumps again when the work is done
      const next = this.earliest();
      if (!next) return;
      this.fire(next);
      if (this.timers.length > 0) this.schedulePump();
    });
  }
}
