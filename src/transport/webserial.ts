/**
 * SerialLink over the W3C Web Serial API (standard members only). The read loop follows the
 * pattern of Google's serial-terminal: an outer `while (port.readable)` that takes a new reader
 * after a recoverable error, `releaseLock()` in `finally`; a fatal error or the `disconnect`
 * event ends the input with TransportError 'transport.device-lost'. Changing the speed closes
 * and reopens the port, as Web Serial has no other way.
 */
import { ByteQueue } from '../core/byte-queue.ts';
import type { Clock } from '../core/clock.ts';
import { AbortError, TimeoutError, TransportError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { silentLogger } from '../core/log.ts';
import type {
  LinkOptions,
  PortInfo,
  PortWatcher,
  SerialLink,
  SerialPortHandle,
  SerialSignals,
  WaitForReturnOptions,
} from './link.ts';
import { isRecoverableReadError, mapSerialError, serialUnavailable } from './webserial-errors.ts';

export { mapSerialError } from './webserial-errors.ts';

/** Receive buffer asked of the browser (Web Serial default is 255; bigger suits 921600 baud). */
const BUFFER_SIZE = 64 * 1024;

function portInfo(port: SerialPort): PortInfo {
  const info = port.getInfo();
  const ids =
    info.usbVendorId !== undefined && info.usbProductId !== undefined
      ? `USB serial ${hex4(info.usbVendorId)}:${hex4(info.usbProductId)}`
      : 'Serial port';
  const out: PortInfo = { label: ids };
  if (info.usbVendorId !== undefined) out.usbVendorId = info.usbVendorId;
  if (info.usbProductId !== undefined) out.usbProductId = info.usbProductId;
  return out;
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export interface WebSerialOptions {
  clock: Clock;
  logger?: Logger;
}

/** A Web Serial port that can be (re)opened. */
export class WebSerialPortHandle implements SerialPortHandle {
  constructor(
    readonly port: SerialPort,
    private readonly options: WebSerialOptions,
  ) {}

  get info(): PortInfo {
    return portInfo(this.port);
  }

  /**
   * Opens the port and starts reading.
   * @throws {TransportError} 'transport.port-busy' (already open), 'transport.open-failed'.
   */
  async open(options: LinkOptions): Promise<SerialLink> {
    const link = new WebSerialLink(this.port, options, this.options);
    await link.start();
    return link;
  }
}

/** An open Web Serial port. */
class WebSerialLink implements SerialLink {
  readonly input: ByteQueue;
  readonly info: PortInfo;
  private rate: number;
  private open = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private loop: Promise<void> | undefined;
  /** True while the port is closed on purpose (close, speed change): not a lost device. */
  private quiet = false;
  private lostListeners: ((e: TransportError) => void)[] = [];
  private readonly logger: Logger;
  private readonly onDisconnect = (): void =>
    this.lose(mapSerialError({ name: 'NetworkError' }, 'read'));

  constructor(
    private readonly port: SerialPort,
    private readonly linkOptions: LinkOptions,
    options: WebSerialOptions,
  ) {
    this.input = new ByteQueue(options.clock);
    this.info = portInfo(port);
    this.rate = linkOptions.baudRate;
    this.logger = (options.logger ?? silentLogger).child('serial');
  }

  get baudRate(): number {
    return this.rate;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Opens the port and starts the read loop. */
  async start(): Promise<void> {
    await this.openPort(this.rate);
    this.open = true;
    this.port.addEventListener('disconnect', this.onDisconnect);
  }

  private async openPort(baudRate: number): Promise<void> {
    try {
      await this.port.open({
        baudRate,
        parity: this.linkOptions.parity ?? 'none',
        bufferSize: BUFFER_SIZE,
      });
    } catch (err) {
      throw mapSerialError(err, 'open');
    }
    this.loop = this.readLoop();
  }

  private async readLoop(): Promise<void> {
    while (this.port.readable && !this.quiet) {
      const reader = this.port.readable.getReader();
      this.reader = reader;
      let ended = false;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            ended = true;
            break;
          }
          if (value && value.length > 0) this.input.push(value);
        }
      } catch (err) {
        if (isRecoverableReadError(err)) {
          this.logger.warn(`read error ${(err as Error).name}; some bytes were lost`);
        } else if (!this.quiet) {
          this.lose(mapSerialError(err, 'read'));
          return;
        }
      } finally {
        reader.releaseLock();
        this.reader = undefined;
      }
      // A stream that ends without our cancel means the port went away.
      if (this.quiet || ended) break;
    }
    // The stream is gone without us closing it: the device went away.
    if (!this.quiet && this.open) this.lose(mapSerialError({ name: 'NetworkError' }, 'read'));
  }

  private lose(error: TransportError): void {
    if (!this.open) return;
    this.open = false;
    this.quiet = true;
    this.port.removeEventListener('disconnect', this.onDisconnect);
    this.input.end(error);
    const listeners = this.lostListeners;
    this.lostListeners = [];
    for (const l of listeners) l(error);
    // Release what the browser still holds; the port object is dead.
    void this.stopReading().then(() => this.port.close().catch(() => undefined));
  }

  private async stopReading(): Promise<void> {
    const reader = this.reader;
    if (reader) await reader.cancel().catch(() => undefined);
    await this.loop;
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open) throw new TransportError('transport.closed', 'The serial port is closed');
    const writable = this.port.writable;
    if (!writable) throw mapSerialError({ name: 'NetworkError' }, 'write');
    const writer = writable.getWriter();
    try {
      await writer.write(data);
    } catch (err) {
      throw mapSerialError(err, 'write');
    } finally {
      writer.releaseLock();
    }
  }

  async setSignals(signals: SerialSignals): Promise<void> {
    if (!this.open) throw new TransportError('transport.closed', 'The serial port is closed');
    const out: SerialOutputSignals = {};
    if (signals.dataTerminalReady !== undefined) out.dataTerminalReady = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) out.requestToSend = signals.requestToSend;
    if (signals.break !== undefined) out.break = signals.break;
    try {
      await this.port.setSignals(out);
    } catch (err) {
      throw mapSerialError(err, 'signals');
    }
  }

  /** Web Serial cannot change the speed of an open port: cancel the reader, close, reopen. */
  async setBaudRate(baudRate: number): Promise<void> {
    if (!this.open) throw new TransportError('transport.closed', 'The serial port is closed');
    if (baudRate === this.rate) return;
    this.quiet = true;
    try {
      await this.stopReading();
      await this.port.close().catch((err: unknown) => {
        throw mapSerialError(err, 'close');
      });
      this.input.discard();
      this.quiet = false;
      await this.openPort(baudRate);
      this.rate = baudRate;
    } catch (err) {
      this.quiet = false;
      const e = mapSerialError(err, 'open');
      this.lose(e);
      throw e;
    }
  }

  /** Cancels the reader, then closes the port (serial-terminal's disconnect). Idempotent. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.quiet = true;
    this.port.removeEventListener('disconnect', this.onDisconnect);
    await this.stopReading();
    await this.port.close().catch(() => undefined);
    this.input.end(new TransportError('transport.closed', 'The serial port was closed'));
  }

  onLost(listener: (error: TransportError) => void): () => void {
    this.lostListeners.push(listener);
    return () => {
      this.lostListeners = this.lostListeners.filter((l) => l !== listener);
    };
  }
}

/**
 * Asks the person to pick a port (must run in a user gesture).
 * @throws {TransportError} 'transport.no-port-selected', 'transport.unavailable'.
 */
export async function requestSerialPort(
  options: WebSerialOptions & { filters?: SerialPortFilter[]; serial?: Serial | undefined },
): Promise<WebSerialPortHandle> {
  const serial = options.serial ?? (globalThis.navigator as Navigator | undefined)?.serial;
  if (!serial) throw serialUnavailable();
  try {
    const port = await serial.requestPort(options.filters ? { filters: options.filters } : {});
    return new WebSerialPortHandle(port, options);
  } catch (err) {
    throw mapSerialError(err, 'request');
  }
}

/** Finds a board again after it re-enumerated, through the `connect` event and `getPorts()`. */
export class WebSerialPortWatcher implements PortWatcher {
  constructor(private readonly options: WebSerialOptions & { serial: Serial }) {}

  /** Ports the page may use without asking. */
  async getPorts(): Promise<WebSerialPortHandle[]> {
    const ports = await this.options.serial.getPorts();
    return ports.map((p) => new WebSerialPortHandle(p, this.options));
  }

  waitForReturn(
    previous: SerialPortHandle,
    options: WaitForReturnOptions,
  ): Promise<SerialPortHandle> {
    const { serial, clock } = this.options;
    const want = previous.info;
    const old = previous instanceof WebSerialPortHandle ? previous.port : undefined;
    const matches = (port: SerialPort): boolean => {
      const info = port.getInfo();
      if (port === old) return false;
      if (options.accept) return options.accept(portInfo(port));
      return (
        want.usbVendorId !== undefined &&
        info.usbVendorId === want.usbVendorId &&
        info.usbProductId === want.usbProductId
      );
    };
    return new Promise<SerialPortHandle>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clock.clearTimer(timer);
        serial.removeEventListener('connect', onConnect);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onConnect = (event: Event): void => {
        const port = event.target as SerialPort;
        if (matches(port)) finish(() => resolve(new WebSerialPortHandle(port, this.options)));
      };
      const onAbort = (): void => finish(() => reject(new AbortError()));
      const timer = clock.setTimer(options.timeoutMs, () =>
        finish(() =>
          reject(
            new TimeoutError(`Waiting for ${want.label} to come back`, options.timeoutMs, {
              hints: ['Unplug and replug the board, then choose it again.'],
            }),
          ),
        ),
      );
      serial.addEventListener('connect', onConnect);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      serial.getPorts().then(
        (ports) => {
          const found = ports.find(matches);
          if (found) finish(() => resolve(new WebSerialPortHandle(found, this.options)));
        },
        (err: unknown) => finish(() => reject(mapSerialError(err, 'request'))),
      );
    });
  }
}
