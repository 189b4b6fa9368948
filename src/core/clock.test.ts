import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from './clock.ts';
import { AbortError } from './errors.ts';

describe('VirtualClock', () => {
  it('fires timers in time order, then insertion order', () => {
    const c = new VirtualClock({ auto: false });
    const fired: string[] = [];
    c.setTimer(20, () => fired.push('b'));
    c.setTimer(10, () => fired.push('a'));
    c.setTimer(20, () => fired.push('c'));
    c.advance(15);
    expect(fired).toEqual(['a']);
    expect(c.now()).toBe(15);
    c.advance(5);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('in auto mode jumps over idle time so long waits cost nothing', async () => {
    const c = new VirtualClock({ yieldToHost: setImmediate });
    await sleep(c, 60_000);
    expect(c.now()).toBe(60_000);
  });

  it('cleared timers never fire', () => {
    const c = new VirtualClock({ auto: false });
    let fired = false;
    const h = c.setTimer(5, () => (fired = true));
    c.clearTimer(h);
    c.advance(10);
    expect(fired).toBe(false);
    expect(c.pending).toBe(0);
  });

  it('sleep rejects with AbortError when aborted', async () => {
    const c = new VirtualClock({ auto: false });
    const ac = new AbortController();
    const s = sleep(c, 100, ac.signal);
    ac.abort();
    await expect(s).rejects.toBeInstanceOf(AbortError);
    expect(c.pending).toBe(0);
  });
});
