/**
 * The store's vocabulary: what it needs from the outside world (`AppServices`, injected so the
 * store runs in Node tests with fakes and in the browser with Web Serial and workers) and the
 * plain-data views of errors, ports and bundles it keeps.
 */
import type { Clock } from '../core/clock.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { BundleReason } from '../bundle/errors.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle, VerifyProgress } from '../bundle/verify.ts';
import type { Connector } from '../job/types.ts';
import type { SerialPortHandle } from '../transport/link.ts';

/** An error as the UI shows it: chosen by `code` (and `reason`), never by parsing `message`. */
export interface ErrorView {
  code: ErrorCode;
  /** The error class name ("TransportError", "BundleError"…). */
  kind: string;
  message: string;
  /** Steps a person can take, in order, from the error itself. */
  hints: readonly string[];
  /** BundleError only: why the bundle was refused. */
  reason?: BundleReason;
}

/** What the user asked for when choosing a port. */
export interface PortRequest {
  /** Demo mode: the virtual board type to connect ("esp32s3"…). Ignored for real ports. */
  board?: string;
}

/** A port the user picked. */
export interface SelectedPort {
  handle: SerialPortHandle;
  /** "USB serial 303a:1001", "Virtual ESP32-S3". */
  label: string;
  /** True for simulated boards (demo mode). */
  virtual: boolean;
}

/** Where a bundle comes from. */
export type BundleInput =
  { kind: 'url'; url: string; label?: string } | { kind: 'bytes'; name: string; bytes: Uint8Array };

/** A raw image and where it goes (development builds only). */
export interface RawImage {
  name: string;
  address: number;
  data: Uint8Array;
}

/** Everything the store needs from its surroundings. */
export interface AppServices {
  /** The clock jobs and log lines run on (`realClock` in the app). */
  clock: Clock;
  /** The current wall-clock time, for bundle expiry checks. */
  now(): Date;
  /**
   * Asks the user for a port.
   * @throws {TransportError} 'transport.no-port-selected' when the user cancels the chooser,
   *   'transport.unavailable' when the browser has no Web Serial.
   */
  requestPort(request: PortRequest): Promise<SelectedPort>;
  /**
   * Finds the chosen port again when its device was unplugged and plugged back, or
   * re-enumerated after a reset (a new port object); returns `port` itself otherwise. Called
   * before every flash. Optional.
   */
  refreshPort?(port: SelectedPort): Promise<SelectedPort>;
  /** Opens a flash session on a serial port (the ESP driver, with the app's compressor). */
  connector: Connector<SerialPortHandle>;
  /**
   * Verifies a bundle (in the verify worker in the app).
   * @throws {BundleError} with the reason of the first failed check.
   */
  verifyBundle(options: {
    source: { url: string } | Uint8Array;
    signal: AbortSignal;
    onProgress: (p: VerifyProgress) => void;
  }): Promise<VerifiedBundle>;
  /** Where installed releases are remembered (anti-rollback); optional. */
  rollbackStore?: RollbackStore | undefined;
  /**
   * True only in development builds: the settings may then allow writing a raw, unsigned image.
   * Production builds pass false, and the store refuses such images whatever the settings say.
   */
  unverifiedAllowed: boolean;
}
