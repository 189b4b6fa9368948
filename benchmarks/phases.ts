/** Time spent in each phase of a flash job, from its phase events (ms on the job's clock). */
import type { Clock } from '../src/core/clock.ts';
import type { EventSource } from '../src/job/emitter.ts';
import type { JobEvents, JobPhase } from '../src/job/types.ts';

export type PhaseTimes = Partial<Record<JobPhase, number>>;

/** Starts recording; read the result after the job ended. */
export function recordPhases(job: EventSource<JobEvents>, clock: Clock): PhaseTimes {
  return recordPerPhase(job, () => clock.now());
}

/**
 * How much of a growing quantity (`measure`: the clock's time, timer lateness…) each phase
 * added. Read the result after the job ended.
 */
export function recordPerPhase(job: EventSource<JobEvents>, measure: () => number): PhaseTimes {
  const times: PhaseTimes = {};
  let phase: JobPhase = 'idle';
  let since = measure();
  job.on('phase', (e) => {
    const now = measure();
    times[phase] = (times[phase] ?? 0) + (now - since);
    phase = e.phase;
    since = now;
  });
  return times;
}

/** Erasing + writing: the part of a job the physical limit is about. */
export function transferMs(t: PhaseTimes): number {
  return (t.erasing ?? 0) + (t.writing ?? 0);
}

/** Comparing + erasing + writing: what a delta update costs before the final verification. */
export function updateMs(t: PhaseTimes): number {
  return (t.comparing ?? 0) + transferMs(t);
}
