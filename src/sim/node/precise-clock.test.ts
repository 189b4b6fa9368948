import { describe, expect, it } from 'vitest';
import { preciseClock } from './precise-clock.ts';

/** Runs `schedule` on a fresh clock and resolves with the callbacks' log once `count` ran. */
function run(
  count: number,
  schedule: (clock: ReturnType<typeof preciseClock>, log: (entry: string) => void) => void,
): Promise<{ entry: string; at: number }[]> {
  const clock = preciseClock();
  return new Promise((resolve) => {
    const out: { entry: string; at: number }[] = [];
    schedule(clock, (entry) => {
      out.push({ entry, at: clock.now() });
      if (out.length === count) resolve(out);
    });
  });
}

describe('preciseClock', () => {
  it('fires every timer in due order, never before it is due', async () => {
    const dues = new Map<string, number>();
    const log = await run(5, (clock, note) => {
      for (const [name, ms] of [
        ['c', 6.2],
        ['a', 0.3],
        ['e', 12],
        ['b', 2.5],
        ['d', 6.2],
      ] as const) {
        dues.set(name, clock.now() + ms);
        clock.setTimer(ms, () => note(name));
      }
    });
    expect(log.map((l) => l.entry)).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const l of log) expect(l.at).toBeGreaterThanOrEqual(dues.get(l.entry)!);
  });

  it('a cleared timer never fires; timers set from a callback run', async () => {
    const log = await run(2, (clock, note) => {
      const dropped = clock.setTimer(1, () => note('dropped'));
      clock.setTimer(0.5, () => {
        clock.clearTimer(dropped);
        clock.setTimer(1, () => note('second'));
        note('first');
      });
    });
    expect(log.map((l) => l.entry)).toEqual(['first', 'second']);
  });
});
