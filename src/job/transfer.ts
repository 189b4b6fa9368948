/**
 * Writing and verifying one region with the retry policy (retry.ts): after a recoverable
 * failure, pause (backoff on the job's clock), bring the link back in step (the engine's
 * `recover`: resync, or reconnect when the board no longer answers), then write again from the
 * bytes the board confirmed. Attempts are bounded two ways: `maxAttempts` failures in a row
 * that confirm no new bytes, and `maxAttemptsTotal` attempts in all.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { TransportError, VerificationError, type WebflashError } from '../core/errors.ts';
import { asJobError } from './errors.ts';
import type { Logger } from '../core/log.ts';
import {
  confirmedBytesOf,
  type FlashRegion,
  type FlashSession,
  type WriteProgress,
} from '../protocols/driver.ts';
import type { ProgressTracker } from './progress.ts';
import { backoffDelay, isRetryable } from './retry.ts';
import type { JobPhase, RetryEvent, TransferPhase } from './types.ts';
import { abortReason } from './watchdog.ts';

/** Retry limits and pauses, resolved from the job's settings. */
export interface RetryLimits {
  maxAttempts: number;
  maxAttemptsTotal: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What a region transfer needs from the job. */
export interface TransferContext {
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  limits: RetryLimits;
  progress: ProgressTracker;
  /** The session in use now (it changes when the engine reconnects). */
  session(): FlashSession;
  /** Resync, or reconnect when resync cannot reach the board. */
  recover(): Promise<void>;
  /** Runs one write or verify attempt under the per-region deadline. */
  deadline(
    region: FlashRegion,
    verb: string,
    step: (s: AbortSignal) => Promise<void>,
  ): Promise<void>;
  setPhase(phase: JobPhase): void;
  markTouched(): void;
  onProgress(p: WriteProgress, index: number, attempt: number): void;
  onRetry(event: RetryEvent): void;
}

/**
 * Writes region `index`, retrying after recoverable errors.
 * @returns the number of attempts it took.
 * @throws the last error once it is fatal or the limits are reached.
 */
export async function writeWithRetry(
  ctx: TransferContext,
  region: FlashRegion,
  index: number,
  /** Where `region` starts in the job's region `index` (a delta update writes parts of it). */
  offset = 0,
  /**
   * Retries the region's earlier parts took: they count against `maxAttemptsTotal`, which
   * bounds the attempts on the region as a whole, however many parts it is written in.
   */
  retriesBefore = 0,
): Promise<number> {
  let resumeFrom = 0;
  let withoutProgress = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt > 1) await ctx.recover();
      ctx.markTouched();
      await ctx.deadline(region, 'Writing', (signal) =>
        ctx.session().write(region, {
          signal,
          resumeFrom,
          onProgress: (p) =>
            ctx.onProgress(
              offset === 0 ? p : { ...p, bytesDone: offset + p.bytesDone },
              index,
              attempt,
            ),
        }),
      );
      ctx.log.info(
        offset === 0 && ctx.progress.regionSize(index) === region.data.length
          ? `Wrote ${region.name} (${region.data.length} bytes).`
          : `Wrote ${region.name} at offset ${offset} (${region.data.length} bytes).`,
      );
      return attempt;
    } catch (err) {
      const e = describeFailure(err, ctx, 'writing', region, index);
      const confirmed = confirmedBytesOf(err);
      const before = resumeFrom;
      if (confirmed !== undefined) {
        resumeFrom = Math.max(0, Math.min(region.data.length, Math.floor(confirmed)));
      }
      withoutProgress = resumeFrom > before ? 1 : withoutProgress + 1;
      await beforeRetry(ctx, e, {
        region,
        phase: 'writing',
        attempt: retriesBefore + attempt,
        withoutProgress,
        resumeFrom,
      });
    }
  }
}

/**
 * Verifies region `index`. A timeout or garbled reply is retried after recovery, from the first
 * byte the failed attempt had not yet found equal (`resumeFrom`; drivers that compare the
 * region as a whole start again); a mismatch rewrites the region once from the start, then
 * verifies again.
 * @returns the extra write attempts a rewrite took (0 normally).
 */
export async function verifyWithRetry(
  ctx: TransferContext,
  region: FlashRegion,
  index: number,
): Promise<number> {
  let rewritten = false;
  let extraWrites = 0;
  let verified = 0;
  let withoutProgress = 0;
  for (let attempt = 1; ; attempt++) {
    const before = verified;
    try {
      if (attempt > 1) await ctx.recover();
      await ctx.deadline(region, 'Verifying', (signal) =>
        ctx.session().verify(region, {
          signal,
          resumeFrom: verified,
          onProgress: (p) => {
            verified = Math.max(verified, Math.min(region.data.length, p.bytesDone));
            ctx.onProgress({ ...p, phase: 'verify' }, index, attempt);
          },
        }),
      );
      ctx.log.info(`Verified ${region.name}.`);
      return extraWrites;
    } catch (err) {
      const e = describeFailure(err, ctx, 'verifying', region, index);
      if (e instanceof VerificationError && !rewritten && !ctx.signal.aborted) {
        rewritten = true;
        ctx.log.warn(`${region.name} did not verify (${e.message}); writing it again.`);
        ctx.progress.restartRegion('writing', index);
        ctx.setPhase('writing');
        extraWrites += await writeWithRetry(ctx, region, index);
        ctx.setPhase('verifying');
        attempt = 0;
        verified = 0;
        withoutProgress = 0;
        continue;
      }
      withoutProgress = verified > before ? 1 : withoutProgress + 1;
      await beforeRetry(ctx, e, {
        region,
        phase: 'verifying',
        attempt,
        withoutProgress,
        resumeFrom: verified,
      });
    }
  }
}

interface FailedAttempt {
  region: FlashRegion;
  phase: TransferPhase;
  attempt: number;
  /** Failed attempts in a row that confirmed no new bytes, this one included. */
  withoutProgress: number;
  resumeFrom: number;
}

/** Throws `e` when it is fatal or the limits are reached; otherwise announces and waits. */
async function beforeRetry(
  ctx: TransferContext,
  e: WebflashError,
  f: FailedAttempt,
): Promise<void> {
  const { limits } = ctx;
  if (ctx.signal.aborted) throw abortReason(ctx.signal, e);
  if (!isRetryable(e)) throw e;
  if (f.withoutProgress >= limits.maxAttempts || f.attempt >= limits.maxAttemptsTotal) throw e;
  const next = f.attempt + 1;
  const delayMs = backoffDelay(f.withoutProgress + 1, {
    baseMs: limits.baseDelayMs,
    maxMs: limits.maxDelayMs,
  });
  const verb = f.phase === 'writing' ? 'Writing' : 'Verifying';
  ctx.log.warn(
    `${verb} ${f.region.name} failed (${e.message}); attempt ${next} in ${delayMs} ms` +
      (f.phase === 'writing' ? `, resuming at byte ${f.resumeFrom}.` : '.'),
  );
  ctx.onRetry({
    region: f.region.name,
    phase: f.phase,
    attempt: next,
    maxAttempts: limits.maxAttempts,
    maxAttemptsTotal: limits.maxAttemptsTotal,
    attemptsWithoutProgress: f.withoutProgress,
    error: e,
    resumeFrom: f.resumeFrom,
    delayMs,
  });
  await sleep(ctx.clock, delayMs, ctx.signal).catch((err: unknown) => {
    throw abortReason(ctx.signal, err);
  });
}

/**
 * Normalises an error from a transfer. A lost board gets a message saying where it happened.
 * A link found closed in the middle of a transfer (not by cancelling) also means the board went
 * away: some adapters report a write on a vanished port as "closed".
 */
function describeFailure(
  err: unknown,
  ctx: TransferContext,
  phase: TransferPhase,
  region: FlashRegion,
  index: number,
): WebflashError {
  const e = asJobError(err);
  const lost =
    e.code === 'transport.device-lost' || (e.code === 'transport.closed' && !ctx.signal.aborted);
  if (!lost) return e;
  const percent = Math.floor(ctx.progress.regionPercent(phase, index));
  const doing = phase === 'verifying' ? 'verifying' : 'writing';
  return new TransportError(
    'transport.device-lost',
    `The board was disconnected while ${doing} ${region.name} at ${percent} %.`,
    { cause: e, hints: e.hints },
  );
}
