/**
 * The page's end of simulated boards running in a Web Worker (board-host.ts): proxies that look
 * to the fake Web Serial (`FakeSerial`, `FakeSerialPort`) and the fake WebUSB (`FakeUsb`) exactly
 * like boards in the page — a `HostWireView` per serial wire with a `HostPortView` per USB
 * enumeration, and a `UsbBusView` of `UsbDeviceView`s — so the Web Serial and WebUSB semantics
 * (states, streams, errors, events) are the same code either way. What a board does arrives in
 * the order it happened on the worker's clock; the only difference an application can see is
 * that each call takes a message to the worker and back.
 */
import { TransportError, type ErrorCode } from '../../core/errors.ts';
import type { PortInfo, SerialSignals } from '../../transport/link.ts';
import type { UsbConfigurationInfo, UsbSetup } from '../../transport/usb.ts';
import type { HostConnection, HostSink, InputSignals, SimOpenOptions } from '../sim-link.ts';
import type { SimDeviceIdentity, SimInResult, SimOutResult } from '../usb/sim-usb-device.ts';
import type {
  BoardCall,
  CallResult,
  Endpoint,
  FromBoards,
  ToBoards,
  WireError,
} from './board-messages.ts';
import type {
  HostPortChange,
  HostPortView,
  HostWireView,
  UsbBusView,
  UsbDeviceView,
} from './host-views.ts';

/** Where the page's fake `navigator.serial` takes wires (a `FakeSerial`). */
interface WireRegistry {
  addWire(wire: HostWireView, options: { permitted?: boolean }): void;
  removeWire(wire: HostWireView): void;
}

export interface RemoteBoardsOptions {
  /** The page's fake `navigator.serial`. */
  serial: WireRegistry;
  /** Where the worker's USB devices appear (give the same bus to the page's `FakeUsb`). */
  bus?: RemoteUsbBus;
  /** Grants the page's fake `navigator.usb` a USB identity (`FakeUsb.allow`). */
  allow?: (vendorId: number, productId: number, serialNumber?: string) => void;
}

/** Rebuilds an error that crossed the channel. */
function fromWireError(e: WireError): Error {
  if (e.code !== undefined) {
    const err = new TransportError(e.code as ErrorCode, e.message, { hints: e.hints ?? [] });
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** A copy of `data` in a buffer of its own, to transfer. */
function own(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return data.slice();
}

/** A serial wire of a board in the worker. */
export class RemoteWire implements HostWireView {
  current: RemotePort | undefined;
  private readonly listeners = new Set<(change: HostPortChange) => void>();

  constructor(
    readonly id: number,
    /** What the worker's lab calls the board. */
    readonly label: string | undefined,
  ) {}

  get port(): RemotePort | undefined {
    return this.current;
  }

  onPortChange(listener: (change: HostPortChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  emit(change: HostPortChange): void {
    for (const l of [...this.listeners]) l(change);
  }
}

/** One USB enumeration of a worker board's serial port. */
class RemotePort implements HostPortView {
  constructor(
    private readonly boards: RemoteBoards,
    readonly id: number,
    readonly owner: RemoteWire,
    readonly info: PortInfo,
  ) {}

  get present(): boolean {
    return this.owner.current === this;
  }

  async connect(options: SimOpenOptions, sink: HostSink): Promise<HostConnection> {
    const r = (await this.boards.call({ op: 'connect', port: this.id, options })) as {
      conn: number;
      inputSignals: InputSignals;
      signals: Required<SerialSignals>;
    };
    const conn = new RemoteConnection(this.boards, r.conn, sink, r.inputSignals, r.signals);
    this.boards.conns.set(r.conn, conn);
    return conn;
  }
}

/** An open connection to a worker board's port. */
class RemoteConnection implements HostConnection {
  private isClosed = false;
  /** Set when the device was lost (the worker's `lost`). */
  lostError: Error | undefined;

  constructor(
    private readonly boards: RemoteBoards,
    private readonly id: number,
    readonly sink: HostSink,
    private readonly input: InputSignals,
    private signalState: Required<SerialSignals>,
  ) {}

  get closed(): boolean {
    return this.isClosed || this.lostError !== undefined;
  }

  get signals(): Readonly<Required<SerialSignals>> {
    return this.signalState;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.lostError) throw this.lostError;
    if (this.isClosed) throw new TransportError('transport.closed', 'The serial port is closed.');
    await this.boards.call({ op: 'write', conn: this.id, data: own(data) });
  }

  setSignals(signals: SerialSignals): void {
    if (this.closed) return;
    this.signalState = { ...this.signalState, ...definedOnly(signals) };
    this.boards.send({ kind: 'signals', conn: this.id, signals });
  }

  getInputSignals(): InputSignals {
    return { ...this.input };
  }

  reconfigure(options: SimOpenOptions): void {
    this.boards.send({ kind: 'reconfigure', conn: this.id, options });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.boards.conns.delete(this.id);
    this.boards.send({ kind: 'close', conn: this.id });
  }
}

function definedOnly(signals: SerialSignals): SerialSignals {
  const out: SerialSignals = {};
  if (signals.dataTerminalReady !== undefined) out.dataTerminalReady = signals.dataTerminalReady;
  if (signals.requestToSend !== undefined) out.requestToSend = signals.requestToSend;
  if (signals.break !== undefined) out.break = signals.break;
  return out;
}

/** A USB device of a board in the worker (the same object across its attachments). */
export class RemoteUsbDevice implements UsbDeviceView {
  attached = false;
  private value: number;

  constructor(
    private readonly boards: RemoteBoards,
    readonly id: number,
    readonly identity: SimDeviceIdentity,
    readonly configurations: UsbConfigurationInfo[],
    configurationValue: number,
    /** What the worker's lab calls the board. */
    public label: string | undefined,
  ) {
    this.value = configurationValue;
  }

  get configurationValue(): number {
    return this.value;
  }

  set configurationValue(value: number) {
    this.value = value;
    this.boards.send({ kind: 'usb-configuration-value', device: this.id, value });
  }

  async setConfiguration(value: number): Promise<SimOutResult> {
    return (await this.boards.call({
      op: 'usb-set-configuration',
      device: this.id,
      value,
    })) as SimOutResult;
  }

  async setInterface(interfaceNumber: number, alternate: number): Promise<SimOutResult> {
    const body: BoardCall = {
      op: 'usb-set-interface',
      device: this.id,
      interfaceNumber,
      alternate,
    };
    return (await this.boards.call(body)) as SimOutResult;
  }

  async controlIn(setup: UsbSetup, length: number): Promise<SimInResult> {
    const body: BoardCall = { op: 'usb-control-in', device: this.id, setup: { ...setup }, length };
    return (await this.boards.call(body)) as SimInResult;
  }

  async controlOut(setup: UsbSetup, data: Uint8Array): Promise<SimOutResult> {
    const body: BoardCall = {
      op: 'usb-control-out',
      device: this.id,
      setup: { ...setup },
      data: own(data),
    };
    return (await this.boards.call(body)) as SimOutResult;
  }

  async busReset(): Promise<void> {
    await this.boards.call({ op: 'usb-bus-reset', device: this.id });
  }
}

/** The host's USB ports with the worker's devices on them. */
export class RemoteUsbBus implements UsbBusView<RemoteUsbDevice> {
  readonly present: RemoteUsbDevice[] = [];
  private readonly attachListeners = new Set<(d: RemoteUsbDevice) => void>();
  private readonly detachListeners = new Set<(d: RemoteUsbDevice) => void>();

  get devices(): readonly RemoteUsbDevice[] {
    return this.present;
  }

  onAttach(listener: (d: RemoteUsbDevice) => void): () => void {
    this.attachListeners.add(listener);
    return () => this.attachListeners.delete(listener);
  }

  onDetach(listener: (d: RemoteUsbDevice) => void): () => void {
    this.detachListeners.add(listener);
    return () => this.detachListeners.delete(listener);
  }

  /** @internal */
  attach(d: RemoteUsbDevice): void {
    if (this.present.includes(d)) return;
    d.attached = true;
    this.present.push(d);
    for (const l of [...this.attachListeners]) l(d);
  }

  /** @internal */
  detach(d: RemoteUsbDevice): void {
    const i = this.present.indexOf(d);
    if (i < 0) return;
    this.present.splice(i, 1);
    d.attached = false;
    for (const l of [...this.detachListeners]) l(d);
  }
}

/**
 * The boards of a worker, seen from the page: serial wires go into `options.serial`, USB
 * devices onto `bus` (give it to a `FakeUsb`).
 * @example const boards = new RemoteBoards(worker, { serial: fakeSerial }); new FakeUsb({ bus: boards.bus });
 */
export class RemoteBoards {
  readonly bus: RemoteUsbBus;
  /** @internal open connections by id */
  readonly conns = new Map<number, RemoteConnection>();
  private readonly wires = new Map<number, RemoteWire>();
  private readonly ports = new Map<number, RemotePort>();
  private readonly devices = new Map<number, RemoteUsbDevice>();
  private readonly calls = new Map<
    number,
    { resolve(v: CallResult): void; reject(e: Error): void }
  >();
  private nextCall = 1;
  private readonly listener: (event: MessageEvent<FromBoards>) => void;

  constructor(
    private readonly endpoint: Endpoint<FromBoards, ToBoards>,
    private readonly options: RemoteBoardsOptions,
  ) {
    this.bus = options.bus ?? new RemoteUsbBus();
    this.listener = (event) => this.receive(event.data);
    endpoint.addEventListener('message', this.listener);
  }

  /** @internal a call answered by the worker. */
  call(body: BoardCall): Promise<CallResult> {
    const call = this.nextCall++;
    const transfer: Transferable[] = 'data' in body ? [body.data.buffer] : [];
    return new Promise((resolve, reject) => {
      this.calls.set(call, { resolve, reject });
      this.endpoint.postMessage({ kind: 'call', call, body }, transfer);
    });
  }

  /** @internal a message that needs no answer. */
  send(message: ToBoards): void {
    this.endpoint.postMessage(message, []);
  }

  /** Stops listening; wires leave the page's fake `navigator.serial`. */
  dispose(): void {
    this.endpoint.removeEventListener('message', this.listener);
    for (const wire of this.wires.values()) this.options.serial.removeWire(wire);
    this.wires.clear();
  }

  private receive(m: FromBoards): void {
    switch (m.kind) {
      case 'reply': {
        const pending = this.calls.get(m.call);
        this.calls.delete(m.call);
        if (m.ok) pending?.resolve(m.result);
        else pending?.reject(fromWireError(m.error));
        return;
      }
      case 'wire': {
        const wire = new RemoteWire(m.wire, m.label);
        this.wires.set(m.wire, wire);
        this.options.serial.addWire(wire, { permitted: m.permitted });
        return;
      }
      case 'wire-removed': {
        const wire = this.wires.get(m.wire);
        this.wires.delete(m.wire);
        if (wire) this.options.serial.removeWire(wire);
        return;
      }
      case 'port':
        this.portChanged(m.wire, m.port, m.change, m.info);
        return;
      case 'data':
        this.conns.get(m.conn)?.sink.data(m.data);
        return;
      case 'line-error':
        this.conns.get(m.conn)?.sink.lineError?.(m.error);
        return;
      case 'lost': {
        const conn = this.conns.get(m.conn);
        this.conns.delete(m.conn);
        if (!conn) return;
        const error = fromWireError(m.error);
        conn.lostError = error;
        conn.sink.lost(error as TransportError);
        return;
      }
      case 'usb-attach': {
        let device = this.devices.get(m.device);
        if (!device) {
          device = new RemoteUsbDevice(
            this,
            m.device,
            m.identity,
            m.configurations,
            m.configurationValue,
            m.label,
          );
          this.devices.set(m.device, device);
        }
        device.label = m.label;
        this.bus.attach(device);
        return;
      }
      case 'usb-detach': {
        const device = this.devices.get(m.device);
        if (device) this.bus.detach(device);
        return;
      }
      case 'usb-grant':
        this.options.allow?.(m.vendorId, m.productId, m.serialNumber);
        return;
    }
  }

  private portChanged(
    wireId: number,
    portId: number,
    change: 'connect' | 'disconnect',
    info: PortInfo,
  ): void {
    const wire = this.wires.get(wireId);
    if (!wire) return;
    if (change === 'connect') {
      const port = new RemotePort(this, portId, wire, info);
      this.ports.set(portId, port);
      wire.current = port;
      wire.emit({ type: 'connect', port });
    } else {
      const port = this.ports.get(portId);
      this.ports.delete(portId);
      if (!port) return;
      if (wire.current === port) wire.current = undefined;
      wire.emit({ type: 'disconnect', port });
    }
  }
}
