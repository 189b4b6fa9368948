/**
 * A confused board: a seeded fuzzer that rewrites some of a simulated device's replies before
 * the host gets them — random bytes, a reply cut short, a valid reply with a few bytes changed,
 * an earlier reply again (a reply to another command, with an old sequence number), the same
 * reply twice, or no reply at all. It serves the serial wire (`SerialWire.setReplyTamper`) and
 * the USB devices' control IN data (usb-faults.ts). Pure.
 */
import { Prng } from './prng.ts';

/** How a reply is rewritten. */
export type FuzzKind = 'random' | 'truncate' | 'mutate' | 'stale' | 'twice' | 'silence';

const FUZZ_KINDS: readonly FuzzKind[] = [
  'random',
  'truncate',
  'mutate',
  'stale',
  'twice',
  'silence',
];

export interface ReplyFuzzerOptions {
  seed: number;
  /** Probability that a reply is rewritten. */
  rate: number;
  /** The kinds to draw from, equally likely. Default all. */
  kinds?: readonly FuzzKind[];
  /** Rewrite nothing after this many rewrites (a run's budget). Default unlimited. */
  limit?: number;
  /** Replies to leave alone at the start (so a run gets past its first sync). Default 0. */
  skipFirst?: number;
}

/** Rewrites replies as a confused board would; counts what it did. */
export class ReplyFuzzer {
  readonly seed: number;
  /** Rewritten replies, by kind. */
  readonly counts: Record<FuzzKind, number> = {
    random: 0,
    truncate: 0,
    mutate: 0,
    stale: 0,
    twice: 0,
    silence: 0,
  };
  /** Replies seen in all. */
  seen = 0;
  private readonly prng: Prng;
  private readonly kinds: readonly FuzzKind[];
  private readonly history: Uint8Array[] = [];

  constructor(private readonly options: ReplyFuzzerOptions) {
    this.seed = options.seed >>> 0;
    this.prng = new Prng(this.seed);
    this.kinds = options.kinds ?? FUZZ_KINDS;
  }

  /** Rewritten replies in all. */
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /**
   * The bytes the host gets instead of `reply` (often `reply` itself).
   * @example wire.setReplyTamper((r) => fuzzer.rewrite(r));
   */
  rewrite(reply: Uint8Array): Uint8Array {
    this.seen++;
    const out = this.choose(reply);
    this.history.push(reply.slice());
    if (this.history.length > 16) this.history.shift();
    return out;
  }

  private choose(reply: Uint8Array): Uint8Array {
    if (this.seen <= (this.options.skipFirst ?? 0)) return reply;
    if (this.total >= (this.options.limit ?? Number.POSITIVE_INFINITY)) return reply;
    if (!this.prng.chance(this.options.rate)) return reply;
    const kind = this.pick(this.kinds);
    this.counts[kind]++;
    return this.apply(kind, reply);
  }

  private apply(kind: FuzzKind, reply: Uint8Array): Uint8Array {
    switch (kind) {
      case 'random':
        return this.randomBytes(1 + this.prng.int(Math.max(2, reply.length * 2)));
      case 'truncate':
        return reply.slice(0, this.prng.int(Math.max(1, reply.length)));
      case 'mutate': {
        const out = reply.slice();
        const flips = 1 + this.prng.int(4);
        for (let i = 0; i < flips && out.length > 0; i++) {
          const at = this.prng.int(out.length);
          out[at] = out[at]! ^ (1 + this.prng.int(255));
        }
        return out;
      }
      case 'stale':
        return this.history.length > 0
          ? this.pick(this.history).slice()
          : this.randomBytes(1 + this.prng.int(16));
      case 'twice': {
        const out = new Uint8Array(reply.length * 2);
        out.set(reply);
        out.set(reply, reply.length);
        return out;
      }
      case 'silence':
        return new Uint8Array(0);
    }
  }

  private randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.prng.int(256);
    return out;
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.prng.int(items.length)]!;
  }
}
