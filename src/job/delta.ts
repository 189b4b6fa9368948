/**
 * Delta updates: before a region is written, the session tells which of its erase units the
 * board already holds (`FlashSession.compareUnits`, by digest or read-back, each protocol its
 * own way); the engine then writes only the runs of changed units, each as a part of the
 * region that starts and ends on unit boundaries, so the driver erases and writes only those
 * units. Every part is written with the usual retries and resume points; the verification of
 * the whole region afterwards is the same as for a full write. A comparison that fails in a
 * way worth retrying (no reply, a garbled digest) is never taken as "unchanged": the board is
 * brought back in step and the whole region is written. The comparison is the phase
 * `comparing`, with the session's progress. See docs/engine.md "Delta updates".
 */
import { UsageError } from '../core/errors.ts';
import type { DeltaUnit, FlashRegion } from '../protocols/driver.ts';
import { asJobError } from './errors.ts';
import { isRetryable } from './retry.ts';
import { writeWithRetry, type TransferContext } from './transfer.ts';
import type { DeltaFigure } from './types.ts';
import { abortReason } from './watchdog.ts';

/** A run of consecutive units with the same verdict, as offsets into the region's data. */
interface UnitRun {
  start: number;
  end: number;
  unchanged: boolean;
}

/**
 * Joins consecutive units with the same verdict.
 * @throws {UsageError} when the units do not cover `[0, length)` in order without gaps.
 */
function unitRuns(units: readonly DeltaUnit[], length: number): UnitRun[] {
  const runs: UnitRun[] = [];
  let at = 0;
  for (const u of units) {
    if (u.start !== at || u.end <= u.start || u.end > length) {
      throw new UsageError(
        `compareUnits: unit [${u.start}, ${u.end}) does not continue at ${at} within ${length} bytes`,
      );
    }
    const last = runs.at(-1);
    if (last && last.unchanged === u.unchanged) last.end = u.end;
    else runs.push({ start: u.start, end: u.end, unchanged: u.unchanged });
    at = u.end;
  }
  if (at !== length) {
    throw new UsageError(`compareUnits: the units end at ${at}, the region at ${length}`);
  }
  return runs;
}

/** The sum of several regions' figures; undefined when none was compared. */
export function totalDelta(figures: readonly (DeltaFigure | undefined)[]): DeltaFigure | undefined {
  let sum: DeltaFigure | undefined;
  for (const f of figures) {
    if (!f) continue;
    sum = { unchanged: (sum?.unchanged ?? 0) + f.unchanged, total: (sum?.total ?? 0) + f.total };
  }
  return sum;
}

/**
 * Writes region `index` as a delta update when `enabled` and the session can compare, else in
 * full.
 * @returns the write attempts it took (1 when nothing went wrong, also when nothing needed
 *   writing) and, when the board was compared, how many units were unchanged.
 * @throws like `writeWithRetry`.
 */
export async function writeWithDelta(
  ctx: TransferContext,
  region: FlashRegion,
  index: number,
  enabled: boolean,
): Promise<{ attempts: number; delta?: DeltaFigure }> {
  const full = async (): Promise<{ attempts: number }> => {
    ctx.setPhase('writing');
    return { attempts: await writeWithRetry(ctx, region, index) };
  };
  if (!enabled || !ctx.session().compareUnits || region.data.length === 0) return full();
  const units = await compare(ctx, region, index);
  if (units === 'failed') return full();
  if (!units) {
    ctx.log.info(
      `${region.name}: not compared (this bootloader cannot, or comparing would cost more ` +
        'than writing); writing all of it.',
    );
    return full();
  }
  const runs = unitRuns(units, region.data.length);
  const figure = { unchanged: units.filter((u) => u.unchanged).length, total: units.length };
  ctx.log.info(`${region.name}: ${figure.unchanged} of ${figure.total} blocks unchanged.`);
  ctx.setPhase('writing');
  let attempts = 1;
  for (const run of runs) {
    if (run.unchanged) {
      const done = { phase: 'write' as const, region: region.name, bytesDone: run.end };
      ctx.onProgress({ ...done, bytesTotal: region.data.length }, index, 1);
      continue;
    }
    const part: FlashRegion = {
      ...region,
      address: region.address + run.start,
      data: region.data.subarray(run.start, run.end),
    };
    attempts += (await writeWithRetry(ctx, part, index, run.start, attempts - 1)) - 1;
  }
  return { attempts, delta: figure };
}

/**
 * Asks the session which units of region `index` the board holds, in the `comparing` phase, with
 * the driver's progress; once the comparison is over, however it ended, the whole region counts
 * as compared, so the phase's progress reaches its total.
 * @returns the units; undefined when the driver did not compare; 'failed' when the comparison
 *   failed in a way worth retrying (the board is back in step: write it all).
 * @throws a fatal error of the comparison (a lost board, a cancel).
 */
async function compare(
  ctx: TransferContext,
  region: FlashRegion,
  index: number,
): Promise<DeltaUnit[] | undefined | 'failed'> {
  const size = region.data.length;
  const report = (bytesDone: number): void =>
    ctx.onProgress(
      { phase: 'compare', region: region.name, bytesDone, bytesTotal: size },
      index,
      1,
    );
  // A report that comes late, from a comparison the deadline gave up on, is dropped.
  let open = true;
  ctx.setPhase('comparing');
  // Reading or hashing the board takes seconds on a slow link: say so before it starts.
  ctx.log.info(`Comparing ${region.name} with what the board holds…`);
  let units: DeltaUnit[] | undefined;
  try {
    await ctx.deadline(region, 'Comparing', async (signal) => {
      units = await ctx.session().compareUnits!(region, {
        signal,
        onProgress: (p) => {
          if (open) report(p.bytesDone);
        },
      });
    });
  } catch (err) {
    open = false;
    const e = asJobError(err);
    if (ctx.signal.aborted) throw abortReason(ctx.signal, e);
    if (!isRetryable(e)) throw e;
    report(size);
    ctx.log.warn(
      `Could not compare ${region.name} with the board (${e.message}); writing all of it.`,
    );
    await ctx.recover();
    return 'failed';
  }
  open = false;
  report(size);
  return units;
}
