/**
 * Runs one job under the campaign's guards: a deadline in virtual time (a job still running
 * then is a hang), errors escaping from timer callbacks or as unhandled rejections, and the
 * verdict on how the update ended compared with what the board's flash holds.
 */
import { equalBytes } from '../src/core/bytes.ts';
import { WebflashError } from '../src/core/errors.ts';
import type { Logger } from '../src/core/log.ts';
import type { JobPhase, JobResult } from '../src/job/types.ts';
import type { Rig } from './protocols.ts';

/**
 * Virtual time a job may take before it counts as a hang. The engine's own step deadlines
 * (docs/engine.md "Deadlines") end the slowest failing job well within it.
 */
const HANG_AFTER_MS = 60 * 60 * 1000;
/** After the hang deadline aborts the job, how long it may take to stop. */
const STOP_GRACE_MS = 60 * 1000;

/** How one update ended. */
export type Verdict = 'first-try' | 'after-retries' | 'failed' | 'silent' | 'hang' | 'uncaught';

export interface JobRun {
  verdict: Verdict;
  /** The error code of a failed job (or of the uncaught error). */
  code?: string;
  message?: string;
  retries: number;
  /** Virtual milliseconds the job took. */
  ms: number;
  result?: JobResult;
}

/** Errors that escaped every handler while a job ran (filled by `watchEscapes`). */
const escaped: unknown[] = [];
let watching = false;

/** Counts unhandled rejections and uncaught exceptions against the job that runs (once). */
export function watchEscapes(): void {
  if (watching) return;
  watching = true;
  process.on('unhandledRejection', (err) => escaped.push(err));
  process.on('uncaughtException', (err) => escaped.push(err));
}

/**
 * True for an error that is not one of webflash's own (a bug that surfaced as a failure), or a
 * usage error: the campaign passes valid settings, so one means the code misused itself.
 */
function untyped(error: unknown): boolean {
  if (!(error instanceof WebflashError)) return true;
  if (error.code === 'usage.invalid-argument') return true;
  const cause: unknown = error.cause;
  const native =
    cause instanceof TypeError ||
    cause instanceof RangeError ||
    cause instanceof ReferenceError ||
    cause instanceof SyntaxError;
  return native || (error.constructor === WebflashError && cause !== undefined);
}

/**
 * Runs `rig.flash` with the guards and classifies the outcome.
 * @example const run = await guardedJob(rig, { onPhase: (p) => (phase = p) });
 */
export async function guardedJob(
  rig: Rig,
  options: { logger?: Logger; onPhase?: (phase: JobPhase, at: number) => void } = {},
): Promise<JobRun> {
  const clock = rig.clock;
  const controller = new AbortController();
  let retries = 0;
  let hang = false;
  const t0 = clock.now();
  const escapedBefore = escaped.length;
  const thrownBefore = clock.thrown.length;
  const deadline = clock.setTimer(HANG_AFTER_MS, () => {
    hang = true;
    controller.abort();
  });
  let giveUp: (() => void) | undefined;
  const abandoned = new Promise<undefined>((resolve) => {
    giveUp = () => resolve(undefined);
  });
  const grace = clock.setTimer(HANG_AFTER_MS + STOP_GRACE_MS, () => giveUp?.());
  let result: JobResult | undefined;
  let threw: unknown;
  try {
    result = await Promise.race([
      rig.flash({
        signal: controller.signal,
        on: {
          retry: () => retries++,
          phase: (e) => options.onPhase?.(e.phase, clock.now()),
        },
        ...(options.logger ? { logger: options.logger } : {}),
      }),
      abandoned,
    ]);
  } catch (err) {
    threw = err;
  } finally {
    clock.clearTimer(deadline);
    clock.clearTimer(grace);
  }
  const ms = clock.now() - t0;
  const base = { retries, ms, ...(result ? { result } : {}) };
  if (hang || (!result && threw === undefined)) return { verdict: 'hang', ...base };
  const stray = [
    ...clock.thrown.slice(thrownBefore),
    ...escaped.slice(escapedBefore),
    ...(threw === undefined ? [] : [threw]),
  ];
  if (stray.length > 0) return { verdict: 'uncaught', ...describe(stray[0]), ...base };
  if (!result) return { verdict: 'hang', ...base };
  if (!result.ok) {
    const e = result.error;
    if (untyped(e)) return { verdict: 'uncaught', ...describe(e.cause ?? e), ...base };
    return { verdict: 'failed', code: e.code, message: e.message, ...base };
  }
  if (!equalBytes(rig.readImage(), rig.image.data)) {
    return {
      verdict: 'silent',
      message: 'reported success, but the flash differs from the image',
      ...base,
    };
  }
  return { verdict: retries > 0 ? 'after-retries' : 'first-try', ...base };
}

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof WebflashError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: err.name, message: err.stack ?? err.message };
  return { code: 'thrown', message: String(err) };
}
