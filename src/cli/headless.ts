/**
 * What `webflash flash` and `webflash bench` share: the platform they run on (injectable, so
 * tests can hand in a fake WebUSB), the flash log and rollback state files, the Ctrl-C wiring,
 * the output mode, and the flash-log record of a job.
 */
import { resolve } from 'node:path';
import { AuditLog, type FlashRecord } from '../audit/index.ts';
import type { AuditMode } from '../audit/entry.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';
import { realClock, type Clock } from '../core/clock.ts';
import type { JobResult } from '../job/types.ts';
import {
  FileAuditStore,
  FileRollbackStore,
  rollbackPathFor,
} from '../platform/node/file-stores.ts';
import { listSerialPorts, type PortLister } from '../platform/node/ports.ts';
import { nodeUsb } from '../platform/node/usb.ts';
import type { CliIo } from './io.ts';
import type { OutputMode } from './job-output.ts';

/** The outside world of the headless commands. */
export interface HeadlessPlatform {
  clock: Clock;
  /** The serial ports the OS lists. */
  listPorts: PortLister;
  /** Where sysfs is mounted (Linux): a port's USB ids are read there instead of listing every port. */
  sysfs?: string | undefined;
  /** `navigator.usb` for Node (the `usb` package), or a fake in tests. */
  usb: () => Promise<USB>;
  now: () => Date;
}

export const nodePlatform: HeadlessPlatform = {
  clock: realClock,
  listPorts: listSerialPorts,
  sysfs: process.platform === 'linux' ? '/sys' : undefined,
  usb: nodeUsb,
  now: () => new Date(),
};

/** Where the flash log goes without `--log` (the working directory). */
const DEFAULT_LOG = 'webflash-log.jsonl';

/** The flash log and rollback state of a run; the log is checked before anything is flashed. */
export async function openStores(
  io: CliIo,
  logOption: string | undefined,
  now: () => Date,
): Promise<{ logPath: string; audit: AuditLog; rollbackStore: FileRollbackStore }> {
  const logPath = resolve(io.cwd, logOption ?? DEFAULT_LOG);
  const store = new FileAuditStore(logPath);
  await store.all(); // refuses a damaged log before any board is touched
  return {
    logPath,
    audit: new AuditLog({ store, now }),
    rollbackStore: new FileRollbackStore(rollbackPathFor(logPath)),
  };
}

/** The output form: `--json`, else a live bar on a terminal, else plain lines. */
export function outputMode(io: CliIo, json: boolean | undefined): OutputMode {
  if (json) return 'json';
  return io.isTTY ? 'tty' : 'plain';
}

/**
 * Aborts `controller` on the first Ctrl-C (SIGINT) or SIGTERM, saying so once.
 * @returns `off`, to call when the command ends.
 */
export function cancelOnInterrupt(
  io: CliIo,
  controller: AbortController,
  say: (text: string) => void,
): () => void {
  return (
    io.onInterrupt?.(() => {
      if (controller.signal.aborted) return;
      say('Cancelling: stopping at the next safe point…');
      controller.abort();
    }) ?? (() => undefined)
  );
}

/** The flash-log record of one job. */
export function flashRecordOf(
  result: JobResult,
  facts: { bundle: VerifiedBundle; port: string; note: string; mode: AuditMode },
): FlashRecord {
  const identity = result.identity;
  const m = facts.bundle.manifest;
  const record: FlashRecord = {
    note: facts.note,
    port: facts.port.slice(0, 200),
    deviceId: (identity?.uniqueId ?? '').slice(0, 200),
    chip: (identity?.chip ?? '').slice(0, 200),
    bundle: { product: m.product, version: m.version, sha256: facts.bundle.bundleSha256 },
    result: result.ok ? 'ok' : 'failed',
    errorCode: result.ok ? null : result.error.code,
    durationMs: Math.max(0, Math.round(result.durationMs)),
    mode: facts.mode,
  };
  if (result.ok && result.delta) record.delta = { ...result.delta };
  return record;
}

/** The options `flash` and `bench` share: the release, the board and the flash log. */
export const JOB_OPTIONS = {
  root: { type: 'string' },
  board: { type: 'string' },
  protocol: { type: 'string' },
  baud: { type: 'string' },
  log: { type: 'string' },
  'allow-downgrade': { type: 'string' },
  note: { type: 'string' },
  json: { type: 'boolean' },
  'no-delta': { type: 'boolean' },
} as const;
