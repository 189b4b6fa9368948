/**
 * The campaign's virtual clock: a VirtualClock that catches what a timer callback throws (a
 * simulator or driver bug that would otherwise escape as an uncaught exception) and keeps it
 * for the run's verdict, and that can be stopped when its case is over.
 */
import { VirtualClock, type TimerHandle } from '../src/core/clock.ts';

export class CampaignClock extends VirtualClock {
  /** Errors thrown by timer callbacks, in order. */
  readonly thrown: unknown[] = [];
  private stopped = false;

  constructor() {
    super({ yieldToHost: setImmediate });
  }

  override setTimer(ms: number, cb: () => void): TimerHandle {
    return super.setTimer(ms, () => {
      if (this.stopped) return;
      try {
        cb();
      } catch (err) {
        this.thrown.push(err);
      }
    });
  }

  /**
   * Ends the case: no timer runs any more, so a simulated board's own periodic work (a boot
   * timeout, an application's heartbeat) stops instead of running virtual time on forever.
   */
  stop(): void {
    this.stopped = true;
  }
}
