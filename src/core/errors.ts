/**
 * One error hierarchy for the whole product. Every error carries a stable `code` that the UI and
 * the CLI switch on (never the message text), a plain-language `message`, and optional recovery
 * `hint`s. The original error is kept as `cause`.
 */

/**
 * Every stable error code, as the keys of one interface. Core lists only the codes of the error
 * classes it defines; each layer adds its own by declaration merging in its `errors.ts`
 * (src/transport/errors.ts, src/protocols/errors.ts, src/bundle/errors.ts, src/job/errors.ts…),
 * so a new layer or feature never edits this file. Every tsconfig and knip take each folder's
 * `errors.ts` in, so every program sees all the codes:
 *
 * @example
 * declare module '../core/errors.ts' {
 *   interface ErrorCodes {
 *     'plan.out-of-flash': true;
 *   }
 * }
 * @public (extended by declaration merging, which knip does not follow)
 */
export interface ErrorCodes {
  // timing and control (TimeoutError, AbortError)
  timeout: true;
  aborted: true;
  // verification of what was written (VerificationError)
  'verify.mismatch': true;
  // bytes that do not parse (FramingError): thrown by the file formats, USB descriptors, SLIP
  // and the protocols' reply parsers alike
  'framing.invalid': true;
  'framing.overflow': true;
  // usage (UsageError)
  'usage.invalid-argument': true;
}

/** A stable error code: core's and those the layers above add to `ErrorCodes`. */
export type ErrorCode = keyof ErrorCodes;

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

/**
 * Turns anything thrown into a WebflashError (keeping it as cause when it is not one), with the
 * code `fallback` (the callers above the transport layer pass 'transport.io').
 */
export function asWebflashError(err: unknown, fallback: ErrorCode): WebflashError {
  if (err instanceof WebflashError) return err;
  return new WebflashError(fallback, errorMessage(err), { cause: err });
}

/** The message of anything thrown: an Error's `message`, else the value as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
