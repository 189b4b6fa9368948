/**
 * A real-time clock whose timers fire on time, for simulated boards served to real tools.
 *
 * Node's timers run on whole milliseconds: a timer due in 2.3 ms fires after 3 ms or more, and
 * a simulated board that waits on a timer for every character run, flash operation and bridge
 * turnaround answers each command a millisecond or two late (the benchmarks' "timers late"
 * column). A real chip is not late. This clock keeps one ordered list of timers, sleeps on an
 * ordinary timer until `marginMs` before the first is due, and then polls with `setImmediate`
 * (which lets every I/O callback run between polls) until it is due: each timer fires within a
 * few microseconds of its time, at the cost of up to `marginMs` of busy waiting per timer.
 */
import { realClock, type Clock, type TimerHandle } from '../../core/clock.ts';

interface PreciseTimer {
  due: number;
  seq: number;
  cb: () => void;
}

/** A clock on `performance.now()` whose timers fire within microseconds of their due time. */
export function preciseClock(options: { marginMs?: number } = {}): Clock {
  const marginMs = options.marginMs ?? 1.5;
  const now = (): number => realClock.now();
  let timers: PreciseTimer[] = [];
  let seq = 0;
  let sleeper: ReturnType<typeof setTimeout> | undefined;
  let spinning = false;

  const spin = (): void => {
    spinning = false;
    const t = now();
    while (timers.length > 0 && timers[0]!.due <= t) {
      const timer = timers.shift()!;
      timer.cb();
    }
    schedule();
  };

  const schedule = (): void => {
    if (sleeper !== undefined) {
      clearTimeout(sleeper);
      sleeper = undefined;
    }
    if (timers.length === 0 || spinning) return;
    const wait = timers[0]!.due - now();
    if (wait > marginMs) {
      sleeper = setTimeout(() => {
        sleeper = undefined;
        schedule();
      }, wait - marginMs);
    } else {
      spinning = true;
      setImmediate(spin);
    }
  };

  return {
    now,
    setTimer(ms, cb) {
      const timer: PreciseTimer = { due: now() + Math.max(0, ms), seq: seq++, cb };
      let i = timers.length;
      while (i > 0 && timers[i - 1]!.due > timer.due) i--;
      timers.splice(i, 0, timer);
      if (i === 0) schedule();
      return timer as unknown as TimerHandle;
    },
    clearTimer(handle) {
      const before = timers.length;
      timers = timers.filter((t) => t !== (handle as unknown as PreciseTimer));
      if (timers.length !== before && timers.length === 0) schedule();
    },
  };
}
