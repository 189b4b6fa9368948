/**
 * How late the real clock's timers fire during a real-time run. The simulated boards pace their
 * links and flash on timers (src/sim), and every turnaround waits on one; under load Node fires
 * each a little after its time. `lateClock()` is `realClock` that adds up, for every timer that
 * fires, how long after its due time it ran: time the simulation loses to the host's timer
 * scheduling, not to the code under test. Cleared timers (reply deadlines that did not expire)
 * count nothing.
 */
import { realClock, type Clock } from '../src/core/clock.ts';
import type { EventSource } from '../src/job/emitter.ts';
import type { JobEvents } from '../src/job/types.ts';
import { recordPerPhase, type PhaseTimes } from './phases.ts';

/** A clock that adds up how late its timers fired. */
interface LateClock extends Clock {
  /** The sum over the timers fired so far of (when it ran − when it was due), ms. */
  readonly lateMs: number;
}

/** `realClock`, measuring how late its timers fire. */
export function lateClock(): LateClock {
  let lateMs = 0;
  return {
    now: realClock.now,
    clearTimer: realClock.clearTimer,
    setTimer(ms, cb) {
      const due = realClock.now() + Math.max(0, ms);
      return realClock.setTimer(ms, () => {
        lateMs += Math.max(0, realClock.now() - due);
        cb();
      });
    },
    get lateMs() {
      return lateMs;
    },
  };
}

/**
 * Per phase of `job`, how late `clock`'s timers fired (`lateClock`); nothing on another clock (a
 * VirtualClock fires every timer on time). Read the result after the job ended.
 */
export function recordLateness(job: EventSource<JobEvents>, clock: Clock): PhaseTimes {
  return recordPerPhase(job, () => ('lateMs' in clock ? (clock as LateClock).lateMs : 0));
}
