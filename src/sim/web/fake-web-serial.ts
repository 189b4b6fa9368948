/**
 * A faithful stand-in for the W3C Web Serial API (https://wicg.github.io/serial/) over the
 * simulated ports of `SerialWire`: `FakeSerial` plays `navigator.serial`, `FakeSerialPort` plays
 * `SerialPort`. Our real src/transport/webserial.ts, esptool-js, the demo mode and Playwright
 * tests talk to simulated boards through it exactly as they talk to real ones in Chromium.
 *
 * Followed from the spec (section names in comments): state checks with the spec's
 * DOMException names (InvalidStateError, NetworkError, NotFoundError), argument validation
 * (TypeError), `readable`/`writable` created lazily per open, recoverable receive errors
 * (BreakError, FramingError, ParityError, BufferOverrunError) that error the current readable
 * while `port.readable` returns a fresh one, a fatal NetworkError when the device is lost,
 * connect/disconnect events on the port that bubble to `navigator.serial`, permissions
 * remembered per device across re-enumeration, and `forget()`.
 * Chromium behaviour where the spec is silent: `close()` rejects with TypeError while a stream
 * is locked ("Cannot cancel a locked stream").
 */
import type { SerialWire } from '../serial-wire.ts';
import type { HostPortChange, HostWireView } from './host-views.ts';
import { FakeSerialPort, HandlerSlot, fireConnectionEvent } from './fake-serial-port.ts';

export { FakeSerialPort } from './fake-serial-port.ts';

/** Decides which port the "user" picks in the chooser; undefined means Cancel. */
export type PortChooser = (
  candidates: readonly FakeSerialPort[],
  options: SerialPortRequestOptions | undefined,
) => FakeSerialPort | undefined | Promise<FakeSerialPort | undefined>;

/** Picks the only candidate, or the first one. */
const pickFirst: PortChooser = (candidates) => candidates[0];

function matchesFilter(info: SerialPortInfo, filter: SerialPortFilter): boolean {
  if (filter.usbVendorId !== undefined && info.usbVendorId !== filter.usbVendorId) return false;
  if (filter.usbProductId !== undefined && info.usbProductId !== filter.usbProductId) return false;
  if (filter.bluetoothServiceClassId !== undefined) return false;
  return true;
}

export interface FakeSerialOptions {
  /** Who picks the port in `requestPort()`. Default `pickFirst`. */
  chooser?: PortChooser;
}

/** `navigator.serial` over simulated wires. */
export class FakeSerial extends EventTarget implements Serial {
  private readonly connectSlot = new HandlerSlot(this, 'connect');
  private readonly disconnectSlot = new HandlerSlot(this, 'disconnect');

  private chooser: PortChooser;
  private readonly ports = new Map<HostWireView, FakeSerialPort>();
  private readonly permitted = new Set<HostWireView>();
  private readonly unsubscribe = new Map<HostWireView, () => void>();

  constructor(options: FakeSerialOptions = {}) {
    super();
    this.chooser = options.chooser ?? pickFirst;
  }

  get onconnect(): ((this: Serial, ev: Event) => void) | null {
    return this.connectSlot.handler;
  }
  set onconnect(handler: ((this: Serial, ev: Event) => void) | null) {
    this.connectSlot.set(handler);
  }
  get ondisconnect(): ((this: Serial, ev: Event) => void) | null {
    return this.disconnectSlot.handler;
  }
  set ondisconnect(handler: ((this: Serial, ev: Event) => void) | null) {
    this.disconnectSlot.set(handler);
  }

  /** Replaces the chooser (the "user" in front of the port picker). */
  setChooser(chooser: PortChooser): void {
    this.chooser = chooser;
  }

  /**
   * Makes a simulated board available. With `permitted`, the site already has permission (as
   * after an earlier `requestPort()`), so `getPorts()` lists it.
   */
  addWire(wire: HostWireView, options: { permitted?: boolean } = {}): void {
    if (this.unsubscribe.has(wire)) return;
    if (options.permitted) this.permitted.add(wire);
    if (wire.port) this.ports.set(wire, new FakeSerialPort(wire.port, this));
    this.unsubscribe.set(
      wire,
      wire.onPortChange((change) => this.onChange(wire, change)),
    );
  }

  /** Removes a board (as if it never existed); an open port sees a device loss. */
  removeWire(wire: HostWireView): void {
    this.unsubscribe.get(wire)?.();
    this.unsubscribe.delete(wire);
    this.ports.get(wire)?.markDisconnected();
    this.ports.delete(wire);
    this.permitted.delete(wire);
  }

  /** The port object currently standing for `wire` (for test hooks and choosers). */
  portFor(wire: HostWireView): FakeSerialPort | undefined {
    return this.ports.get(wire);
  }

  /** Spec §"requestPort() method". */
  async requestPort(options?: SerialPortRequestOptions): Promise<SerialPort> {
    const filters = options?.filters;
    if (filters) {
      for (const f of filters) {
        if (f.bluetoothServiceClassId !== undefined) {
          if (f.usbVendorId !== undefined || f.usbProductId !== undefined) {
            throw new TypeError(
              'A filter cannot specify both bluetoothServiceClassId and usbVendorId or usbProductId.',
            );
          }
          continue;
        }
        if (f.usbVendorId === undefined) {
          if (f.usbProductId !== undefined) {
            throw new TypeError(
              'A filter containing a usbProductId must also specify a usbVendorId.',
            );
          }
          throw new TypeError('A filter must provide a property to filter by.');
        }
      }
    }
    const candidates = [...this.ports.values()].filter(
      (p) => !filters || filters.length === 0 || filters.some((f) => matchesFilter(p.getInfo(), f)),
    );
    const picked = await this.chooser(candidates, options);
    if (!picked || !candidates.includes(picked)) {
      throw new DOMException('No port selected by the user.', 'NotFoundError');
    }
    this.permitted.add(picked.sim.owner);
    return picked;
  }

  /** Spec §"getPorts() method": connected ports the site has permission for. */
  async getPorts(): Promise<SerialPort[]> {
    await Promise.resolve();
    return [...this.ports.entries()].filter(([wire]) => this.permitted.has(wire)).map(([, p]) => p);
  }

  /** @internal `forget()` on a port. */
  revoke(port: FakeSerialPort): void {
    this.permitted.delete(port.sim.owner);
  }

  /** Stops following every wire. */
  dispose(): void {
    for (const wire of [...this.unsubscribe.keys()]) this.removeWire(wire);
  }

  private onChange(wire: HostWireView, change: HostPortChange): void {
    if (change.type === 'connect') {
      const port = new FakeSerialPort(change.port, this);
      this.ports.set(wire, port);
      // Spec §"connect event": only ports the site may access are announced.
      if (this.permitted.has(wire)) fireConnectionEvent(port, this, 'connect');
    } else {
      const port = this.ports.get(wire);
      if (!port || port.sim !== change.port) return;
      this.ports.delete(wire);
      port.markDisconnected();
      if (this.permitted.has(wire)) fireConnectionEvent(port, this, 'disconnect');
    }
  }
}

export interface InstallOptions extends FakeSerialOptions {
  /** Boards to offer. */
  wires?: readonly SerialWire[];
  /** Boards the site already has permission for. */
  permitted?: readonly SerialWire[];
  /** The navigator to patch; default `globalThis.navigator`. */
  navigator?: object;
}

/**
 * Replaces `navigator.serial` with a FakeSerial (also where Chromium has a real one whose
 * picker never resolves under automation). Returns the fake and a function that restores the
 * original.
 * @example const { serial } = installFakeWebSerial({ wires: [wire], chooser: pickFirst });
 */
export function installFakeWebSerial(options: InstallOptions = {}): {
  serial: FakeSerial;
  uninstall: () => void;
} {
  const nav = options.navigator ?? (globalThis as { navigator?: object }).navigator;
  if (!nav) throw new TypeError('installFakeWebSerial: no navigator to patch');
  const serial = new FakeSerial(options.chooser ? { chooser: options.chooser } : {});
  for (const wire of options.wires ?? []) {
    serial.addWire(wire, { permitted: options.permitted?.includes(wire) ?? false });
  }
  const own = Object.getOwnPropertyDescriptor(nav, 'serial');
  Object.defineProperty(nav, 'serial', { value: serial, configurable: true, enumerable: true });
  return {
    serial,
    uninstall: () => {
      serial.dispose();
      if (own) Object.defineProperty(nav, 'serial', own);
      else delete (nav as { serial?: unknown }).serial;
    },
  };
}
