/**
 * Progress of many boards stored together: each board's latest progress waits for one shared
 * timer and all of it reaches the store in one update, at most once per interval. A bench of
 * sixteen boards whose progress each went to the store on its own would change the page (and
 * so re-render and repaint it) in nearly every frame.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';

export class ProgressBatch<P> {
  #pending = new Map<string, P>();
  #timer: TimerHandle | undefined;

  /** `store` receives each batch: tile id → its latest progress. */
  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly store: (batch: ReadonlyMap<string, P>) => void,
  ) {}

  /**
   * Queues `progress` for tile `id`, replacing what was queued for it; with `now` (the end of
   * a phase), everything queued is stored at once.
   */
  add(id: string, progress: P, now = false): void {
    this.#pending.set(id, progress);
    if (now) this.flush();
    else
      this.#timer ??= this.clock.setTimer(this.intervalMs, () => {
        this.#timer = undefined;
        this.flush();
      });
  }

  /** Takes tile `id`'s queued progress out, to be stored with a change made after it. */
  take(id: string): P | undefined {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    return p;
  }

  /** Stores everything queued now. */
  flush(): void {
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.store(batch);
  }
}
