/**
 * The worker's end of simulated boards served to a page: serial wires and USB devices living in
 * this Web Worker, on its clock, reached by the page's fake Web Serial and WebUSB through
 * remote-boards.ts. The host forwards what the page's fakes would have called on an in-page
 * board (open a connection, write, set signals, close; control transfers, configuration, bus
 * reset) and what the board does in return (received bytes, line errors, a lost device, ports
 * and devices coming and going), in order, over one channel (board-messages.ts).
 */
import type { SerialWire } from '../serial-wire.ts';
import type { HostConnection, SimOpenOptions } from '../sim-link.ts';
import type { SimSerialPort } from '../sim-serial-port.ts';
import type { SimUsbBus, SimUsbDevice } from '../usb/sim-usb-device.ts';
import {
  toWireError,
  type BoardCall,
  type CallResult,
  type Endpoint,
  type FromBoards,
  type ToBoards,
} from './board-messages.ts';

export interface BoardHostOptions {
  /** What the page's tiles call a board's port (demo mode's board names). */
  wireLabel?: (wire: SerialWire) => string | undefined;
  /** What the page's tiles call a USB device. */
  usbLabel?: (device: SimUsbDevice) => string | undefined;
}

/** Serves serial wires and USB buses to the page at the other end of `endpoint`. */
export class BoardHost {
  private readonly wires = new Map<SerialWire, { id: number; off: () => void }>();
  private readonly ports = new Map<number, SimSerialPort>();
  private readonly portIds = new WeakMap<SimSerialPort, number>();
  private readonly conns = new Map<number, HostConnection>();
  private readonly devices = new Map<number, SimUsbDevice>();
  private readonly deviceIds = new WeakMap<SimUsbDevice, number>();
  private next = 1;

  constructor(
    private readonly endpoint: Endpoint<ToBoards, FromBoards>,
    private readonly options: BoardHostOptions = {},
  ) {
    endpoint.addEventListener('message', (event) => this.receive(event.data));
  }

  /** Offers `wire`'s ports to the page (`permitted`: already granted, as after requestPort()). */
  addWire(wire: SerialWire, options: { permitted?: boolean } = {}): void {
    if (this.wires.has(wire)) return;
    const id = this.next++;
    const off = wire.onPortChange((change) => {
      if (change.type === 'connect') this.announce(id, change.port, 'connect');
      else this.announce(id, change.port, 'disconnect');
    });
    this.wires.set(wire, { id, off });
    this.post({
      kind: 'wire',
      wire: id,
      label: this.options.wireLabel?.(wire),
      permitted: options.permitted ?? false,
    });
    if (wire.port) this.announce(id, wire.port, 'connect');
  }

  /** Takes a wire away from the page (as if it never existed). */
  removeWire(wire: SerialWire): void {
    const entry = this.wires.get(wire);
    if (!entry) return;
    entry.off();
    this.wires.delete(wire);
    this.post({ kind: 'wire-removed', wire: entry.id });
  }

  /** Offers every device on `bus` to the page, as they attach and detach. */
  serveBus(bus: SimUsbBus): () => void {
    for (const d of bus.devices) this.attached(d);
    const offs = [bus.onAttach((d) => this.attached(d)), bus.onDetach((d) => this.detached(d))];
    return () => offs.forEach((off) => off());
  }

  /** Grants the page a USB identity (as if chosen earlier in the browser's list). */
  allow(vendorId: number, productId: number, serialNumber?: string): void {
    this.post({ kind: 'usb-grant', vendorId, productId, serialNumber });
  }

  private announce(wire: number, port: SimSerialPort, change: 'connect' | 'disconnect'): void {
    let id = this.portIds.get(port);
    if (id === undefined) {
      id = this.next++;
      this.portIds.set(port, id);
    }
    // A port that went away stays reachable: opening it fails as the board's own port does.
    this.ports.set(id, port);
    this.post({ kind: 'port', wire, port: id, change, info: { ...port.info } });
  }

  private attached(device: SimUsbDevice): void {
    let id = this.deviceIds.get(device);
    if (id === undefined) {
      id = this.next++;
      this.deviceIds.set(device, id);
    }
    this.devices.set(id, device);
    this.post({
      kind: 'usb-attach',
      device: id,
      identity: { ...device.identity },
      configurations: device.configurations,
      configurationValue: device.configurationValue,
      label: this.options.usbLabel?.(device),
    });
  }

  private detached(device: SimUsbDevice): void {
    const id = this.deviceIds.get(device);
    if (id === undefined) return;
    // The device object stays reachable: a transfer already on its way ends as it would.
    this.post({ kind: 'usb-detach', device: id });
  }

  private receive(message: ToBoards): void {
    switch (message.kind) {
      case 'call':
        this.answer(message.call, message.body);
        return;
      case 'signals':
        this.conns.get(message.conn)?.setSignals(message.signals);
        return;
      case 'reconfigure':
        this.conns.get(message.conn)?.reconfigure(message.options);
        return;
      case 'close':
        this.conns.get(message.conn)?.close();
        this.conns.delete(message.conn);
        return;
      case 'usb-configuration-value': {
        const d = this.devices.get(message.device);
        if (d) d.configurationValue = message.value;
        return;
      }
    }
  }

  private answer(call: number, body: BoardCall): void {
    // A board's call that throws at once rejects like one that fails later.
    new Promise<CallResult>((resolve) => resolve(this.perform(body))).then(
      (value) => this.post({ kind: 'reply', call, ok: true, result: value }),
      (err: unknown) => this.post({ kind: 'reply', call, ok: false, error: toWireError(err) }),
    );
  }

  /** @throws {TransportError} as the board's own call would. */
  private perform(body: BoardCall): CallResult | Promise<CallResult> {
    switch (body.op) {
      case 'connect':
        return this.connect(body.port, body.options);
      case 'write': {
        const conn = this.conns.get(body.conn);
        if (!conn) throw new Error('No such connection');
        return conn.write(body.data).then(() => undefined);
      }
      case 'usb-control-in':
        return this.device(body.device).controlIn(body.setup, body.length);
      case 'usb-control-out':
        return this.device(body.device).controlOut(body.setup, body.data);
      case 'usb-set-configuration':
        return this.device(body.device).setConfiguration(body.value);
      case 'usb-set-interface':
        return this.device(body.device).setInterface(body.interfaceNumber, body.alternate);
      case 'usb-bus-reset':
        this.device(body.device).busReset();
        return undefined;
    }
  }

  private connect(portId: number, options: SimOpenOptions): CallResult {
    const port = this.ports.get(portId);
    if (!port) throw new Error('No such port');
    const id = this.next++;
    const conn = port.connect(options, {
      data: (chunk) => {
        const own = chunk.slice();
        this.post({ kind: 'data', conn: id, data: own }, [own.buffer]);
      },
      lost: (error) => {
        this.conns.delete(id);
        this.post({ kind: 'lost', conn: id, error: toWireError(error) });
      },
      lineError: (error) => this.post({ kind: 'line-error', conn: id, error }),
    });
    this.conns.set(id, conn);
    return { conn: id, inputSignals: conn.getInputSignals(), signals: { ...conn.signals } };
  }

  private device(id: number): SimUsbDevice {
    const d = this.devices.get(id);
    if (!d) throw new Error('No such device');
    return d;
  }

  private post(message: FromBoards, transfer: Transferable[] = []): void {
    this.endpoint.postMessage(message, transfer);
  }
}
