/**
 * The provisioning bench's report (docs/bench-guide.md, "Reports"), shared by the browser bench
 * and `webflash bench`: its records, the CSV export per RFC 4180 ("Common Format and MIME Type
 * for CSV Files", §2: CRLF line ends, fields with a comma, quote or line break are quoted and
 * quotes doubled), the JSON document, and the flash-log record of each flash. Pure functions of
 * the records, so the exports are tested without a browser.
 */
import { MAX_TEXT, type FlashRecord } from './entry.ts';

/** The release every board gets, as plain data. */
export interface BenchBundleInfo {
  product: string;
  version: string;
  /** SHA-256 of the whole bundle file, lower-case hex. */
  sha256: string;
  /** Chips the release has targets for. */
  chips: string[];
  bundleBytes: number;
  /** Where it came from ("demo.fwb"). */
  source: string;
}

/** One finished flash, as the report lists it. */
export interface BenchRecord {
  /** ISO 8601 UTC time the flash finished. */
  time: string;
  tileId: string;
  port: string;
  /** MAC or other unique id; empty when the board never identified itself. */
  uniqueId: string;
  chip: string;
  product: string;
  version: string;
  bundleSha256: string;
  result: 'ok' | 'failed' | 'cancelled';
  /** Stable error code when not ok; null when ok. */
  errorCode: string | null;
  durationMs: number;
  note: string;
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
const REPORT_FORMAT_ID = 'webflash-bench-report';

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

/** The flash-log record of a bench record. */
export function toFlashRecord(r: BenchRecord): FlashRecord {
  return {
    note: r.note,
    port: r.port.slice(0, MAX_TEXT),
    deviceId: r.uniqueId.slice(0, MAX_TEXT),
    chip: r.chip.slice(0, MAX_TEXT),
    bundle: { product: r.product, version: r.version, sha256: r.bundleSha256 },
    result: r.result === 'ok' ? 'ok' : 'failed',
    errorCode: r.result === 'ok' ? null : (r.errorCode ?? 'aborted'),
    durationMs: Math.max(0, Math.round(r.durationMs)),
    mode: 'bench',
  };
}
