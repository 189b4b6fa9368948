/**
 * Delta updates on the AVR drivers under the engine, against the simulated Arduino boards in
 * virtual time: page read-compare, only changed pages written. What was erased is read from the
 * simulated flash's counters (one sector per page).
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { runFlashJob, type JobResult, type JobSettings } from '../../src/job/index.ts';
import type { JobListeners } from '../../src/job/runner.ts';
import { createAvrStk500v1Driver } from '../../src/protocols/avr/driver-stk500v1.ts';
import { createAvrStk500v2Driver } from '../../src/protocols/avr/driver-stk500v2.ts';
import { loadDrivers } from '../../src/protocols/registry.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { createBoard } from '../../src/sim/boards.ts';

await loadDrivers();

function rig(name: 'uno' | 'mega2560') {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard(name, { clock, seed: 1 }) as AvrSimBoardHandle;
  return { clock, board, wire: board.wire! };
}
type Rig = ReturnType<typeof rig>;

function flash(
  r: Rig,
  data: Uint8Array,
  settings: JobSettings = {},
  on: JobListeners = {},
): Promise<JobResult> {
  const baudRate = r.board.baudRate;
  return runFlashJob({
    on,
    port: r.wire.port!,
    connector:
      r.board.protocol === 'avr-stk500v1'
        ? createAvrStk500v1Driver({ baudRate })
        : createAvrStk500v2Driver({ baudRate }),
    source: { kind: 'unverified', name: 'sketch', address: 0, data },
    clock: r.clock,
    allowUnverified: true,
    settings,
  });
}

function erasedPages(r: Rig, before: readonly number[]): number[] {
  const out: number[] = [];
  r.board.flash.counters.sectorErases.forEach((n, i) => {
    if (n > (before[i] ?? 0)) out.push(i);
  });
  return out;
}

function sketch(n: number): Uint8Array {
  let x = 5;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

describe('AVR delta updates', () => {
  it.each(['uno', 'mega2560'] as const)('%s: an identical sketch writes no page', async (name) => {
    const r = rig(name);
    const data = sketch(6000);
    r.board.flash.load(0, data);
    const before = [...r.board.flash.counters.sectorErases];
    const programs = r.board.flash.counters.programOps;
    const result = await flash(r, data);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erasedPages(r, before)).toEqual([]);
    expect(r.board.flash.counters.programOps).toBe(programs);
    const pages = Math.ceil(6000 / r.board.flash.sectors[0]!.size);
    expect(result.ok && result.delta).toEqual({ unchanged: pages, total: pages });
  });

  it('uno: a change in two pages writes those two only; the rest of a partial page is kept', async () => {
    const r = rig('uno');
    const data = sketch(6000); // 46 pages of 128 bytes and 112 bytes of page 46
    r.board.flash.load(0, data);
    r.board.flash.load(6000, Uint8Array.of(0x42)); // past the image, in its last page
    const update = data.slice();
    update[130] = update[130]! ^ 1; // page 1
    update[5990] = update[5990]! ^ 1; // page 46, the partial one
    const before = [...r.board.flash.counters.sectorErases];
    const result = await flash(r, update);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erasedPages(r, before)).toEqual([1, 46]);
    expect(equalBytes(r.board.flash.read(0, update.length), update)).toBe(true);
    expect(r.board.flash.read(6000, 1)[0]).toBe(0x42); // the page write merges, as before
    expect(result.ok && result.delta).toEqual({ unchanged: 45, total: 47 });
  });

  it('uno: the page read-compare reports each page read, before any page is written', async () => {
    const r = rig('uno');
    const data = sketch(6000);
    r.board.flash.load(0, data);
    const update = data.slice();
    update[130] = update[130]! ^ 1; // page 1
    const counters = r.board.flash.counters;
    const programs = counters.programOps;
    const compared: number[] = [];
    const programsSeen = new Set<number>();
    const result = await flash(
      r,
      update,
      {},
      {
        progress: (p) => {
          if (p.phase !== 'comparing') return;
          programsSeen.add(counters.programOps);
          compared.push(p.regionBytesDone);
        },
      },
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect([...programsSeen]).toEqual([programs]); // nothing written while comparing
    expect(counters.programOps).toBeGreaterThan(programs);
    const page = r.board.flash.sectors[0]!.size;
    // One report per page read (46 whole pages and 112 bytes of the last), then the engine's
    // own at the end of the comparison.
    const pages = Array.from({ length: 46 }, (_, i) => (i + 1) * page);
    expect(compared).toEqual([...pages, 6000, 6000]);
  });

  it('uno: delta off writes every page', async () => {
    const r = rig('uno');
    const data = sketch(1024);
    r.board.flash.load(0, data);
    const before = [...r.board.flash.counters.sectorErases];
    const result = await flash(r, data, { delta: false });
    expect(result.ok && result.delta).toBeUndefined();
    expect(erasedPages(r, before)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
