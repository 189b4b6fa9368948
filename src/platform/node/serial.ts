/**
 * SerialLink over node-serialport (https://serialport.io, `serialport` 13): the same link
 * interface as the Web Serial adapter (src/transport/webserial.ts), so every protocol driver runs
 * unchanged in the CLI. Reads flow into a ByteQueue; a port that goes away (read or write fails
 * with EIO/ENXIO/EBADF, serialport's "disconnected" close) ends the input with TransportError
 * 'transport.device-lost'.
 *
 * Reads and writes on Linux and macOS go straight to the port's file descriptor, woken by the
 * binding's poller (a libuv poll handle): a read or write is one non-blocking system call on the
 * event loop instead of node-serialport's stream, which runs each one on libuv's thread pool
 * after a poll. Every command of a stop-and-wait bootloader waits for a reply, and the thread
 * pool's hops cost about 0.1–0.2 ms a round trip, a few hundred per second of flashing. Windows
 * (no file descriptor) keeps the stream.
 *
 * Modem lines: node-serialport's `set()` writes every flag on each call (missing ones take their
 * defaults, DTR and RTS high), so the link remembers both lines and always sends both. A port
 * without modem lines (a pseudo-terminal: TIOCMSET fails with ENOTTY, "Inappropriate ioctl for
 * device") is noted once and signals are then skipped, as esptool, stm32flash and avrdude do.
 */
import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { ByteQueue } from '../../core/byte-queue.ts';
import type { Clock } from '../../core/clock.ts';
import { TransportError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type {
  LinkOptions,
  PortInfo,
  SerialLink,
  SerialPortHandle,
  SerialSignals,
} from '../../transport/link.ts';

export interface NodeSerialOptions {
  clock: Clock;
  logger?: Logger | undefined;
}

type NodeAction = 'open' | 'read' | 'write' | 'signals' | 'speed';

function errnoOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const message = err instanceof Error ? err.message : '';
  return /^(E[A-Z]+)\b/.exec(message)?.[1] ?? '';
}

/** True for the errors of a port whose device went away (Linux tty driver, serialport). */
function isGone(err: unknown): boolean {
  const code = errnoOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return (
    ['EIO', 'ENXIO', 'EBADF', 'ENODEV'].includes(code) ||
    /bad file descriptor|i\/o error|no such device|port is not open/i.test(message) ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { disconnected?: unknown }).disconnected === true)
  );
}

/** True when the port has no modem lines (a pty): ENOTTY from TIOCMSET. */
function noModemLines(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return errnoOf(err) === 'ENOTTY' || /inappropriate ioctl/i.test(message);
}

/** Maps a node-serialport error to a TransportError with hints; the original is the `cause`. */
function mapNodeSerialError(err: unknown, action: NodeAction, path: string): TransportError {
  if (err instanceof TransportError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = errnoOf(err);
  if (action === 'open') {
    if (code === 'ENOENT' || /no such file/i.test(message)) {
      return new TransportError('transport.open-failed', `There is no serial port ${path}`, {
        cause: err,
        hints: ['Check the cable and the port name: `webflash list` shows the ports.'],
      });
    }
    if (code === 'EACCES' || /permission denied/i.test(message)) {
      return new TransportError('transport.open-failed', `No permission to open ${path}`, {
        cause: err,
        hints: [
          'Add your user to the "dialout" group (then log in again), or install the udev rules in docs/headless.md.',
        ],
      });
    }
    if (code === 'EBUSY' || /cannot lock port|resource temporarily unavailable/i.test(message)) {
      return new TransportError('transport.port-busy', `${path} is in use by another program`, {
        cause: err,
        hints: ['Close serial monitors, IDEs and other flashers using this port.'],
      });
    }
    return new TransportError('transport.open-failed', `${path} could not be opened (${message})`, {
      cause: err,
      hints: ['Unplug and replug the board, then try again.'],
    });
  }
  if (isGone(err)) {
    return new TransportError('transport.device-lost', 'The board was disconnected', {
      cause: err,
      hints: ['Check the USB cable and plug the board back in.'],
    });
  }
  return new TransportError(
    'transport.io',
    `Serial port error while trying to ${action} (${message})`,
    {
      cause: err,
      hints: ['Unplug and replug the board, then try again.'],
    },
  );
}

/**
 * What the fast path needs of node-serialport's Unix binding (`LinuxPortBinding`,
 * `DarwinPortBinding`): the open descriptor (non-blocking) and its poller.
 */
interface UnixPort {
  fd: number | null;
  poller: { once(event: 'readable' | 'writable', cb: (err: Error | null) => void): unknown };
}

function unixPort(port: SerialPort): UnixPort | undefined {
  const binding = port.port as Partial<UnixPort> | undefined;
  return typeof binding?.fd === 'number' && typeof binding.poller?.once === 'function'
    ? (binding as UnixPort)
    : undefined;
}

/** True for a non-blocking call that would have waited. */
function wouldBlock(err: unknown): boolean {
  return ['EAGAIN', 'EWOULDBLOCK', 'EINTR'].includes(errnoOf(err));
}

/** A serial port by its path (`/dev/ttyUSB0`, `COM3`), openable again and again. */
export class NodeSerialPortHandle implements SerialPortHandle {
  constructor(
    readonly path: string,
    readonly info: PortInfo,
    private readonly options: NodeSerialOptions,
  ) {}

  /**
   * Opens the port and starts reading.
   * @throws {TransportError} 'transport.open-failed', 'transport.port-busy'.
   */
  async open(options: LinkOptions): Promise<SerialLink> {
    const link = new NodeSerialLink(this.path, this.info, options, this.options);
    await link.start();
    return link;
  }
}

function closedError(): TransportError {
  return new TransportError('transport.closed', 'The serial port is closed');
}

/** Ports whose missing modem lines were already reported (one line per port and run). */
const reportedNoModemLines = new Set<string>();

/** An open port. */
class NodeSerialLink implements SerialLink {
  readonly input: ByteQueue;
  private readonly port: SerialPort;
  private rate: number;
  private open = false;
  private lostListeners: ((e: TransportError) => void)[] = [];
  private readonly logger: Logger;
  private readonly lines = { dtr: true, rts: true };
  private modemLines = true;
  /** The descriptor path (Linux, macOS); undefined: the stream (Windows). */
  private unix: UnixPort | undefined;
  /** A write waiting for the port to take more bytes; later writes queue behind it. */
  private writing: Promise<void> = Promise.resolve();
  /** Writes called and not yet settled. */
  private queuedWrites = 0;
  /** Fails the write waiting for the poller when the port closes or goes away. */
  private abortWrite: ((error: TransportError) => void) | undefined;

  get hasModemLines(): boolean {
    return this.modemLines;
  }

  constructor(
    private readonly path: string,
    readonly info: PortInfo,
    options: LinkOptions,
    nodeOptions: NodeSerialOptions,
  ) {
    this.input = new ByteQueue(nodeOptions.clock);
    this.rate = options.baudRate;
    this.logger = (nodeOptions.logger ?? silentLogger).child('serial');
    this.port = new SerialPort({
      path,
      baudRate: options.baudRate,
      parity: options.parity ?? 'none',
      autoOpen: false,
      // 64 KiB reads suit 921600 baud, as the Web Serial adapter's buffer does.
      highWaterMark: 64 * 1024,
    });
  }

  get baudRate(): number {
    return this.rate;
  }

  get isOpen(): boolean {
    return this.open;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.port.open((err) =>
        err ? reject(mapNodeSerialError(err, 'open', this.path)) : resolve(),
      );
    });
    this.open = true;
    this.unix = unixPort(this.port);
    if (this.unix) this.pumpReads(this.unix);
    else
      this.port.on('data', (chunk: Buffer) => {
        // A copy: serialport reuses its read pool, and the queue keeps chunks as they are.
        this.input.push(new Uint8Array(chunk));
      });
    this.port.on('close', (err: unknown) => {
      if (err) this.lose(mapNodeSerialError(err, 'read', this.path));
    });
    this.port.on('error', (err: unknown) => {
      if (isGone(err)) this.lose(mapNodeSerialError(err, 'read', this.path));
      else
        this.logger.warn(`serial port error: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /**
   * Reads what the port holds, then waits for the poller to say there is more. A read of 0
   * bytes is a hung-up terminal (the device went away), as EIO and ENXIO are.
   */
  private pumpReads(unix: UnixPort): void {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    const pump = (err: Error | null): void => {
      if (!this.open) return;
      if (err) {
        this.lose(mapNodeSerialError(err, 'read', this.path));
        return;
      }
      for (;;) {
        if (unix.fd === null) return;
        let n: number;
        try {
          n = readSync(unix.fd, buffer, 0, buffer.length, null);
        } catch (e) {
          if (wouldBlock(e)) break;
          this.lose(mapNodeSerialError(e, 'read', this.path));
          return;
        }
        if (n === 0) {
          this.lose(
            mapNodeSerialError(
              Object.assign(new Error('EIO: hung up'), { code: 'EIO' }),
              'read',
              this.path,
            ),
          );
          return;
        }
        this.input.push(new Uint8Array(buffer.subarray(0, n)));
        if (n < buffer.length) break;
      }
      unix.poller.once('readable', pump);
    };
    pump(null);
  }

  /** Writes all of `data`, waiting for the poller whenever the port's buffer is full. */
  private writeUnix(unix: UnixPort, data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let offset = 0;
      const fail = (error: TransportError): void => {
        this.abortWrite = undefined;
        if (error.code === 'transport.device-lost') this.lose(error);
        reject(error);
      };
      const go = (err: Error | null): void => {
        if (err) return fail(mapNodeSerialError(err, 'write', this.path));
        while (offset < data.length) {
          if (!this.open || unix.fd === null) return fail(closedError());
          try {
            offset += writeSync(unix.fd, data, offset, data.length - offset);
          } catch (e) {
            if (!wouldBlock(e)) return fail(mapNodeSerialError(e, 'write', this.path));
            this.abortWrite = fail;
            unix.poller.once('writable', go);
            return;
          }
        }
        this.abortWrite = undefined;
        resolve();
      };
      go(null);
    });
  }

  private lose(error: TransportError): void {
    if (!this.open) return;
    this.open = false;
    this.input.end(error);
    this.abortWrite?.(error);
    const listeners = this.lostListeners;
    this.lostListeners = [];
    for (const l of listeners) l(error);
    if (this.port.isOpen) this.port.close(() => undefined);
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open) throw closedError();
    const unix = this.unix;
    if (unix) {
      // The system call happens now unless an earlier write still waits for the port.
      this.queuedWrites++;
      const run = (): Promise<void> =>
        this.writeUnix(unix, data).finally(() => this.queuedWrites--);
      const next = this.queuedWrites === 1 ? run() : this.writing.then(run);
      this.writing = next.catch(() => undefined);
      return next;
    }
    await new Promise<void>((resolve, reject) => {
      this.port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => {
        if (!err) {
          resolve();
          return;
        }
        const e = mapNodeSerialError(err, 'write', this.path);
        if (e.code === 'transport.device-lost') this.lose(e);
        reject(e);
      });
    });
  }

  async setSignals(signals: SerialSignals): Promise<void> {
    if (!this.open) throw new TransportError('transport.closed', 'The serial port is closed');
    if (!this.modemLines) return;
    if (signals.dataTerminalReady !== undefined) this.lines.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.lines.rts = signals.requestToSend;
    await new Promise<void>((resolve, reject) => {
      this.port.set({ ...this.lines, brk: signals.break === true }, (err) => {
        if (!err) resolve();
        else if (noModemLines(err)) {
          this.modemLines = false;
          if (!reportedNoModemLines.has(this.path)) {
            reportedNoModemLines.add(this.path);
            this.logger.info(
              `${this.path} has no modem lines (DTR/RTS): reset the board into its bootloader by hand or through its reset line.`,
            );
          }
          resolve();
        } else reject(mapNodeSerialError(err, 'signals', this.path));
      });
    });
  }

  /** Changes the speed of the open port (termios); buffered input is dropped. */
  async setBaudRate(baudRate: number): Promise<void> {
    if (!this.open) throw new TransportError('transport.closed', 'The serial port is closed');
    if (baudRate === this.rate) return;
    await new Promise<void>((resolve, reject) => {
      this.port.update({ baudRate }, (err) =>
        err ? reject(mapNodeSerialError(err, 'speed', this.path)) : resolve(),
      );
    });
    this.input.discard();
    this.rate = baudRate;
  }

  /** Closes the port; idempotent. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.abortWrite?.(closedError());
    await new Promise<void>((resolve) => {
      if (!this.port.isOpen) resolve();
      else this.port.close(() => resolve());
    });
    this.input.end(new TransportError('transport.closed', 'The serial port was closed'));
  }

  onLost(listener: (error: TransportError) => void): () => void {
    this.lostListeners.push(listener);
    return () => {
      this.lostListeners = this.lostListeners.filter((l) => l !== listener);
    };
  }
}
