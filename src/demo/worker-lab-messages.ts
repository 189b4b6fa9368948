/**
 * The bench lab's own messages between the page (worker-bench-lab.ts) and the worker that runs
 * its boards (bench-worker.ts), beside the boards' traffic (src/sim/web/board-messages.ts) on
 * the same channel.
 */
import type { FlashCounters } from '../sim/flash-model.ts';
import type { AddBoardOptions, LabBoard } from './bench-lab.ts';

/** What the page asks of the worker's lab. */
export type LabRequest =
  | { kind: 'lab-add'; options: AddBoardOptions }
  | { kind: 'lab-plug'; id: string }
  | { kind: 'lab-unplug'; id: string }
  | { kind: 'lab-unplug-after'; id: string; bytes: number }
  | { kind: 'lab-counters'; call: number; id: string };

/** What the worker's lab tells the page. */
export type LabEvent =
  | { kind: 'lab-boards'; boards: readonly LabBoard[] }
  | { kind: 'lab-counters'; call: number; counters: FlashCounters | undefined }
  | { kind: 'lab-error'; message: string };
