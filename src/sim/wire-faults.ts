/**
 * Random byte faults on one direction of the simulated serial wire (serial-wire.ts), drawn from
 * the wire's seeded PRNG: each byte may be lost, arrive with bits flipped, arrive twice, or be
 * held back (with everything after it) — what a bad cable, a noisy ground or an overloaded
 * USB-UART bridge does. Pure.
 */
import type { FaultOptions } from './link-model.ts';
import type { Prng } from './prng.ts';

/** Counters the wire keeps (a subset of WireStats). */
export interface FaultCounters {
  dropped: number;
  corrupted: number;
  duplicated: number;
  delayed: number;
}

/** What is left of a chunk after the faults, and how long it is held back. */
export interface FaultedChunk {
  bytes: Uint8Array;
  extraDelay: number;
}

/**
 * Applies `faults` to `data` travelling in `direction`. The draws happen in a fixed order per
 * byte (drop, corrupt, duplicate, delay), so a seed always gives the same faults.
 * @example const out = injectFaults(prng, { dropRate: 1e-4 }, bytes, 'to-host', stats);
 */
export function injectFaults(
  prng: Prng,
  faults: FaultOptions,
  data: Uint8Array,
  direction: 'to-device' | 'to-host',
  counters: FaultCounters,
): FaultedChunk {
  const applies = (faults.direction ?? 'both') === 'both' || faults.direction === direction;
  if (!applies) return { bytes: data.slice(), extraDelay: 0 };
  const out: number[] = [];
  let held = false;
  for (const b of data) {
    if (prng.chance(faults.dropRate ?? 0)) {
      counters.dropped++;
      continue;
    }
    if (prng.chance(faults.corruptRate ?? 0)) {
      counters.corrupted++;
      out.push(b ^ (1 + prng.int(255)));
      continue;
    }
    out.push(b);
    if (prng.chance(faults.duplicateRate ?? 0)) {
      counters.duplicated++;
      out.push(b);
    }
    if (!held && prng.chance(faults.delayByteRate ?? 0)) {
      counters.delayed++;
      held = true;
    }
  }
  let extraDelay = held ? (faults.delayMs ?? 100) : 0;
  if (prng.chance(faults.delayRate ?? 0)) {
    counters.delayed++;
    extraDelay = faults.delayMs ?? 100;
  }
  return { bytes: Uint8Array.from(out), extraDelay };
}

/**
 * A marginal line's damage (link-model.ts `marginal`): each character flips one data bit with
 * probability `perCharacter`. Returns the chunk (a copy only when something changed) and how
 * many characters were damaged.
 */
export function marginalDamage(
  prng: Prng,
  perCharacter: number,
  chunk: Uint8Array,
): { data: Uint8Array; damaged: number } {
  let out: Uint8Array | undefined;
  let damaged = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (!prng.chance(perCharacter)) continue;
    out ??= chunk.slice();
    out[i] = chunk[i]! ^ (1 << prng.int(8));
    damaged++;
  }
  return { data: out ?? chunk, damaged };
}
