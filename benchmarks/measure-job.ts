/** Runs a flash job of a benchmark and measures it: whole time, time and timer lateness per phase. */
import type { Clock } from '../src/core/clock.ts';
import type { FlashJob } from '../src/job/engine.ts';
import type { JobSuccess } from '../src/job/types.ts';
import { recordPhases, type PhaseTimes } from './phases.ts';
import { recordLateness } from './timer-lateness.ts';

export interface MeasuredJob {
  result: JobSuccess;
  /** The whole job on `clock`, ms. */
  ms: number;
  phases: PhaseTimes;
  /** Per phase, how late the timers fired (a `lateClock`; nothing on another clock). */
  late: PhaseTimes;
}

/**
 * Runs `job` on `clock`.
 * @throws {Error} naming `what`, the code and the message when the job fails.
 */
export async function measureJob(
  job: FlashJob<unknown>,
  clock: Clock,
  what: string,
): Promise<MeasuredJob> {
  const phases = recordPhases(job, clock);
  const late = recordLateness(job, clock);
  const t0 = clock.now();
  const result = await job.run();
  const ms = clock.now() - t0;
  if (!result.ok) throw new Error(`${what}: ${result.error.code}: ${result.error.message}`);
  return { result, ms, phases, late };
}
