/** Dates on the command line: "2027-01-01" or "2027-01-01T12:00:00Z", always UTC. */
import { CliUsageError } from './io.ts';

/**
 * Normalises a date option to RFC 3339 UTC with whole seconds.
 * @throws {CliUsageError} for anything else.
 */
export function parseDateOption(text: string, flag: string): string {
  const full = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(full) ? Date.parse(full) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().replace('.000Z', 'Z') !== full) {
    throw new CliUsageError(`${flag} must be a date like 2027-01-01 or 2027-01-01T12:00:00Z`);
  }
  return full;
}

/** The current time as RFC 3339 UTC with whole seconds. */
export function nowText(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
