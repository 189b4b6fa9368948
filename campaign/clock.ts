/**
 * The campaign's virtual clock: a VirtualClock that catches what a timer callback throws (a
 * simulator or driver bug that would otherwise escape as an uncaught exception) and keeps it
 * for the run's verdict.
 */
import { VirtualClock, type TimerHandle } from '../src/core/clock.ts';

export class CampaignClock extends VirtualClock {
  /** Errors thrown by timer callbacks, in order. */
  readonly thrown: unknown[] = [];

  constructor() {
    super({ yieldToHost: setImmediate });
  }

  override setTimer(ms: number, cb: () => void): TimerHandle {
    return super.setTimer(ms, () => {
      try {
        cb();
      } catch (err) {
        this.thrown.push(err);
      }
    });
  }
}
