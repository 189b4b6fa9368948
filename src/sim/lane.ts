/**
 * One direction of a simulated serial wire: an ordered queue of timed deliveries served by a
 * single timer on the wire's clock, so bytes always arrive in order and cost one timer at a time.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { LineErrorKind } from './sim-link.ts';

export interface Delivery {
  at: number;
  data?: Uint8Array;
  /** A receive error the UART flags with this chunk. */
  lineError?: LineErrorKind | undefined;
  action?: () => void;
}

/** A chunk as the receiver gets it. */
export interface Received {
  data: Uint8Array;
  lineError?: LineErrorKind | undefined;
}

/** One direction of the wire: an ordered queue of timed deliveries with a single timer. */
export class Lane {
  busyUntil = 0;
  private queue: Delivery[] = [];
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly deliver: (data: Uint8Array, lineError: LineErrorKind | undefined) => void,
  ) {}

  push(item: Delivery): void {
    this.queue.push(item);
    this.arm();
  }

  clear(): void {
    this.queue = [];
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.busyUntil = this.clock.now();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.at - this.clock.now());
    this.timer = this.clock.setTimer(wait, () => {
      this.timer = undefined;
      this.flush();
    });
  }

  private flush(): void {
    const now = this.clock.now() + 1e-6;
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const item = this.queue.shift()!;
      if (item.data) this.deliver(item.data, item.lineError);
      else item.action?.();
    }
    this.arm();
  }
}
