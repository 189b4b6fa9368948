/**
 * The link model between a host and a simulated device: a USB-UART bridge (CP2102, CH340,
 * FTDI) or a native USB CDC port (ESP32-S3 USB-Serial/JTAG). Bytes take the time they take on
 * the real wire — `bitsPerCharacter / baud` per byte through a bridge, plus the adapter's USB
 * latency — all on an injected Clock, so unit tests run in virtual time and the demo, e2e tests
 * and benchmarks in real time. A baud-rate or format mismatch garbles characters as a real UART
 * does (uart-frame.ts). Faults are injected on demand with a seeded PRNG: dropped, corrupted,
 * duplicated or delayed bytes (wire-faults.ts), unplugging (optionally at byte N), spontaneous
 * device resets, and replies rewritten before they leave the device (`setReplyTamper`, a
 * confused board: reply-fuzzer.ts).
 *
 * The host sees `SimSerialPort`s: one per USB enumeration, like the browser's SerialPort
 * objects. Unplugging or a USB re-enumeration ends the current one (its open link fails with
 * TransportError 'transport.device-lost'); plugging back creates a new one.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { Lane, type Received } from './lane.ts';
import {
  LINK_CP2102,
  type FaultDirection,
  type FaultOptions,
  type LinkModel,
} from './link-model.ts';
import { TransportError } from '../core/errors.ts';
import type { PortInfo, SerialSignals } from '../transport/link.ts';
import { Prng, freshSeed } from './prng.ts';
import { injectFaults, marginalDamage } from './wire-faults.ts';
import type { HostConnection, HostSink, SimOpenOptions } from './sim-link.ts';
import {
  IDLE_SIGNALS,
  SimSerialPort,
  WireConnection,
  closedError,
  toFormat,
} from './sim-serial-port.ts';
import { bitsPerCharacter, receiveCharacter, type UartFormat } from './uart-frame.ts';

export {
  LINK_BYTE_STREAM,
  LINK_CH340,
  LINK_CH343,
  LINK_CP2102,
  LINK_CP2102N,
  LINK_FT231X,
  LINK_FTDI,
  LINK_IDEAL,
  LINK_USB_CDC,
  type FaultDirection,
  type FaultOptions,
  type LinkModel,
} from './link-model.ts';

/** What the simulated device sees of the wire. */
export interface DeviceSide {
  readonly clock: Clock;
  /** The device's UART transmits bytes towards the host. */
  send(data: Uint8Array): void;
  /** The device's UART settings (changed by the firmware, e.g. ESP CHANGE_BAUDRATE). */
  readonly format: UartFormat;
  setFormat(format: Partial<UartFormat>): void;
  /** The host's UART settings while it has the port open (USB CDC: SET_LINE_CODING). */
  readonly hostFormat: UartFormat | undefined;
  /** Output lines of the host as the device sees them; all false when no host has it open. */
  readonly signals: Readonly<Required<SerialSignals>>;
  /**
   * USB-native devices: the USB device detaches now and enumerates again after `downMs`
   * (a new port object on the host), e.g. after a chip reset into an application. `identity`
   * changes the USB ids and label it comes back with (a bootloader with its own product id).
   */
  reenumerate(downMs: number, identity?: Partial<PortInfo>): void;
  /** Drops bytes the device sent that have not reached the host yet (a device reset). */
  flushToHost(): void;
}

/** A simulated board's serial side. */
export interface SimSerialDevice {
  /** Called once by the wire, before anything else. */
  attach(side: DeviceSide): void;
  /** Bytes that arrived on the device's receive line. */
  receive(data: Uint8Array): void;
  /** The host changed DTR/RTS/break (also on open and close). */
  signalsChanged?(signals: Readonly<Required<SerialSignals>>): void;
  /** Bus power came (plug) or went (unplug). */
  powerOn?(): void;
  powerOff?(): void;
  /** A spontaneous reset (watchdog, brown-out), for fault injection. */
  reset?(): void;
}

export interface SerialWireOptions {
  clock: Clock;
  device: SimSerialDevice;
  /** Default LINK_CP2102. */
  link?: LinkModel;
  /** USB identity of the port (the bridge's for 'uart' links, the chip's for USB-native). */
  usbVendorId?: number;
  usbProductId?: number;
  /** Label for logs and the UI. */
  label?: string;
  /** Seed for faults; default a fresh one. */
  seed?: number;
  /** Start unplugged. Default false. */
  unplugged?: boolean;
  /**
   * Opening the port asserts DTR and RTS, closing drops them (Linux termios HUPCL default,
   * which Chromium keeps). Default true.
   */
  assertSignalsOnOpen?: boolean;
}

/** What happened to the port list. */
export interface PortChange {
  type: 'connect' | 'disconnect';
  port: SimSerialPort;
}

/** Counters for tests and benchmarks. */
export interface WireStats {
  bytesToDevice: number;
  bytesToHost: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  delayed: number;
  garbled: number;
}

/**
 * Rewrites what the device transmits before it reaches the wire (a confused board: see
 * reply-fuzzer.ts). Gets each transmission the device makes; returns the bytes to send instead
 * (empty for none).
 */
export type ReplyTamper = (reply: Uint8Array) => Uint8Array;

/**
 * A simulated serial link between one host port and one device.
 *
 * @example
 * const wire = new SerialWire({ clock, device: board, link: LINK_CP2102 });
 * const link = await wire.port!.open({ baudRate: 115200 });
 */
export class SerialWire {
  readonly clock: Clock;
  readonly device: SimSerialDevice;
  readonly link: LinkModel;
  readonly stats: WireStats = {
    bytesToDevice: 0,
    bytesToHost: 0,
    dropped: 0,
    corrupted: 0,
    duplicated: 0,
    delayed: 0,
    garbled: 0,
  };
  private baseInfo: PortInfo;
  private readonly assertOnOpen: boolean;
  private prng: Prng;
  private faults: FaultOptions = {};
  private tamper: ReplyTamper | undefined;
  private unplugAt: { remaining: number; direction: FaultDirection } | undefined;
  private current: SimSerialPort | undefined;
  private generation = 0;
  private conn: WireConnection | undefined;
  private deviceFormat: UartFormat = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 };
  private readonly toDevice: Lane;
  private readonly toHost: Lane;
  private listeners = new Set<(change: PortChange) => void>();
  private returnTimer: TimerHandle | undefined;

  constructor(options: SerialWireOptions) {
    this.clock = options.clock;
    this.device = options.device;
    this.link = options.link ?? LINK_CP2102;
    this.assertOnOpen = options.assertSignalsOnOpen ?? true;
    this.prng = new Prng(options.seed ?? freshSeed());
    const info: PortInfo = {
      label: options.label ?? `Simulated port (${this.link.name})`,
    };
    if (options.usbVendorId !== undefined) info.usbVendorId = options.usbVendorId;
    if (options.usbProductId !== undefined) info.usbProductId = options.usbProductId;
    this.baseInfo = info;
    this.toDevice = new Lane(this.clock, (data) => this.device.receive(data));
    this.toHost = new Lane(this.clock, (data, lineError) => {
      const sink = this.conn?.sink;
      sink?.data(data);
      if (lineError) sink?.lineError?.(lineError);
    });
    this.device.attach(this.deviceSide());
    if (!options.unplugged) this.plug();
  }

  /** The seed of the fault PRNG (print it when a test fails). */
  get seed(): number {
    return this.prng.seed;
  }

  /** The port the host can see now; undefined while unplugged or re-enumerating. */
  get port(): SimSerialPort | undefined {
    return this.current;
  }

  /** Subscribes to ports appearing and disappearing. Returns an unsubscribe function. */
  onPortChange(listener: (change: PortChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets the random faults (replacing earlier ones). A `seed` restarts the PRNG. */
  setFaults(faults: FaultOptions): void {
    this.faults = { ...faults };
    if (faults.seed !== undefined) this.prng = new Prng(faults.seed);
  }

  /** Rewrites every transmission of the device from now on (`undefined` stops it). */
  setReplyTamper(tamper: ReplyTamper | undefined): void {
    this.tamper = tamper;
  }

  /** Unplugs the cable after `bytes` more bytes have crossed the wire (in `direction`). */
  unplugAfter(bytes: number, direction: FaultDirection = 'both'): void {
    this.unplugAt = { remaining: bytes, direction };
  }

  /** Pulls the USB cable: the port disappears, bus power goes, an open link fails. */
  unplug(): void {
    if (!this.current) return;
    this.detach(`the USB cable was unplugged (simulated; fault seed ${this.seed})`);
    this.device.powerOff?.();
  }

  /** Plugs the cable back: bus power returns and a new port appears. */
  plug(): void {
    if (this.current) return;
    this.device.powerOn?.();
    this.enumerate();
  }

  /** A spontaneous device reset (watchdog, brown-out). */
  resetDevice(): void {
    this.device.reset?.();
  }

  /** Time in ms one character takes on the wire from the host (for tests). */
  characterTimeMs(): number {
    return this.byteTimeMs(this.hostTxFormat(this.conn));
  }

  /** Time in ms one character takes on the wire towards the host (for tests). */
  characterTimeToHostMs(): number {
    return this.byteTimeMs(this.deviceFormat);
  }

  // ——— host side ———

  /** @internal used by SimSerialPort */
  connectHost(port: SimSerialPort, options: SimOpenOptions, sink: HostSink): HostConnection {
    if (port !== this.current) {
      throw new TransportError(
        'transport.device-lost',
        `${port.info.label} is no longer connected.`,
        {
          hints: ['Plug the board in again and choose its port.'],
        },
      );
    }
    if (this.conn) {
      throw new TransportError('transport.port-busy', `${port.info.label} is already open.`, {
        hints: ['Close other programs or tabs that use the port.'],
      });
    }
    const conn = new WireConnection(this, port, toFormat(options), sink);
    this.conn = conn;
    if (this.assertOnOpen) {
      conn.signalState = { dataTerminalReady: true, requestToSend: true, break: false };
      this.device.signalsChanged?.(conn.signalState);
    }
    return conn;
  }

  /** @internal */
  hostWrite(conn: WireConnection, data: Uint8Array): Promise<void> {
    if (conn !== this.conn) return Promise.reject(closedError());
    const out = this.applyFaults(data, 'to-device');
    const tx = this.hostTxFormat(conn);
    const done = this.schedule(this.toDevice, out.bytes, tx, out.extraDelay, (d) =>
      this.garble(d, conn.format, this.deviceFormat),
    );
    this.stats.bytesToDevice += out.bytes.length;
    if (out.unplug) this.toDevice.push({ at: done, action: () => this.unplug() });
    return new Promise((resolve) => {
      this.clock.setTimer(Math.max(0, done - this.clock.now()), resolve);
    });
  }

  /** @internal */
  hostSignals(conn: WireConnection): void {
    if (conn === this.conn) this.device.signalsChanged?.(conn.signalState);
  }

  /** @internal */
  hostClose(conn: WireConnection): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.toHost.clear();
    if (this.assertOnOpen) this.device.signalsChanged?.(IDLE_SIGNALS);
  }

  // ——— device side ———

  private deviceSide(): DeviceSide {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const wire = this;
    return {
      clock: this.clock,
      send: (data) => this.deviceSend(data),
      get format() {
        return wire.deviceFormat;
      },
      setFormat: (format) => {
        this.deviceFormat = { ...this.deviceFormat, ...format };
      },
      get hostFormat() {
        return wire.conn?.format;
      },
      get signals() {
        return wire.conn?.signalState ?? IDLE_SIGNALS;
      },
      reenumerate: (downMs, identity) => this.reenumerate(downMs, identity),
      flushToHost: () => this.toHost.clear(),
    };
  }

  private deviceSend(sent: Uint8Array): void {
    if (!this.current || sent.length === 0) return; // no USB host: the bytes go nowhere
    const data = this.tamper ? this.tamper(sent) : sent;
    if (data.length === 0) return;
    const out = this.applyFaults(data, 'to-host');
    const hostFormat = this.conn?.format;
    const done = this.schedule(this.toHost, out.bytes, this.deviceFormat, out.extraDelay, (d) =>
      hostFormat ? this.garble(d, this.deviceFormat, hostFormat) : { data: d },
    );
    this.stats.bytesToHost += out.bytes.length;
    if (out.unplug) this.toHost.push({ at: done, action: () => this.unplug() });
  }

  private reenumerate(downMs: number, identity?: Partial<PortInfo>): void {
    if (identity) this.baseInfo = { ...this.baseInfo, ...identity };
    if (!this.current) return;
    this.detach('the board reset and its USB port re-enumerated');
    if (this.returnTimer) this.clock.clearTimer(this.returnTimer);
    this.returnTimer = this.clock.setTimer(downMs, () => {
      this.returnTimer = undefined;
      this.enumerate();
    });
  }

  // ——— internals ———

  private enumerate(): void {
    this.generation++;
    this.current = new SimSerialPort(this, { ...this.baseInfo }, this.generation);
    this.emit({ type: 'connect', port: this.current });
  }

  private detach(reason: string): void {
    const port = this.current;
    if (!port) return;
    this.current = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.toHost.clear();
    this.toDevice.clear();
    if (conn) {
      conn.dead = true;
      conn.sink.lost(
        new TransportError('transport.device-lost', `The device was lost: ${reason}.`, {
          hints: ['Check the USB cable and plug the board in again.'],
        }),
      );
    }
    this.device.signalsChanged?.(IDLE_SIGNALS);
    this.emit({ type: 'disconnect', port });
  }

  private emit(change: PortChange): void {
    for (const l of [...this.listeners]) l(change);
  }

  /** The host's transmit format: its own, except on a 'stream' link, which follows the device. */
  private hostTxFormat(conn: WireConnection | undefined): UartFormat {
    if (this.link.kind === 'stream' || !conn) return this.deviceFormat;
    return conn.format;
  }

  private byteTimeMs(format: UartFormat): number {
    if (this.link.kind === 'usb-cdc') return 1 / (this.link.bytesPerMs ?? 1000);
    return (bitsPerCharacter(format) / format.baudRate) * 1000;
  }

  /** Queues `bytes` on `lane`; returns the time the last byte leaves the transmitter. */
  private schedule(
    lane: Lane,
    bytes: Uint8Array,
    txFormat: UartFormat,
    extraDelay: number,
    transform: (chunk: Uint8Array) => Received,
  ): number {
    const byteMs = this.byteTimeMs(txFormat);
    const start = Math.max(this.clock.now(), lane.busyUntil) + extraDelay;
    const size = this.link.chunkSize;
    for (let off = 0; off < bytes.length; off += size) {
      const chunk = bytes.slice(off, Math.min(bytes.length, off + size));
      const leaves = start + (off + chunk.length) * byteMs;
      const got = transform(chunk);
      lane.push({ at: leaves + this.link.latencyMs, data: got.data, lineError: got.lineError });
    }
    lane.busyUntil = start + bytes.length * byteMs;
    return lane.busyUntil;
  }

  /** Characters sent with one UART format and sampled with another (uart links only). */
  private garble(chunk: Uint8Array, tx: UartFormat, rx: UartFormat): Received {
    if (this.link.kind !== 'uart') return { data: chunk };
    const rate = Math.max(tx.baudRate, rx.baudRate);
    if (rate > (this.link.maxBaudRate ?? Infinity)) {
      this.stats.garbled += chunk.length;
      return { data: new Uint8Array(chunk.length), lineError: 'framing' };
    }
    const marginal = this.link.marginal;
    let parity = false;
    if (marginal && rate > marginal.baudRate) {
      const hit = marginalDamage(this.prng, marginal.perCharacter, chunk);
      this.stats.garbled += hit.damaged;
      chunk = hit.data;
      parity = hit.damaged > 0 && rx.parity !== 'none';
    }
    let framing = false;
    let changed = false;
    const out = new Uint8Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const r = receiveCharacter(chunk[i]!, tx, rx);
      out[i] = r.value;
      if (r.value !== chunk[i] || r.framingError || r.parityError) {
        changed = true;
        this.stats.garbled++;
      }
      framing ||= r.framingError;
      parity ||= r.parityError;
    }
    const lineError = framing ? 'framing' : parity ? 'parity' : undefined;
    return { data: changed ? out : chunk, lineError };
  }

  private applyFaults(
    data: Uint8Array,
    direction: 'to-device' | 'to-host',
  ): { bytes: Uint8Array; extraDelay: number; unplug: boolean } {
    let bytes = data;
    let unplug = false;
    const u = this.unplugAt;
    if (u && (u.direction === 'both' || u.direction === direction)) {
      if (bytes.length >= u.remaining) {
        bytes = bytes.subarray(0, u.remaining);
        this.unplugAt = undefined;
        unplug = true;
      } else {
        u.remaining -= bytes.length;
      }
    }
    const out = injectFaults(this.prng, this.faults, bytes, direction, this.stats);
    return { ...out, unplug };
  }
}
