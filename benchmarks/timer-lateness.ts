/**
 * How late the real clock's timers fire during a real-time run. The simulated boards pace their
 * links and flash on timers (src/sim), and every turnaround waits on one; under load Node fires
 * each a little after its time. `lateClock()` wraps `realClock` and adds up, for every timer
 * that fires, how long after its due time it ran: time the simulation loses to the host's timer
 * scheduling, not to the code under test. Cleared timers (reply deadlines that did not expire)
 * count nothing.
 */
import { realClock, type Clock } from '../src/core/clock.ts';

export interface TimerLateness {
  /** Timers that fired. */
  fired: number;
  /** The sum over them of (when it ran − when it was due), ms. */
  lateMs: number;
}

/** `realClock`, measuring how late its timers fire. */
export function lateClock(): { clock: Clock; lateness: () => TimerLateness } {
  const stats: TimerLateness = { fired: 0, lateMs: 0 };
  const clock: Clock = {
    now: realClock.now,
    clearTimer: realClock.clearTimer,
    setTimer(ms, cb) {
      const due = realClock.now() + Math.max(0, ms);
      return realClock.setTimer(ms, () => {
        stats.fired++;
        stats.lateMs += Math.max(0, realClock.now() - due);
        cb();
      });
    },
  };
  return { clock, lateness: () => ({ ...stats }) };
}
