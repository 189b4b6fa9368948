/**
 * An overall deadline around one step of a job. Drivers time out each command themselves; the
 * watchdog is the backstop that turns "a step that never ends" into a TimeoutError even when a
 * driver forgot a deadline somewhere.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError, WebflashError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { asJobError } from './errors.ts';
import type { PhaseTimeouts } from './types.ts';
import { SAFE_BAUD, type BaudSetting } from '../protocols/link-speed.ts';

export interface DeadlineOptions<T = unknown> {
  clock: Clock;
  timeoutMs: number;
  /** The job's signal: when it fires the step is cancelled (AbortError, not a timeout). */
  signal: AbortSignal;
  /** What is being waited for, for the error message ("Connecting to the board"). */
  what: string;
  /**
   * After the deadline, how long to let the step wind down (it sees its signal fire) before
   * giving up on it. 1000 ms unless set.
   */
  graceMs?: number;
  /**
   * Receives the step's value when it arrives after the deadline or the cancel, e.g. to close a
   * session whose connect finished too late.
   */
  discard?: (value: T) => void;
}

/**
 * Runs `step` with a signal that fires when either the job's signal fires or `timeoutMs` passes.
 * Resolves or rejects as `step` does, except that when the deadline passes it rejects with a
 * TimeoutError (whatever the step threw on seeing its signal).
 * @throws {TimeoutError} when the deadline passes first.
 * @throws {AbortError} when the job's signal fires first.
 * @example await withDeadline({ clock, timeoutMs: 30_000, signal, what: 'Connecting' }, (s) => connect(s))
 */
export async function withDeadline<T>(
  options: DeadlineOptions<T>,
  step: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { clock, timeoutMs, signal, what } = options;
  if (signal.aborted) throw abortReason(signal);
  const inner = new AbortController();
  let expired = false;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const timer = clock.setTimer(timeoutMs, () => {
    expired = true;
    inner.abort(new TimeoutError(what, timeoutMs));
    stop?.();
  });
  const forward = (): void => {
    inner.abort(signal.reason);
    stop?.();
  };
  signal.addEventListener('abort', forward, { once: true });

  // A step that throws before returning its promise is treated like one that rejects.
  const running = new Promise<T>((resolve) => resolve(step(inner.signal)));
  const grace = new AbortController();
  let gaveUp = false;
  try {
    return await Promise.race([
      running,
      stopped.then(async () => {
        // Let the step see its signal and stop, so no read is left dangling; do not wait forever.
        const wound = running.then(
          () => undefined,
          () => undefined,
        );
        await Promise.race([
          wound,
          sleep(clock, options.graceMs ?? 1000, grace.signal).catch(() => undefined),
        ]);
        throw expired ? new TimeoutError(what, timeoutMs) : abortReason(signal);
      }),
    ]);
  } catch (err) {
    gaveUp = true;
    if (expired) throw err instanceof TimeoutError ? err : new TimeoutError(what, timeoutMs);
    if (signal.aborted) throw abortReason(signal, err);
    throw err;
  } finally {
    grace.abort();
    clock.clearTimer(timer);
    signal.removeEventListener('abort', forward);
    // A step that settles after we gave up must not become an unhandled rejection.
    running.then(
      (value) => {
        if (gaveUp) options.discard?.(value);
      },
      () => undefined,
    );
  }
}

/**
 * Runs `close` under a deadline of its own (a job's signal may have fired already); a failure
 * is logged, never thrown.
 */
export async function closeWithDeadline(
  options: { clock: Clock; timeoutMs: number; log: Logger },
  close: () => Promise<void>,
): Promise<void> {
  try {
    await withDeadline(
      {
        clock: options.clock,
        timeoutMs: options.timeoutMs,
        signal: new AbortController().signal,
        what: 'Closing the port',
      },
      close,
    );
  } catch (err) {
    options.log.warn(`Closing the port failed: ${asJobError(err).message}`);
  }
}

/** The error to throw once `signal` has fired. */
export function abortReason(signal: AbortSignal, cause?: unknown): WebflashError {
  const reason: unknown = signal.reason;
  if (reason instanceof WebflashError) return reason;
  return new AbortError('Cancelled', cause === undefined ? {} : { cause });
}

/** Deadlines used when the job's settings do not give them (docs/engine.md, "Deadlines"). */
export const defaultTimeouts: PhaseTimeouts = {
  connect: 45_000,
  identify: 15_000,
  check: 10_000,
  eraseAll: 180_000,
  transferBase: 60_000,
  transferFactor: 4,
  resync: 15_000,
  reset: 10_000,
};

/**
 * The deadline of one write or verify attempt of `bytes`, scaled to the time the link needs at
 * `baudRate` (10 bits a byte). 'auto' may end anywhere on the ladder, so it is sized for the
 * ladder's safe end.
 */
export function transferTimeoutMs(
  bytes: number,
  baudRate: BaudSetting | undefined,
  timeouts: Pick<PhaseTimeouts, 'transferBase' | 'transferFactor'>,
): number {
  const baud = typeof baudRate === 'number' ? baudRate : SAFE_BAUD;
  const linkMs = ((bytes * 10) / baud) * 1000;
  return Math.ceil(timeouts.transferBase + timeouts.transferFactor * linkMs);
}
