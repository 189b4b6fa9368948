/**
 * `FakeSerialPort`: a W3C Web Serial `SerialPort` (https://wicg.github.io/serial/) over one USB
 * enumeration of a simulated port. See fake-web-serial.ts for the `navigator.serial` side and
 * the list of spec behaviours followed.
 */
import type { SerialSignals } from '../../transport/link.ts';
import type { HostPortView } from './host-views.ts';
import type { HostConnection, LineErrorKind } from '../sim-link.ts';

/** What a port needs from the `navigator.serial` that owns it. */
export interface PortOwner extends EventTarget {
  /** `forget()`: the site loses its permission for this device. */
  revoke(port: FakeSerialPort): void;
}

const LINE_ERROR_NAMES: Record<LineErrorKind, string> = {
  break: 'BreakError',
  framing: 'FramingError',
  parity: 'ParityError',
  overrun: 'BufferOverrunError',
};

/** Spec §"open() method": the largest bufferSize a UA may refuse above (Chromium: 16 MiB). */
const MAX_BUFFER_SIZE = 16 * 1024 * 1024;

/**
 * Bytes the operating system holds for a port nobody is reading: Chromium stops reading while
 * the stream's queue is full (backpressure) and the kernel keeps receiving into the tty buffer,
 * 64 KiB on Linux (tty_buffer.c `TTYB_DEFAULT_MEM_LIMIT`). Only beyond that are bytes lost,
 * reported as BufferOverrunError.
 */
const OS_RECEIVE_BUFFER = 64 * 1024;

type PortState = 'closed' | 'opening' | 'opened' | 'closing' | 'forgotten';

/** Fires `type` on the port and, bubbling, on navigator.serial with `target` = the port. */
export function fireConnectionEvent(port: FakeSerialPort, serial: EventTarget, type: string): void {
  port.dispatchEvent(new Event(type, { bubbles: true }));
  const bubbled = new Event(type, { bubbles: true });
  Object.defineProperty(bubbled, 'target', { value: port });
  Object.defineProperty(bubbled, 'srcElement', { value: port });
  serial.dispatchEvent(bubbled);
}

/** A SerialPort over one enumeration of a simulated port. */
/**
 * An `on<type>` event handler attribute: like the DOM's, its listener takes its place in the
 * listener list when the attribute is first set to a function.
 */
export class HandlerSlot {
  handler: ((ev: Event) => void) | null = null;
  private registered = false;
  constructor(
    private readonly target: EventTarget,
    private readonly type: string,
  ) {}
  set(handler: ((ev: Event) => void) | null): void {
    this.handler = handler;
    if (handler && !this.registered) {
      this.registered = true;
      this.target.addEventListener(this.type, (e) => this.handler?.call(this.target, e));
    }
  }
}

export class FakeSerialPort extends EventTarget implements SerialPort {
  private readonly connectSlot = new HandlerSlot(this, 'connect');
  private readonly disconnectSlot = new HandlerSlot(this, 'disconnect');

  private state: PortState = 'closed';
  private conn: HostConnection | undefined;
  private bufferSize = 255;
  private readableStream: ReadableStream<Uint8Array> | null = null;
  private readableController: ReadableByteStreamController | undefined;
  private writableStream: WritableStream<Uint8Array> | null = null;
  private writableController: WritableStreamDefaultController | undefined;
  private rx: Uint8Array<ArrayBuffer>[] = [];
  private rxBytes = 0;
  private pendingLineError: LineErrorKind | undefined;
  private readFatal = false;
  private writeFatal = false;
  private wake: (() => void) | undefined;
  private isConnected = true;

  constructor(
    /** The simulated port this object stands for. */
    readonly sim: HostPortView,
    private readonly serial: PortOwner,
  ) {
    super();
  }

  get onconnect(): ((this: SerialPort, ev: Event) => void) | null {
    return this.connectSlot.handler;
  }
  set onconnect(handler: ((this: SerialPort, ev: Event) => void) | null) {
    this.connectSlot.set(handler);
  }
  get ondisconnect(): ((this: SerialPort, ev: Event) => void) | null {
    return this.disconnectSlot.handler;
  }
  set ondisconnect(handler: ((this: SerialPort, ev: Event) => void) | null) {
    this.disconnectSlot.set(handler);
  }

  /** Spec §"connected attribute". */
  get connected(): boolean {
    return this.isConnected;
  }

  /** Spec §"readable attribute": a new stream after a recoverable error, null after a fatal one. */
  get readable(): ReadableStream<Uint8Array> | null {
    if (this.readableStream) return this.readableStream;
    if (this.state !== 'opened' || this.readFatal) return null;
    this.readableStream = new ReadableStream({
      type: 'bytes',
      start: (controller) => {
        this.readableController = controller;
      },
      pull: (controller) => this.pull(controller),
      cancel: () => {
        this.readableStream = null;
        this.readableController = undefined;
        this.rx = [];
        this.rxBytes = 0;
        this.wake?.();
      },
    });
    return this.readableStream;
  }

  /** Spec §"writable attribute". */
  get writable(): WritableStream<Uint8Array> | null {
    if (this.writableStream) return this.writableStream;
    if (this.state !== 'opened' || this.writeFatal) return null;
    const stream = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.writableController = controller;
        },
        write: async (chunk) => {
          if (!ArrayBuffer.isView(chunk) && !((chunk as unknown) instanceof ArrayBuffer)) {
            throw new TypeError('Failed to write: the chunk is not a BufferSource.');
          }
          const bytes = ArrayBuffer.isView(chunk)
            ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice()
            : new Uint8Array(chunk).slice();
          if (!this.conn || this.conn.closed) throw networkError();
          await this.conn.write(bytes);
        },
        close: () => {
          this.writableStream = null;
        },
        abort: () => {
          this.writableStream = null;
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.bufferSize }),
    );
    this.writableStream = stream;
    return stream;
  }

  /** Spec §"open() method". */
  async open(options: SerialOptions): Promise<void> {
    if (this.state === 'forgotten')
      throw new DOMException('The port has been forgotten.', 'InvalidStateError');
    if (this.state !== 'closed')
      throw new DOMException('The port is already open.', 'InvalidStateError');
    validateOptions(options);
    if (!this.isConnected || !this.sim.present) {
      throw new DOMException('Failed to open serial port.', 'NetworkError');
    }
    this.state = 'opening';
    try {
      this.conn = await this.sim.connect(
        {
          baudRate: options.baudRate,
          dataBits: options.dataBits ?? 8,
          stopBits: options.stopBits ?? 1,
          parity: options.parity ?? 'none',
        },
        {
          data: (chunk) => this.onData(chunk),
          lost: () => this.onLost(),
          lineError: (kind) => this.onLineError(kind),
        },
      );
    } catch (err) {
      this.state = 'closed';
      const error = new DOMException('Failed to open serial port.', 'NetworkError');
      Object.defineProperty(error, 'cause', { value: err });
      throw error;
    }
    await Promise.resolve();
    this.bufferSize = options.bufferSize ?? 255;
    this.readFatal = false;
    this.writeFatal = false;
    this.rx = [];
    this.rxBytes = 0;
    this.pendingLineError = undefined;
    this.state = 'opened';
  }

  /** Spec §"setSignals() method". */
  async setSignals(signals: SerialOutputSignals = {}): Promise<void> {
    if (this.state !== 'opened') throw new DOMException('The port is closed.', 'InvalidStateError');
    if (
      signals.dataTerminalReady === undefined &&
      signals.requestToSend === undefined &&
      signals.break === undefined
    ) {
      throw new TypeError('Signals dictionary is empty.');
    }
    if (!this.conn || this.conn.closed) {
      throw new DOMException('Failed to set control signals.', 'NetworkError');
    }
    const s: SerialSignals = {};
    if (signals.dataTerminalReady !== undefined) s.dataTerminalReady = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) s.requestToSend = signals.requestToSend;
    if (signals.break !== undefined) s.break = signals.break;
    this.conn.setSignals(s);
    await Promise.resolve();
  }

  /** Spec §"getSignals() method". */
  async getSignals(): Promise<SerialInputSignals> {
    if (this.state !== 'opened') throw new DOMException('The port is closed.', 'InvalidStateError');
    if (!this.conn || this.conn.closed) {
      throw new DOMException('Failed to get control signals.', 'NetworkError');
    }
    await Promise.resolve();
    return this.conn.getInputSignals();
  }

  /** Spec §"getInfo() method". */
  getInfo(): SerialPortInfo {
    const info: SerialPortInfo = {};
    if (this.sim.info.usbVendorId !== undefined) info.usbVendorId = this.sim.info.usbVendorId;
    if (this.sim.info.usbProductId !== undefined) info.usbProductId = this.sim.info.usbProductId;
    return info;
  }

  /** Spec §"close() method". */
  async close(): Promise<void> {
    if (this.state !== 'opened')
      throw new DOMException('The port is already closed.', 'InvalidStateError');
    if (this.readableStream?.locked || this.writableStream?.locked) {
      throw new TypeError(
        "Failed to execute 'close' on 'SerialPort': Cannot cancel a locked stream",
      );
    }
    this.state = 'closing';
    const pending: Promise<unknown>[] = [];
    if (this.readableStream) pending.push(this.readableStream.cancel().catch(() => undefined));
    if (this.writableStream) pending.push(this.writableStream.abort().catch(() => undefined));
    await Promise.all(pending);
    this.finishClose();
  }

  /** Spec §"forget() method". */
  async forget(): Promise<void> {
    if (this.state === 'opened') {
      this.readableController?.error(
        new DOMException('The port has been forgotten.', 'NetworkError'),
      );
      this.writableController?.error(
        new DOMException('The port has been forgotten.', 'NetworkError'),
      );
      this.finishClose();
    }
    this.state = 'forgotten';
    this.serial.revoke(this);
    await Promise.resolve();
  }

  /** @internal the simulated port went away (unplug, re-enumeration). */
  markDisconnected(): void {
    this.isConnected = false;
    this.onLost();
  }

  private finishClose(): void {
    this.conn?.close();
    this.conn = undefined;
    this.readableStream = null;
    this.readableController = undefined;
    this.writableStream = null;
    this.writableController = undefined;
    this.rx = [];
    this.rxBytes = 0;
    if (this.state !== 'forgotten') this.state = 'closed';
  }

  private async pull(controller: ReadableByteStreamController): Promise<void> {
    for (;;) {
      if (this.rx.length > 0) {
        const chunk = this.rx.shift()!;
        this.rxBytes -= chunk.length;
        controller.enqueue(chunk);
        return;
      }
      if (this.pendingLineError) {
        const kind = this.pendingLineError;
        this.pendingLineError = undefined;
        this.readableStream = null;
        this.readableController = undefined;
        controller.error(new DOMException(`A ${kind} error was detected.`, LINE_ERROR_NAMES[kind]));
        return;
      }
      if (this.readFatal) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
      if (this.readableController !== controller) return;
    }
  }

  private onData(chunk: Uint8Array): void {
    // (copied: the stream transfers what it enqueues)
    if (this.state !== 'opened') return;
    const limit = Math.max(this.bufferSize, OS_RECEIVE_BUFFER);
    if (this.rxBytes + chunk.length > limit) {
      const room = limit - this.rxBytes;
      if (room > 0) {
        this.rx.push(chunk.slice(0, room));
        this.rxBytes += room;
      }
      this.pendingLineError ??= 'overrun';
    } else {
      this.rx.push(chunk.slice());
      this.rxBytes += chunk.length;
    }
    this.wake?.();
  }

  private onLineError(kind: LineErrorKind): void {
    if (this.state !== 'opened') return;
    this.pendingLineError ??= kind;
    this.wake?.();
  }

  private onLost(): void {
    if (this.state !== 'opened' || this.readFatal) return;
    this.readFatal = true;
    this.writeFatal = true;
    const lost = (): DOMException => new DOMException('The device has been lost.', 'NetworkError');
    // Bytes already received are still readable before the error (the stream's queue keeps them).
    const controller = this.readableController;
    if (controller) {
      for (const chunk of this.rx) controller.enqueue(chunk);
      controller.error(lost());
    }
    this.rx = [];
    this.rxBytes = 0;
    this.readableStream = null;
    this.readableController = undefined;
    this.wake?.();
    this.writableController?.error(lost());
    this.writableStream = null;
    this.writableController = undefined;
  }
}

function validateOptions(options: SerialOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.baudRate !== 'number') {
    throw new TypeError(
      "Failed to execute 'open' on 'SerialPort': required member baudRate is undefined.",
    );
  }
  if (!(options.baudRate > 0) || !Number.isFinite(options.baudRate)) {
    throw new TypeError('Requested baud rate must be greater than zero.');
  }
  if (options.dataBits !== undefined && options.dataBits !== 7 && options.dataBits !== 8) {
    throw new TypeError('Requested number of data bits must be 7 or 8.');
  }
  if (options.stopBits !== undefined && options.stopBits !== 1 && options.stopBits !== 2) {
    throw new TypeError('Requested number of stop bits must be 1 or 2.');
  }
  if (options.parity !== undefined && !['none', 'even', 'odd'].includes(options.parity)) {
    throw new TypeError(
      `The provided value '${String(options.parity)}' is not a valid enum value of type ParityType.`,
    );
  }
  if (options.flowControl !== undefined && !['none', 'hardware'].includes(options.flowControl)) {
    throw new TypeError(
      `The provided value '${String(options.flowControl)}' is not a valid enum value of type FlowControlType.`,
    );
  }
  if (options.bufferSize !== undefined) {
    if (!(options.bufferSize > 0))
      throw new TypeError('Requested buffer size must be greater than zero.');
    if (options.bufferSize > MAX_BUFFER_SIZE) {
      throw new TypeError(
        `Requested buffer size (${options.bufferSize} bytes) exceeds the maximum allowed.`,
      );
    }
  }
}

function networkError(): DOMException {
  return new DOMException('The device has been lost.', 'NetworkError');
}
