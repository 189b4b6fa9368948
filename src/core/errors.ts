/**
 * One error hierarchy for the whole product. Every error carries a stable `code` that the UI and
 * the CLI switch on (never the message text), a plain-language `message`, and optional recovery
 * `hint`s. The original error is kept as `cause`.
 */

export type ErrorCode =
  // transport
  | 'transport.unavailable'
  | 'transport.no-port-selected'
  | 'transport.port-busy'
  | 'transport.open-failed'
  | 'transport.device-lost'
  | 'transport.io'
  | 'transport.closed'
  | 'transport.driver-missing'
  // framing
  | 'framing.invalid'
  | 'framing.overflow'
  // protocol
  | 'protocol.no-sync'
  | 'protocol.bad-reply'
  | 'protocol.command-failed'
  | 'protocol.unsupported'
  | 'protocol.wrong-chip'
  | 'protocol.read-protected'
  // timing and control
  | 'timeout'
  | 'aborted'
  // verification of what was written
  | 'verify.mismatch'
  // bundle rejection: the reason code is in BundleError.reason
  | 'bundle.rejected'
  // the customer updater refused a bundle address outside its allowed origins
  | 'bundle.origin-refused'
  // the flash plan would write or erase over a flash range the technician asked to keep
  | 'plan.keep-range'
  // the flash plan would write beyond the memory the board reported
  | 'plan.out-of-flash'
  // the flash plan would write over the bootloader's own flash section (AVR boot section)
  | 'plan.bootloader-overlap'
  // usage
  | 'usage.invalid-argument'
  // flash log: another tab or process appended the same entry number first
  | 'audit.conflict';

export interface WebflashErrorOptions {
  cause?: unknown;
  /** Steps a person can take, in order, e.g. "Hold BOOT and press RESET". */
  hints?: readonly string[];
}

/** Base class of every error webflash throws on purpose. */
export class WebflashError extends Error {
  readonly code: ErrorCode;
  readonly hints: readonly string[];

  constructor(code: ErrorCode, message: string, options: WebflashErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hints = options.hints ?? [];
  }
}

/** The port or device misbehaved, vanished or could not be opened. */
export class TransportError extends WebflashError {}

/** Bytes on the wire did not form a valid frame. */
export class FramingError extends WebflashError {}

/** A bootloader replied with an error status, or with something we did not expect. */
export class ProtocolError extends WebflashError {
  /** The command (opcode) that failed, when there was one. */
  readonly opcode: number | undefined;
  /** The bootloader's own status/error byte(s), when it sent any. */
  readonly status: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: WebflashErrorOptions & { opcode?: number; status?: number } = {},
  ) {
    super(code, message, options);
    this.opcode = options.opcode;
    this.status = options.status;
  }
}

/** A wait ran out. Thrown by every read or wait that has a deadline. */
export class TimeoutError extends WebflashError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options: WebflashErrorOptions = {}) {
    super('timeout', `${what}: no answer within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends WebflashError {
  constructor(message = 'Cancelled', options: WebflashErrorOptions = {}) {
    super('aborted', message, options);
  }
}

/** What was read back from the board differs from what was meant to be written. */
export class VerificationError extends WebflashError {
  constructor(message: string, options: WebflashErrorOptions = {}) {
    super('verify.mismatch', message, options);
  }
}

/** Bad arguments to a public function. */
export class UsageError extends WebflashError {
  constructor(message: string, options: WebflashErrorOptions = {}) {
    super('usage.invalid-argument', message, options);
  }
}

/** Throws AbortError if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof WebflashError ? signal.reason : new AbortError();
  }
}

/** Turns anything thrown into a WebflashError (keeping it as cause when it is not one). */
export function asWebflashError(err: unknown, fallback: ErrorCode = 'transport.io'): WebflashError {
  if (err instanceof WebflashError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WebflashError(fallback, message, { cause: err });
}
