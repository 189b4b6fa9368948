/** Small display helpers for the bench's tiles. */
import type { JobPhase } from '../../job/types.ts';
import type { TileState } from '../state/types.ts';

/** "12.3 s", "1 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

const PHASE_WORDS: Record<JobPhase, string> = {
  idle: 'Waiting',
  connecting: 'Connecting',
  identifying: 'Identifying',
  checking: 'Checking the release',
  comparing: 'Comparing with the board',
  erasing: 'Erasing',
  writing: 'Writing',
  verifying: 'Verifying',
  resetting: 'Restarting',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const STATE_WORDS: Record<TileState, string> = {
  waiting: 'Waiting',
  running: 'Flashing',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  skipped: 'Already provisioned',
};

/** What a tile's status line says. */
export function statusText(state: TileState, phase: JobPhase): string {
  return state === 'running' ? PHASE_WORDS[phase] : STATE_WORDS[state];
}

/** Saves `text` as a download named `name`. */
export function download(file: { name: string; mime: string; text: string }): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
