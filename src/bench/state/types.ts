/**
 * The bench store's vocabulary (docs/bench-guide.md): what it needs from the outside world
 * (`BenchServices`, injected so the store runs in Node tests with simulated boards on a
 * VirtualClock and in the browser with Web Serial, WebUSB, workers and IndexedDB), and the plain
 * data it keeps about every board on the bench.
 */
import type { AuditEntry, FlashRecord } from '../../audit/entry.ts';
import type { RollbackStore } from '../../bundle/rollback-store.ts';
import type { Clock } from '../../core/clock.ts';
import type { JobPhase, JobSettings, ProgressEvent } from '../../job/types.ts';
import type { Connector } from '../../job/types.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import type { UsbDeviceFilter, UsbDeviceHandle } from '../../transport/usb.ts';
import type { AppServices, ErrorView, UsbProtocolId } from '../../app/types.ts';

/** How a board is reached: a Web Serial port or a WebUSB device. */
export type BenchTransport = 'serial' | 'usb';

interface BenchPortBase {
  /**
   * Stable id of this port or device object ("port-1", "usb-1"…). A board that re-enumerates,
   * or is unplugged and plugged back, appears as a new port with a new id.
   */
  id: string;
  /** "USB serial 303a:1001", "STM32  BOOTLOADER (0483:df11)", "Virtual … #2". */
  label: string;
  usbVendorId?: number | undefined;
  usbProductId?: number | undefined;
  /**
   * The USB serial number string (iSerialNumber, USB 2.0 §9.6.1) of a WebUSB device, which the
   * browser reads when the device enumerates, before it is opened. Web Serial exposes none.
   */
  usbSerialNumber?: string | undefined;
}

/** One serial port the page may use without asking again (Web Serial `getPorts()`). */
export interface BenchSerialPort extends BenchPortBase {
  /** Absent on ports made before USB boards existed: serial. */
  transport?: 'serial';
  handle: SerialPortHandle;
}

/** One USB device the page may use without asking again (WebUSB `getDevices()`). */
export interface BenchUsbPort extends BenchPortBase {
  transport: 'usb';
  handle: UsbDeviceHandle;
}

/** A board's way in: a granted serial port or a granted USB device. */
export type BenchPort = BenchSerialPort | BenchUsbPort;

/** A granted port appeared (Web Serial / WebUSB `connect` event) or went away (`disconnect`). */
export interface PortChange {
  type: 'connect' | 'disconnect';
  port: BenchPort;
}

/** What the chooser offers when one more port or device is granted. */
export interface GrantOptions {
  /** WebUSB chooser filters (WebUSB §5.1 `USBDeviceFilter`); ignored by serial sources. */
  usbFilters?: readonly UsbDeviceFilter[] | undefined;
}

/** The granted ports (or USB devices) and their connect/disconnect events. */
export interface BenchPortSource {
  /** Ports connected now that the page may use. */
  list(): Promise<BenchPort[]>;
  /** Calls `listener` for every connect and disconnect of a granted port; returns `off`. */
  watch(listener: (change: PortChange) => void): () => void;
  /**
   * Opens the browser's chooser to grant one more port (a user gesture is needed).
   * @throws {TransportError} 'transport.no-port-selected' when the chooser is cancelled.
   */
  request(options?: GrantOptions): Promise<BenchPort>;
}

/** What a USB board's connector is told: the bundle target made for its USB ids. */
export interface BenchUsbContext {
  /** Chip id a DFU 1.1 device reports (it cannot name its chip itself). */
  chip?: string | undefined;
  /** DFU alternate setting of the image (DFU 1.1 targets place images by slot). */
  alternateSetting?: number | undefined;
}

/** Connectors for USB boards, by protocol; undefined when the bench lacks one. */
export type BenchUsbConnectors = (
  protocol: UsbProtocolId,
  context: BenchUsbContext,
) => Connector<UsbDeviceHandle> | undefined;

/** What a serial board's connector is told: the bootloader's line speed its USB ids tell. */
export interface BenchSerialContext {
  bootloaderBaud?: number | undefined;
}

/** Connectors for serial boards, by protocol; undefined when the bench lacks one. */
export type BenchSerialConnectors = (
  protocol: ProtocolId,
  context: BenchSerialContext,
) => Connector<SerialPortHandle> | undefined;

/** The tamper-evident flash log as the bench uses it: an `AuditLog` (src/audit/store.ts). */
export interface BenchAuditLog {
  /** Appends one flash; resolves with the new entry. */
  append(record: FlashRecord): Promise<AuditEntry>;
  /**
   * The whole chain as an export file (src/audit/export.ts), which `webflash log verify` checks.
   * @throws {UsageError} when the stored chain is damaged.
   */
  export(format: 'jsonl'): Promise<string>;
}

/** Everything the bench store needs from its surroundings. */
export interface BenchServices {
  /** The clock jobs run on (`realClock` in the app). */
  clock: Clock;
  /** Wall-clock time, for report and log timestamps. */
  now(): Date;
  /**
   * Opens a flash session on a serial port with the ESP driver: the connector for 'esp-serial'
   * when `serialConnectors` has none.
   */
  connector: Connector<SerialPortHandle>;
  /** Connectors for every serial protocol (src/protocols/registry.ts). Optional. */
  serialConnectors?: BenchSerialConnectors | undefined;
  verifyBundle: AppServices['verifyBundle'];
  rollbackStore?: RollbackStore | undefined;
  /** The granted serial ports. */
  ports: BenchPortSource;
  /** The granted USB devices (DFU 1.1 and DfuSe boards); absent: serial ports only. */
  usb?: BenchPortSource | undefined;
  /** Opens flash sessions on USB devices; needed with `usb`. */
  usbConnectors?: BenchUsbConnectors | undefined;
  audit: BenchAuditLog;
  /** Job settings for every board (line speed…). */
  jobSettings?: JobSettings | undefined;
  /**
   * How long a board that restarted into its new firmware may stay off the bus and still be
   * recognised as the same board when it comes back (native USB re-enumeration). Default 5 s.
   */
  followWindowMs?: number | undefined;
}

/** Where a board's tile is. */
export type TileState =
  /** Present, waiting for hands-off mode or a Start press. */
  | 'waiting'
  /** A job is running; `phase` says which step. */
  | 'running'
  | 'done'
  | 'failed'
  | 'cancelled'
  /** Identified as a board already provisioned with this release; left alone. */
  | 'skipped';

/** One board on the bench, as its tile shows it. */
export interface Tile {
  /** "board-1"… in order of appearance. */
  id: string;
  /** The port the board is on now (changes when the board re-enumerates). */
  portId: string;
  portLabel: string;
  /** Serial port or USB device. */
  transport: BenchTransport;
  /** USB identity of the port, for following a re-enumerating board. */
  usbVendorId: number | undefined;
  usbProductId: number | undefined;
  /** USB serial number string of a USB device, when it has one. */
  usbSerialNumber: string | undefined;
  /** Bootloader protocol of the running or last job ("esp-serial", "dfuse"…). */
  protocol: ProtocolId | undefined;
  /** True while the board is on the bus. */
  connected: boolean;
  state: TileState;
  /** Engine phase of the running or last job. */
  phase: JobPhase;
  progress: ProgressEvent | undefined;
  /** Chip id once identified ("esp32s3"). */
  chip: string | undefined;
  /** Human chip name ("ESP32-S3 (revision v0.2)"). */
  chipName: string | undefined;
  /**
   * MAC address or other unique id, once identified; a USB device's serial number string from
   * the moment it is plugged in.
   */
  uniqueId: string | undefined;
  /** Milliseconds the last job took. */
  durationMs: number | undefined;
  error: ErrorView | undefined;
  /** What to do next after a failure. */
  recovery: string | undefined;
  /** A line for the operator ("Restarted into the new firmware."). */
  notice: string | undefined;
  /** Flash attempts of this board in this session. */
  attempts: number;
  /** Times the board was followed to a new port after it restarted. */
  followed: number;
  /** Milliseconds (services clock) the tile was created, for ordering. */
  createdAt: number;
}

export type { BenchBundleInfo, BenchRecord } from '../../audit/bench-report.ts';
