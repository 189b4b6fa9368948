/**
 * What a board last received, read from the flash log (docs/flash-log.md): the release of the
 * newest successful flash of a verified bundle to the board with that unique id (MAC address,
 * STM32 UID, USB serial number). The technician console shows it, and installing another
 * product on that board needs an override with a reason (src/bundle/release-policy.ts).
 */
import type { AuditEntry } from './entry.ts';

/** The release a board last received, with when. */
export interface BoardRelease {
  readonly product: string;
  readonly version: string;
  /** When it was written (the entry's time). */
  readonly time: string;
}

/** Product of an unverified image in the flash log (src/technician/state/slices/job.ts): not a product. */
const UNVERIFIED = 'unverified image';

/**
 * @returns the newest successful verified release for `deviceId`, or undefined (no id, none).
 * @example lastRelease(await log.entries(), '24:6f:28:01:02:03')?.product // 'acme-sensor'
 */
export function lastRelease(
  entries: readonly AuditEntry[],
  deviceId: string | undefined,
): BoardRelease | undefined {
  if (!deviceId) return undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.kind !== 'flash' || e.deviceId !== deviceId || e.result !== 'ok') continue;
    if (e.bundle.product === UNVERIFIED) continue;
    return { product: e.bundle.product, version: e.bundle.version, time: e.time };
  }
  return undefined;
}
