/** Small formatters for the views: sizes, rates, durations, addresses, phase names. */
import type { JobPhase } from '../../job/types.ts';

export { formatBytes, hex32 } from '../../core/bytes.ts';

/** "1.2 MB/s", "87 KB/s" (decimal units, as transfer rates are usually given). */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return '—';
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(0)} KB/s`;
  return `${bytesPerSecond.toFixed(0)} B/s`;
}

/** A duration in milliseconds as "12 s", "2 min 05 s", or "—" while unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** What each phase is called on screen. */
export const PHASE_LABEL: Record<JobPhase, string> = {
  idle: 'Ready',
  connecting: 'Connecting to the bootloader',
  identifying: 'Identifying the board',
  checking: 'Checking the bundle against the board',
  comparing: 'Comparing',
  erasing: 'Erasing',
  writing: 'Writing',
  verifying: 'Verifying',
  resetting: 'Restarting the board',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** "2026-05-31 12:00 UTC" from an RFC 3339 UTC timestamp. */
export function formatUtc(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
