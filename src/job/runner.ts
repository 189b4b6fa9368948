/**
 * The one job runner every face uses (the technician console, the bench, the customer updater
 * and the CLI): build the FlashJob, subscribe to its events, run it, record the result. A face
 * passes only its policy: its listeners (and so its own progress throttling), its recovery
 * words (`advise`), its plan rules (`checkPlan`) and how it records a result.
 */
import { asJobError } from './errors.ts';
import { FlashJob } from './engine.ts';
import type { FlashJobOptions, JobEvents, JobResult } from './types.ts';

/** Engine event listeners, by event name. */
export type JobListeners = { [K in keyof JobEvents]?: (payload: JobEvents[K]) => void };

export interface RunJobOptions<Port> extends FlashJobOptions<Port> {
  /** Attached before the job starts, detached when it ends. */
  on?: JobListeners;
  /**
   * Records how the job ended (the flash log). Called once, after the session is closed; a
   * failure to record is logged through `logger` and does not change the result.
   */
  record?: (result: JobResult) => unknown;
}

/**
 * Runs one flash job to its end. Never rejects for a failed flash: the result says how it ended.
 * @throws {UsageError} for job settings out of range (before anything is touched).
 * @example
 * const result = await runFlashJob({ port, connector, source, clock, signal, advise: recoveryAdvice,
 *   on: { progress: (p) => draw(p) }, record: (r) => log.append(recordOf(r)) });
 */
export async function runFlashJob<Port>(options: RunJobOptions<Port>): Promise<JobResult> {
  const { on = {}, record, ...jobOptions } = options;
  const job = new FlashJob(jobOptions);
  const offs = (Object.keys(on) as (keyof JobEvents)[]).flatMap((name) => {
    const listener = on[name] as ((payload: JobEvents[typeof name]) => void) | undefined;
    return listener ? [job.on(name, listener)] : [];
  });
  try {
    const result = await job.run();
    if (record) {
      try {
        await record(result);
      } catch (err) {
        options.logger
          ?.child('flash-log')
          .error(`Could not record the flash: ${asJobError(err).message}`);
      }
    }
    return result;
  } finally {
    for (const off of offs) off();
  }
}
