/**
 * Progress coalescing (src/bench/state/progress-batch.ts): the latest progress of every board
 * reaches the store together, at most once per interval of the clock, the end of a phase at
 * once; and a bench of simulated boards keeps every board's final progress while its progress
 * updates come in shared batches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { ProgressBatch } from '../../src/bench/state/progress-batch.ts';
import type { BenchState } from '../../src/bench/state/slice.ts';
import { createBench, type Bench } from './harness.ts';

describe('ProgressBatch', () => {
  const setup = () => {
    const clock = new VirtualClock({ auto: false });
    const stored: Record<string, number>[] = [];
    const batch = new ProgressBatch<number>(clock, 100, (b) => stored.push(Object.fromEntries(b)));
    return { clock, stored, batch };
  };

  it('stores each board’s latest progress, all boards in one update per interval', () => {
    const { clock, stored, batch } = setup();
    for (let i = 1; i <= 5; i++) {
      batch.add('a', i);
      batch.add('b', 10 * i);
    }
    expect(stored).toEqual([]);
    clock.advance(99);
    expect(stored).toEqual([]);
    clock.advance(1);
    expect(stored).toEqual([{ a: 5, b: 50 }]);
    clock.advance(1000);
    expect(stored).toHaveLength(1); // nothing queued, nothing stored
    batch.add('a', 6);
    clock.advance(100);
    expect(stored).toEqual([{ a: 5, b: 50 }, { a: 6 }]);
  });

  it('stores everything queued at once at the end of a phase', () => {
    const { stored, batch } = setup();
    batch.add('a', 1);
    batch.add('b', 2, true);
    expect(stored).toEqual([{ a: 1, b: 2 }]);
  });

  it('with a merge, keeps every field queued for a board (its phase and its progress)', () => {
    const clock = new VirtualClock({ auto: false });
    const stored: Record<string, { phase?: string; done?: number }>[] = [];
    const batch = new ProgressBatch<{ phase?: string; done?: number }>(
      clock,
      100,
      (b) => stored.push(Object.fromEntries(b)),
      (queued, next) => ({ ...queued, ...next }),
    );
    batch.add('a', { phase: 'comparing' });
    batch.add('a', { done: 10 });
    batch.add('a', { phase: 'writing' });
    batch.add('b', { done: 1 });
    clock.advance(100);
    expect(stored).toEqual([{ a: { phase: 'writing', done: 10 }, b: { done: 1 } }]);
  });

  it('hands out what is queued for one board to be stored with its next change', () => {
    const { clock, stored, batch } = setup();
    batch.add('a', 1);
    batch.add('b', 2);
    expect(batch.take('a')).toBe(1);
    expect(batch.take('a')).toBeUndefined();
    clock.advance(100);
    expect(stored).toEqual([{ b: 2 }]);
  });
});

describe('progress on a bench of simulated boards', () => {
  let b: Bench | undefined;
  afterEach(() => b?.dispose());

  it('keeps every board’s final progress; progress comes to the store in shared batches', async () => {
    b = await createBench();
    const s0 = b.store.getState();
    expect(await s0.loadBundle({ kind: 'bytes', name: 'b.fwb', bytes: new Uint8Array() })).toBe(
      true,
    );
    const boards = [11, 12, 13, 14].map((seed) => b!.board('esp32s3', seed));
    // Store changes that change nothing but progress (a timer's batch), with the tiles changed.
    const batches: number[] = [];
    let last: BenchState = b.store.getState();
    const off = b.store.subscribe((s) => {
      const before = new Map(last.tiles.map((t) => [t.id, t]));
      const changed = s.tiles.filter((t) => t !== before.get(t.id));
      const progressOnly = changed.every((t) => {
        const o = before.get(t.id);
        return (
          o !== undefined &&
          t.progress !== o.progress &&
          JSON.stringify({ ...o, progress: t.progress }) === JSON.stringify(t)
        );
      });
      if (changed.length > 0 && progressOnly) batches.push(changed.length);
      last = s;
    });
    expect(b.store.getState().startHandsOff()).toBe(true);
    for (const board of boards) board.wire!.plug();
    await b.until(
      'all done',
      (s) => s.tiles.length === 4 && s.tiles.every((t) => t.state === 'done'),
    );
    off();
    for (const t of b.store.getState().tiles) {
      // The last event of the last phase: everything verified.
      expect(t.progress, t.id).toMatchObject({ phase: 'verifying' });
      expect(t.progress!.bytesDone, t.id).toBe(t.progress!.bytesTotal);
    }
    // Boards writing side by side: their progress reaches the store in shared updates, not one
    // update per board.
    expect(Math.max(...batches)).toBe(4);
  });
});
