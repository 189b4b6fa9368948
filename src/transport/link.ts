/**
 * The boundary between the transports and everything above them, for serial-like links.
 * Pure: no DOM types. `webserial.ts` implements it over the W3C Web Serial API; the simulators
 * implement it in memory; the Node simulator server bridges it to TCP and ptys.
 */
import type { ByteQueue } from '../core/byte-queue.ts';
import type { TransportError } from '../core/errors.ts';

/** Modem control lines, as in the Web Serial `SerialOutputSignals` dictionary. */
export interface SerialSignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

/** What is known about the port without talking to the device. */
export interface PortInfo {
  /** Human-readable label for logs and the UI ("USB serial 303a:1001", "Virtual ESP32-S3"). */
  label: string;
  usbVendorId?: number;
  usbProductId?: number;
}

export type Parity = 'none' | 'even' | 'odd';

export interface LinkOptions {
  baudRate: number;
  parity?: Parity;
}

/** An open serial link: bytes in, bytes out, control lines, speed. */
export interface SerialLink {
  readonly info: PortInfo;
  /** The current line speed in bits per second. */
  readonly baudRate: number;
  /** Received bytes, waiting to be read. Ends with a TransportError when the device is lost. */
  readonly input: ByteQueue;
  /** Sends bytes; resolves when the transport has accepted them. */
  write(data: Uint8Array): Promise<void>;
  setSignals(signals: SerialSignals): Promise<void>;
  /**
   * False once the link has found that it has no modem lines (a pty, a TCP bridge): signal
   * changes do nothing there. Absent or true: the lines work, or nothing says otherwise.
   */
  readonly hasModemLines?: boolean;
  /** Changes the line speed (Web Serial: close and reopen the port). Buffered input is dropped. */
  setBaudRate(baudRate: number): Promise<void>;
  /** Closes the link; idempotent. */
  close(): Promise<void>;
  readonly isOpen: boolean;
  /** Called once if the device disappears while open. Returns an unsubscribe function. */
  onLost(listener: (error: TransportError) => void): () => void;
}

/**
 * A port that can be (re)opened: what the engine holds on to across a reset that makes a
 * USB-native board disappear and come back.
 */
export interface SerialPortHandle {
  readonly info: PortInfo;
  open(options: LinkOptions): Promise<SerialLink>;
}

/** How `PortWatcher.waitForReturn` waits. */
export interface WaitForReturnOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /**
   * Which new port counts, when the device comes back under another USB identity (an Arduino
   * Leonardo's bootloader enumerates as 2341:0036, its sketch as 2341:8036). Default: the same
   * vendor and product id as `previous`.
   */
  accept?: (info: PortInfo) => boolean;
}

/** Finds a port again after its device re-enumerated (USB-native boards after a reset). */
export interface PortWatcher {
  /**
   * Resolves with the port once a device with the same USB identity as `previous` (or one
   * `accept` takes) is connected again (Web Serial `connect` event, or already present).
   * Rejects with TimeoutError.
   */
  waitForReturn(
    previous: SerialPortHandle,
    options: WaitForReturnOptions,
  ): Promise<SerialPortHandle>;
}
