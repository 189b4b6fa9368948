/** The log console's filter and its export formats (plain text and JSON). */
import type { LogEntry, LogLevel } from '../core/log.ts';

/** Which lines the console shows. */
export interface LogFilter {
  /** Levels shown. */
  levels: Readonly<Record<LogLevel, boolean>>;
  /** Case-insensitive text that the message or source must contain; empty shows all. */
  text: string;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The entries `filter` lets through, in order.
 * @example filterLog(entries, { levels: { debug: false, info: true, warn: true, error: true }, text: 'sync' })
 */
export function filterLog(entries: readonly LogEntry[], filter: LogFilter): LogEntry[] {
  const needle = filter.text.trim().toLowerCase();
  return entries.filter(
    (e) =>
      filter.levels[e.level] &&
      (needle === '' ||
        e.message.toLowerCase().includes(needle) ||
        e.source.toLowerCase().includes(needle)),
  );
}

/** Seconds with millisecond precision, right-aligned: "   12.345". */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(3).padStart(9);
}

/**
 * One line per entry: time in seconds, level, source, message.
 * @example formatLogText([{ time: 1500, level: 'info', source: 'esp', message: 'hi' }])
 *   // "    1.500 INFO  [esp] hi\n"
 */
export function formatLogText(entries: readonly LogEntry[]): string {
  return entries
    .map(
      (e) => `${seconds(e.time)} ${e.level.toUpperCase().padEnd(5)} [${e.source}] ${e.message}\n`,
    )
    .join('');
}

/** The entries as a JSON document, with what was exported and when. */
export function formatLogJson(
  entries: readonly LogEntry[],
  meta: { exportedAt: string; app: string },
): string {
  return `${JSON.stringify({ ...meta, entries }, null, 2)}\n`;
}
