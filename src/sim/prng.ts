/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible fault injection: the
 * same seed gives the same dropped and corrupted bytes on every run, and every fault message
 * prints the seed so a failing run can be replayed.
 */

/** Deterministic PRNG with 32-bit state. */
export class Prng {
  /** The seed this generator started from. */
  readonly seed: number;
  private state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  /** Next float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Next integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }
}

/** A seed from the current time, for runs that did not ask for one (print it!). */
export function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}
