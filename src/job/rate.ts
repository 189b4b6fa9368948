/**
 * Transfer rate and time left, measured on the injected clock. The rate is an exponential moving
 * average weighted by elapsed time: each new interval of `dt` ms moves the average towards the
 * interval's own rate by `1 - exp(-dt / timeConstantMs)`, so the smoothing does not depend on
 * how often a driver reports progress. A steady transfer therefore reads exactly its true rate.
 */
import type { Clock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';

export interface RateMeterOptions {
  clock: Clock;
  /** How quickly the average follows a change of speed; 3000 ms unless set. */
  timeConstantMs?: number;
}

/** A snapshot of the meter. */
export interface RateReading {
  /** Smoothed bytes per second; `undefined` until time has passed since the first sample. */
  bytesPerSecond: number | undefined;
  /** Milliseconds left at the smoothed rate; `undefined` while the rate is unknown or zero. */
  etaMs: number | undefined;
}

/**
 * @example
 * const meter = new RateMeter({ clock });
 * meter.start(0);
 * // … 100 ms later:
 * meter.sample(1024, 4096); // { bytesPerSecond: 10240, etaMs: 300 }
 */
export class RateMeter {
  private readonly clock: Clock;
  private readonly tau: number;
  private lastTime = 0;
  private lastBytes = 0;
  private rate: number | undefined;

  /** @throws {UsageError} if `timeConstantMs` is not a positive number. */
  constructor(options: RateMeterOptions) {
    const tau = options.timeConstantMs ?? 3000;
    if (!(tau > 0) || !Number.isFinite(tau)) {
      throw new UsageError(`RateMeter: timeConstantMs must be a positive number, got ${tau}`);
    }
    this.clock = options.clock;
    this.tau = tau;
  }

  /** Forgets the history; `bytesDone` is where counting starts (e.g. a resume point). */
  start(bytesDone = 0): void {
    this.lastTime = this.clock.now();
    this.lastBytes = bytesDone;
    this.rate = undefined;
  }

  /**
   * Continues after a pause (time spent in another phase) without counting the pause: keeps the
   * average, restarts the interval at `bytesDone` now.
   */
  resume(bytesDone: number): void {
    this.lastTime = this.clock.now();
    this.lastBytes = bytesDone;
  }

  /**
   * Records that `bytesDone` bytes of `bytesTotal` are done now. Samples at the same instant as
   * the previous one are merged into the next interval; a count that went backwards (a resumed
   * transfer) restarts the interval from the lower count without touching the average.
   */
  sample(bytesDone: number, bytesTotal: number): RateReading {
    const now = this.clock.now();
    const dt = now - this.lastTime;
    if (bytesDone < this.lastBytes) {
      this.lastBytes = bytesDone;
      this.lastTime = now;
    } else if (dt > 0) {
      const instant = ((bytesDone - this.lastBytes) * 1000) / dt;
      if (this.rate === undefined) this.rate = instant;
      else this.rate += (1 - Math.exp(-dt / this.tau)) * (instant - this.rate);
      this.lastBytes = bytesDone;
      this.lastTime = now;
    }
    return this.reading(bytesDone, bytesTotal);
  }

  /** The current reading without recording a sample. */
  reading(bytesDone: number, bytesTotal: number): RateReading {
    const rate = this.rate;
    const left = Math.max(0, bytesTotal - bytesDone);
    return {
      bytesPerSecond: rate,
      etaMs: rate !== undefined && rate > 0 ? (left / rate) * 1000 : left === 0 ? 0 : undefined,
    };
  }
}
