/**
 * Progress of many boards stored together: each board's latest progress (and phase) waits for
 * one shared timer and all of it reaches the store in one update, at most once per interval. A
 * bench of sixteen boards whose progress each went to the store on its own would change the page
 * (and so re-render and repaint it) in nearly every frame.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';

/**
 * Progress and phase changes reach the store at most this often, every board's in one update
 * (the end of the verification at once): a bench of many boards otherwise re-renders its tiles
 * for every block each board writes, and a delta update changes phase twice per image.
 */
export const PROGRESS_INTERVAL_MS = 100;

export class ProgressBatch<P> {
  #pending = new Map<string, P>();
  #timer: TimerHandle | undefined;

  /**
   * `store` receives each batch: tile id → its latest progress. `merge` combines what is
   * queued for a tile with what comes next (default: the newer replaces it).
   */
  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly store: (batch: ReadonlyMap<string, P>) => void,
    private readonly merge: (queued: P, next: P) => P = (_queued, next) => next,
  ) {}

  /**
   * Queues `progress` for tile `id`, replacing what was queued for it; with `now` (the end of
   * a phase), everything queued is stored at once.
   */
  add(id: string, progress: P, now = false): void {
    const queued = this.#pending.get(id);
    this.#pending.set(id, queued === undefined ? progress : this.merge(queued, progress));
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
