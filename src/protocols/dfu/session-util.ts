/** Helpers shared by the DFU and DfuSe sessions. Pure. */
import { VerificationError, asWebflashError, type WebflashError } from '../../core/errors.ts';
import type { FlashRegion, ResumableError, WriteOptions } from '../driver.ts';

/** Marks `err` with how many bytes are known good (the engine resumes from there). */
export function withConfirmed(
  err: unknown,
  confirmedBytes: number,
): WebflashError & ResumableError {
  const e = asWebflashError(err, 'transport.io');
  return Object.assign(e, { confirmedBytes });
}

/**
 * Adds `hint` to the hints of `err` (once), keeping its class, code and cause.
 * @example throw withHint(err, 'Press Flash again.');
 */
export function withHint(err: unknown, hint: string): WebflashError {
  const e = asWebflashError(err, 'transport.io');
  if (e.hints.includes(hint)) return e;
  return Object.assign(e, { hints: [...e.hints, hint] });
}

/**
 * The progress option for reading `region` back: bytes read so far, reported as the verify
 * phase of that region (nothing when the caller wants no progress).
 */
export function readBackProgress(
  region: FlashRegion,
  onProgress: WriteOptions['onProgress'],
): { onProgress?: (p: { bytesDone: number }) => void } {
  if (!onProgress) return {};
  return {
    onProgress: (p) =>
      onProgress({
        phase: 'verify',
        region: region.name,
        bytesDone: p.bytesDone,
        bytesTotal: region.data.length,
      }),
  };
}

/**
 * Compares read-back bytes with the image.
 * @throws {VerificationError} naming the first differing address.
 */
export function compareReadBack(
  name: string,
  address: number,
  expected: Uint8Array,
  actual: Uint8Array,
): void {
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      throw new VerificationError(
        `${name}: the board holds 0x${actual[i]!.toString(16).padStart(2, '0')} at 0x${(address + i).toString(16)} ` +
          `where the image has 0x${expected[i]!.toString(16).padStart(2, '0')}.`,
        { hints: ['Flash the image again.'] },
      );
    }
  }
  if (actual.length !== expected.length) {
    throw new VerificationError(
      `${name}: read back ${actual.length} bytes, expected ${expected.length}.`,
    );
  }
}

/** bcdDevice 0x2200 → "2.2.0". */
export function bcdVersion(bcd: number): string {
  return `${(bcd >> 8).toString(16)}.${((bcd >> 4) & 0xf).toString(16)}.${(bcd & 0xf).toString(16)}`;
}
