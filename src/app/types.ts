/**
 * The store's vocabulary: what it needs from the outside world (`AppServices`, injected so the
 * store runs in Node tests with fakes and in the browser with Web Serial and workers) and the
 * plain-data views of errors, ports and bundles it keeps.
 */
import type { AuditLog } from '../audit/store.ts';
import type { Clock } from '../core/clock.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { BundleReason } from '../bundle/errors.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle, VerifyProgress } from '../bundle/verify.ts';
import type { Connector } from '../job/types.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { SerialPortHandle } from '../transport/link.ts';
import type { UsbDeviceFilter, UsbDeviceHandle } from '../transport/usb.ts';

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
  /**
   * The protocol the port suggests when the bundle offers several (a virtual board's type, or
   * a USB vendor id that belongs to one chip maker). Used only with the "Auto" protocol choice.
   */
  protocolHint?: SerialProtocolId;
  /**
   * The bootloader's line speed the port's USB ids tell (an Arduino board's), for protocols
   * that listen at one fixed rate (src/protocols/registry.ts `BaudPolicy.fixed`).
   */
  bootloaderBaud?: number;
}

/** How the board is reached: a serial port (Web Serial) or a USB device (WebUSB). */
export type DeviceTransport = 'serial' | 'usb';

/** Protocols spoken over a serial port (the protocol registry's 'serial' entries). */
export type SerialProtocolId = ProtocolId;
/** Protocols spoken over a USB device's control pipe (the registry's 'usb' entries). */
export type UsbProtocolId = ProtocolId;

/** The technician's protocol choice for a serial port: from the bundle, or forced. */
export type SerialProtocolChoice = 'auto' | SerialProtocolId;

/** What the user asked for when choosing a USB device. */
export interface UsbDeviceRequest {
  /** The browser's chooser lists only devices matching one of these (WebUSB §5.1). */
  filters: readonly UsbDeviceFilter[];
  /** Demo mode: the virtual USB device to connect ("stm32f405-dfu"…). Ignored for real devices. */
  device?: string;
}

/** A USB device the user picked. */
export interface SelectedUsbDevice {
  handle: UsbDeviceHandle;
  /** "STM32  BOOTLOADER (0483:df11)", "Virtual STM32F405 in DFU mode (DfuSe)". */
  label: string;
  /** True for simulated devices (demo mode). */
  virtual: boolean;
}

/**
 * A device that re-enumerated with a USB identity this page has no permission for yet: the
 * browser shows it only after the technician picks it in its chooser (a click is needed).
 */
export interface ReselectRequest {
  /** The identity the device should have now. */
  filters: readonly UsbDeviceFilter[];
  /** What happened, in plain words, for the prompt. */
  reason: string;
}

/** What a connector needs to know about the job it opens a session for. */
export interface ConnectorContext {
  /**
   * Chip id to report for a device that cannot name its chip (DFU 1.1): the chip of the
   * bundle target made for this device's USB ids, when there is exactly one.
   */
  chip?: string | undefined;
  /** DFU alternate setting of the image (DFU 1.1 targets place images by slot). */
  alternateSetting?: number | undefined;
  /** The technician allowed READOUT_UNPROTECT, which erases the whole chip (STM32). */
  allowReadoutUnprotect: boolean;
  /** The bootloader's fixed line speed, when the port tells it (`SelectedPort.bootloaderBaud`). */
  bootloaderBaud?: number | undefined;
  /**
   * Asks the technician to choose the device again in the browser's chooser; resolves with it.
   * Rejects with AbortError when `signal` fires (the job was cancelled, or the device was found
   * without help); the prompt is then withdrawn.
   */
  chooseAgain(request: ReselectRequest, signal: AbortSignal): Promise<UsbDeviceHandle>;
}

/** Opens flash sessions by protocol: serial protocols on ports, DFU protocols on USB devices. */
export interface AppConnectors {
  /** The connector for `protocol` on a serial port, or undefined when this app lacks it. */
  serial(
    protocol: SerialProtocolId,
    context: ConnectorContext,
  ): Connector<SerialPortHandle> | undefined;
  /** The connector for `protocol` on a USB device, or undefined when this app lacks it. */
  usb(protocol: UsbProtocolId, context: ConnectorContext): Connector<UsbDeviceHandle> | undefined;
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
  /**
   * Opens a flash session on a serial port (the ESP driver, with the app's compressor): the
   * connector for 'esp-serial' when `connectors` has none.
   */
  connector: Connector<SerialPortHandle>;
  /** Connectors by protocol (STM32 over serial, DFU and DfuSe over USB). Optional. */
  connectors?: AppConnectors;
  /**
   * Asks the user for a USB device (WebUSB chooser; demo mode: a virtual device). Optional: an
   * app without it offers serial ports only.
   * @throws {TransportError} 'transport.no-port-selected' when the user cancels the chooser,
   *   'transport.unavailable' when the browser has no WebUSB.
   */
  requestUsbDevice?(request: UsbDeviceRequest): Promise<SelectedUsbDevice>;
  /**
   * Finds the chosen USB device again when it was unplugged and plugged back or re-enumerated
   * (a new USBDevice object with the same identity); returns `device` itself otherwise.
   */
  refreshUsbDevice?(device: SelectedUsbDevice): Promise<SelectedUsbDevice>;
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
   * The app's one flash log (docs/flash-log.md): an entry is appended for every job result.
   * IndexedDB in the browser, memory in demo mode and tests. Optional: without it nothing is
   * recorded.
   */
  auditLog?: AuditLog | undefined;
  /**
   * Keeps the bundle at `url` in the offline cache (src/sw/client.ts `keepBundleOffline`).
   * Resolves `kept: false` with a note when there is no service worker (the dev server).
   * Optional: without it the app does not offer offline use.
   */
  keepOffline?(url: string): Promise<{ kept: boolean; note: string }>;
  /**
   * True only in development builds: the settings may then allow writing a raw, unsigned image.
   * Production builds pass false, and the store refuses such images whatever the settings say.
   */
  unverifiedAllowed: boolean;
}
