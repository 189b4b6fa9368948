/** Following re-enumerating boards: which connecting port is which board coming back. */
import { describe, expect, it } from 'vitest';
import { FollowTracker } from '../../src/bench/state/follow.ts';

const S3 = { usbVendorId: 0x303a, usbProductId: 0x1001 };
const port = (id: string) => ({ id, ...S3 });
const C3 = { usbVendorId: 0x303a, usbProductId: 0x1002 };

describe('FollowTracker', () => {
  it('follows a board that left the bus and came back with the same USB ids', () => {
    const f = new FollowTracker({ windowMs: 5000 });
    f.expect('board-1', port('p1'), 0);
    expect(f.claim(S3, 100)).toBeUndefined(); // still on the bus: another board
    f.offBus('p1', 200);
    expect(f.claim(C3, 300)).toBeUndefined(); // other USB ids
    expect(f.claim(S3, 700)).toBe('board-1');
    expect(f.claim(S3, 800)).toBeUndefined(); // used up
  });

  it('matches the board that left first', () => {
    const f = new FollowTracker({ windowMs: 5000 });
    f.expect('a', port('pa'), 0);
    f.expect('b', port('pb'), 0);
    f.offBus('pb', 10);
    f.offBus('pa', 20);
    expect(f.claim(S3, 30)).toBe('b');
    expect(f.claim(S3, 40)).toBe('a');
  });

  const expiry: [string, (f: FollowTracker) => void, number][] = [
    ['left the bus too long after its restart', (f) => f.offBus('pa', 5001), 5002],
    ['came back too late', (f) => f.offBus('pa', 1000), 6001],
  ];
  it.each(expiry)('forgets a board that %s', (_what, step, at) => {
    const f = new FollowTracker({ windowMs: 5000 });
    f.expect('a', port('pa'), 0);
    step(f);
    expect(f.claim(S3, at)).toBeUndefined();
    expect(f.pending(at)).toEqual([]);
  });

  it('does not watch a port without USB ids, and forget() drops a watch', () => {
    const f = new FollowTracker({ windowMs: 5000 });
    f.expect('a', { id: 'pa' }, 0);
    expect(f.pending(0)).toEqual([]);
    f.expect('b', port('pb'), 0);
    f.forget('b');
    f.offBus('pb', 1);
    expect(f.claim(S3, 2)).toBeUndefined();
    expect(f.claim({}, 2)).toBeUndefined();
  });

  it.each([0, -1, Number.NaN])('refuses a window of %s', (windowMs) => {
    expect(() => new FollowTracker({ windowMs })).toThrow(RangeError);
  });
});
