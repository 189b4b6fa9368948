/**
 * Turns a driver's per-region progress callbacks into the job's progress events: totals over all
 * regions, a count that never goes backwards when a retry resumes a little before where the last
 * attempt got to, and a smoothed rate and time left per phase.
 */
import type { Clock } from '../core/clock.ts';
import type { FlashRegion, WriteProgress } from '../protocols/driver.ts';
import { RateMeter } from './rate.ts';
import type { JobPhase, ProgressEvent, TransferPhase } from './types.ts';

const PHASE_OF: Record<WriteProgress['phase'], TransferPhase> = {
  compare: 'comparing',
  erase: 'erasing',
  write: 'writing',
  verify: 'verifying',
};

/** The job's phase for a driver's progress report. */
export function transferPhaseOf(p: WriteProgress): TransferPhase {
  return PHASE_OF[p.phase];
}

/** Whether `phase` is one in which progress is reported. */
export function isTransferPhase(phase: JobPhase): phase is TransferPhase {
  return Object.values(PHASE_OF).includes(phase as TransferPhase);
}

/**
 * The progress to show beside `phase`: during a transfer phase only that phase's own (a new
 * phase shows none until its first report, not the last one's 100 %); otherwise the last report,
 * e.g. the verification's at the end.
 */
export function phaseProgress(job: {
  phase: JobPhase;
  progress: ProgressEvent | undefined;
}): ProgressEvent | undefined {
  const { phase, progress } = job;
  return progress && (!isTransferPhase(phase) || progress.phase === phase) ? progress : undefined;
}

interface PhaseState {
  /** Highest confirmed byte count seen per region. */
  done: number[];
  meter: RateMeter;
  entered: boolean;
}

export interface ProgressTrackerOptions {
  clock: Clock;
  regions: readonly FlashRegion[];
  /** Time constant of the rate average (see RateMeter). */
  timeConstantMs?: number;
}

export interface ProgressUpdate {
  phase: TransferPhase;
  /** Region index. */
  index: number;
  /** Bytes of the region the driver reports done. */
  bytesDone: number;
  attempt: number;
}

/** Keeps progress of one job, per transfer phase. */
export class ProgressTracker {
  private readonly regions: readonly FlashRegion[];
  private readonly total: number;
  private readonly phases: Record<TransferPhase, PhaseState>;

  constructor(options: ProgressTrackerOptions) {
    this.regions = options.regions;
    this.total = options.regions.reduce((n, r) => n + r.data.length, 0);
    const state = (): PhaseState => ({
      done: options.regions.map(() => 0),
      meter: new RateMeter(
        options.timeConstantMs === undefined
          ? { clock: options.clock }
          : { clock: options.clock, timeConstantMs: options.timeConstantMs },
      ),
      entered: false,
    });
    this.phases = { comparing: state(), erasing: state(), writing: state(), verifying: state() };
  }

  /** The job entered `phase` (again): the rate average continues, the pause is not counted. */
  enter(phase: TransferPhase): void {
    const s = this.phases[phase];
    const done = sum(s.done);
    if (s.entered) s.meter.resume(done);
    else s.meter.start(done);
    s.entered = true;
  }

  /** Records a driver report and returns the event to emit. */
  update(u: ProgressUpdate): ProgressEvent {
    const s = this.phases[u.phase];
    if (!s.entered) this.enter(u.phase);
    const region = this.regions[u.index]!;
    const size = region.data.length;
    const reported = Math.max(0, Math.min(size, u.bytesDone));
    const regionDone = Math.max(s.done[u.index]!, reported);
    s.done[u.index] = regionDone;
    const bytesDone = sum(s.done);
    const reading = s.meter.sample(bytesDone, this.total);
    return {
      phase: u.phase,
      region: region.name,
      regionIndex: u.index,
      regionCount: this.regions.length,
      bytesDone,
      bytesTotal: this.total,
      regionBytesDone: regionDone,
      regionBytesTotal: size,
      percent: this.total === 0 ? 100 : (bytesDone / this.total) * 100,
      bytesPerSecond: reading.bytesPerSecond,
      etaMs: reading.etaMs,
      attempt: u.attempt,
    };
  }

  /** Region `index` is being done again from the start in `phase` (after a failed verify). */
  restartRegion(phase: TransferPhase, index: number): void {
    this.phases[phase].done[index] = 0;
  }

  /** Bytes of region `index`. */
  regionSize(index: number): number {
    return this.regions[index]?.data.length ?? 0;
  }

  /** 0…100 of region `index` in `phase`. */
  regionPercent(phase: TransferPhase, index: number): number {
    const size = this.regions[index]?.data.length ?? 0;
    return size === 0 ? 0 : (this.phases[phase].done[index]! / size) * 100;
  }
}

function sum(values: readonly number[]): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
