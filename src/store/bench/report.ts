/**
 * The bench's running tally and its report exports (docs/bench-guide.md, "Reports"): CSV per
 * RFC 4180 ("Common Format and MIME Type for CSV Files", §2: CRLF line ends, fields with a comma,
 * quote or line break are quoted and quotes doubled) and a JSON document. Pure functions of the
 * records, so the exports are tested without a browser.
 */
import type { BenchBundleInfo, BenchRecord, Tile } from './types.ts';

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

/** Report columns, in order (also the JSON record keys). */
export const REPORT_COLUMNS = [
  'time',
  'uniqueId',
  'chip',
  'product',
  'version',
  'bundleSha256',
  'result',
  'errorCode',
  'durationMs',
  'port',
  'note',
] as const satisfies readonly (keyof BenchRecord)[];

/**
 * One CSV field (RFC 4180 §2.5–2.7). A field that a spreadsheet would run as a formula (starting
 * with `=`, `+`, `-`, `@`, tab or carriage return — OWASP "CSV Injection") gets a leading `'`,
 * since the operator note is free text.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The records as CSV: a header line, then one line per flash, CRLF line ends (RFC 4180 §2.1).
 * @example reportCsv(records).split('\r\n')[0] // "time,uniqueId,chip,…"
 */
export function reportCsv(records: readonly BenchRecord[]): string {
  const lines = [REPORT_COLUMNS.join(',')];
  for (const r of records) lines.push(REPORT_COLUMNS.map((c) => csvField(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** `format` of the JSON report. */
export const REPORT_FORMAT_ID = 'webflash-bench-report';

/** The JSON report document. */
export interface ReportDocument {
  format: typeof REPORT_FORMAT_ID;
  version: 1;
  /** ISO 8601 UTC. */
  exportedAt: string;
  bundle: BenchBundleInfo | null;
  summary: { flashes: number; ok: number; failed: number; cancelled: number; boardsOk: number };
  records: BenchRecord[];
}

/**
 * The records as a JSON document with a summary.
 * @example JSON.parse(reportJson(records, { exportedAt, bundle })).summary.ok
 */
export function reportJson(
  records: readonly BenchRecord[],
  meta: { exportedAt: Date; bundle: BenchBundleInfo | undefined },
): string {
  const ok = records.filter((r) => r.result === 'ok');
  const doc: ReportDocument = {
    format: REPORT_FORMAT_ID,
    version: 1,
    exportedAt: meta.exportedAt.toISOString(),
    bundle: meta.bundle ?? null,
    summary: {
      flashes: records.length,
      ok: ok.length,
      failed: records.filter((r) => r.result === 'failed').length,
      cancelled: records.filter((r) => r.result === 'cancelled').length,
      boardsOk: new Set(ok.map((r) => r.uniqueId || r.tileId)).size,
    },
    records: records.map((r) => ({ ...r })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * A file name for an export: `webflash-bench-20260301-093000.csv` (UTC).
 * @example exportFileName('report', 'csv', new Date())
 */
export function exportFileName(kind: 'report' | 'log', ext: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `webflash-bench-${kind === 'log' ? 'flash-log-' : ''}${stamp}.${ext}`;
}
