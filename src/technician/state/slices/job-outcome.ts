/**
 * How a technician's job ended, as plain data for the views and the flash log: the outcome of a
 * job result (with this console's own way out of a read-protected STM32) and its log record.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { FlashRecord } from '../../../audit/entry.ts';
import type { DowngradeOverride } from '../../../bundle/rollback.ts';
import { toHex } from '../../../core/bytes.ts';
import type { JobPhase, JobResult, RegionReport } from '../../../job/types.ts';
import type { ProtocolId } from '../../../protocols/driver.ts';
import { toErrorView } from '../../../app/error-view.ts';
import type { ErrorView } from '../../../app/types.ts';
import type { AppState } from './slice.ts';

/** The outcome of the last job, as plain data. */
export type JobOutcome =
  | {
      ok: true;
      durationMs: number;
      regions: readonly RegionReport[];
      /** Something a person still has to do (e.g. press RESET). */
      notice: string | undefined;
    }
  | {
      ok: false;
      cancelled: boolean;
      error: ErrorView;
      /** The phase the job stopped in. */
      phase: JobPhase;
      /** How to get the board back into a good state. */
      recovery: string;
      flashTouched: boolean;
      durationMs: number;
    };

/**
 * The recovery for a read-protected STM32, where this app offers the way out: nothing was
 * written (the bootloader refuses every erase and write under RDP level 1, AN3155 §3.12), and
 * readout unprotect is an explicit, chip-erasing option.
 */
export const READ_PROTECTED_RECOVERY =
  'Nothing was written: the bootloader refused to erase or write. Readout unprotect erases the whole chip; enable it under Advanced options to continue.';

export function toOutcome(result: JobResult, protocol: ProtocolId | undefined): JobOutcome {
  if (
    !result.ok &&
    !result.cancelled &&
    protocol === 'stm32-usart' &&
    result.error.code === 'protocol.read-protected'
  ) {
    return {
      ok: false,
      cancelled: false,
      error: toErrorView(result.error),
      phase: result.phase,
      recovery: READ_PROTECTED_RECOVERY,
      flashTouched: false,
      durationMs: result.durationMs,
    };
  }
  if (result.ok) {
    return {
      ok: true,
      durationMs: result.durationMs,
      regions: result.regions,
      notice: result.notice,
    };
  }
  return {
    ok: false,
    cancelled: result.cancelled,
    error: toErrorView(result.error),
    phase: result.phase,
    recovery: result.recovery,
    flashTouched: result.flashTouched,
    durationMs: result.durationMs,
  };
}

/** The flash-log record of a job that ended with `outcome`. */
export function flashRecordOf(
  state: AppState,
  outcome: JobOutcome,
  override: DowngradeOverride | undefined,
): FlashRecord {
  const device = state.device;
  const verified = state.bundle.status === 'verified' ? state.bundle.verified : undefined;
  const raw = state.bundle.raw;
  const bundle = verified
    ? {
        product: verified.manifest.product,
        version: verified.manifest.version,
        sha256: verified.bundleSha256,
      }
    : {
        product: 'unverified image',
        version: (raw?.name ?? '').slice(0, 200),
        sha256: toHex(sha256(raw?.data ?? new Uint8Array(0))),
      };
  const note = [
    override ? `Downgrade override (${override.reason}): ${override.detail}` : '',
    state.settings.operatorNote.trim(),
  ]
    .filter(Boolean)
    .join(' — ')
    .slice(0, 2000);
  const label = state.transport === 'usb' ? state.usbDevice?.label : state.port?.label;
  return {
    note,
    port: (label ?? '').slice(0, 200),
    deviceId: (device?.uniqueId ?? '').slice(0, 200),
    chip: (device?.chip ?? '').slice(0, 200),
    bundle,
    result: outcome.ok ? 'ok' : 'failed',
    errorCode: outcome.ok ? null : outcome.error.code,
    durationMs: Math.max(0, Math.round(outcome.durationMs)),
    mode: 'technician',
  };
}
