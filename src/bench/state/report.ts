/**
 * The bench's running tally. Its report exports (CSV per RFC 4180, the JSON document) are pure
 * functions shared with `webflash bench` and live in src/audit/bench-report.ts.
 */
import type { BenchRecord, Tile } from './types.ts';

/** Counts for the tally bar. */
export interface Tally {
  /** Boards on the bench now (tiles). */
  boards: number;
  running: number;
  waiting: number;
  /** Boards whose last flash succeeded. */
  ok: number;
  /** Boards whose last flash failed or was cancelled. */
  failed: number;
  /** Boards recognised as already provisioned and left alone. */
  skipped: number;
  /** Flashes recorded in the report (every attempt). */
  flashes: number;
}

/**
 * The tally of the bench now.
 * @example tally(tiles, records).ok // boards done
 */
export function tally(tiles: readonly Tile[], records: readonly BenchRecord[]): Tally {
  const count = (pred: (t: Tile) => boolean): number => tiles.filter(pred).length;
  return {
    boards: tiles.length,
    running: count((t) => t.state === 'running'),
    waiting: count((t) => t.state === 'waiting'),
    ok: count((t) => t.state === 'done'),
    failed: count((t) => t.state === 'failed' || t.state === 'cancelled'),
    skipped: count((t) => t.state === 'skipped'),
    flashes: records.length,
  };
}

export {
  csvField,
  exportFileName,
  REPORT_COLUMNS,
  reportCsv,
  reportJson,
  type ReportDocument,
} from '../../audit/bench-report.ts';
