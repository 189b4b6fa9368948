/**
 * Which failures are worth another attempt, how long to wait before it, and whether the board
 * that answers after a reconnect is the one the job started with.
 *
 * Retryable: the link lost step with the bootloader but the board is still there and still in
 * its bootloader — a reply that never came (TimeoutError), bytes that did not form a frame
 * (FramingError), a reply that made no sense (ProtocolError 'protocol.bad-reply'). After
 * `session.resync()` the write continues from the bytes the board confirmed.
 *
 * Fatal: retrying cannot help or would be wrong — the device is gone, the chip is the wrong one
 * or read-protected, the person cancelled, the bundle was refused, the arguments were bad.
 *
 * A driver may override the rule for one error by setting a boolean `retryable` property on it
 * (e.g. a bootloader status that means "checksum of the last block was wrong, send it again").
 */
import {
  AbortError,
  FramingError,
  ProtocolError,
  TimeoutError,
  type WebflashError,
} from '../core/errors.ts';
import type { DeviceIdentity } from '../protocols/driver.ts';

/** True when another attempt (after resync) may succeed. */
export function isRetryable(err: WebflashError): boolean {
  const flag = (err as { retryable?: unknown }).retryable;
  if (typeof flag === 'boolean') return flag && !(err instanceof AbortError);
  if (err instanceof TimeoutError || err.code === 'timeout') return true;
  if (err instanceof FramingError || err.code.startsWith('framing.')) return true;
  return err.code === 'protocol.bad-reply';
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * Pause before attempt `attempt` (2 for the first retry): `baseMs`, then doubling, at most
 * `maxMs`. No jitter: one browser talks to one board, there is no crowd to spread out, and tests
 * stay exact.
 * @example backoffDelay(3, { baseMs: 250, maxMs: 2000 }) // 500
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const n = Math.max(0, attempt - 2);
  return Math.min(options.maxMs, options.baseMs * 2 ** n);
}

/**
 * After a reconnect: the board that answered must be the one the job started with (same chip,
 * same unique id when both are known).
 * @throws {ProtocolError} 'protocol.wrong-chip' when another board answered.
 */
export function requireSameBoard(first: DeviceIdentity, now: DeviceIdentity): void {
  if (
    first.chip !== now.chip ||
    (first.uniqueId && now.uniqueId && first.uniqueId !== now.uniqueId)
  ) {
    throw new ProtocolError(
      'protocol.wrong-chip',
      `A different board answered after reconnecting (${now.name}${now.uniqueId ? `, ${now.uniqueId}` : ''}).`,
      { hints: ['Connect only the board you want to flash, then press Flash again.'] },
    );
  }
}
