/**
 * A tiny typed event emitter. Event names and payload types come from one map type, so
 * `on('progress', fn)` gives `fn` the progress payload and a misspelt name is a compile error.
 * No Node EventEmitter: the engine runs unchanged in browsers, workers and Node.
 */

/** Something that accepts listeners for the events in `Events`. */
export interface EventSource<Events> {
  /**
   * Adds a listener; returns a function that removes it.
   * @example const off = job.on('progress', (p) => console.log(p.percent)); off();
   */
  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): () => void;
}

/** Calls listeners synchronously, in the order they were added. */
export class Emitter<Events> implements EventSource<Events> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** @inheritdoc */
  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    // A wrapper per subscription, so adding the same function twice gives two subscriptions.
    const entry = (payload: never): void => listener(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /**
   * Delivers `payload` to every listener of `name`. A listener that throws does not stop the
   * others or the emitter; its error goes to `onListenerError`.
   */
  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (p: Events[K]) => void)(payload);
      } catch (err) {
        this.onListenerError(err, String(name));
      }
    }
  }

  /** Number of listeners of `name` (for tests and leak checks). */
  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }

  /** Called when a listener throws. By default the error is reported on the console. */
  onListenerError: (error: unknown, name: string) => void = (error, name) => {
    console.error(`webflash: a "${name}" listener threw`, error);
  };
}
