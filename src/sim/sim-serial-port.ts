/**
 * The host's view of a simulated serial wire (serial-wire.ts): one `SimSerialPort` per USB
 * enumeration, like the browser's SerialPort objects, and the wire's record of the connection
 * the host opened on it.
 */
import type { Clock } from '../core/clock.ts';
import { TransportError } from '../core/errors.ts';
import type {
  LinkOptions,
  PortInfo,
  SerialLink,
  SerialPortHandle,
  SerialSignals,
} from '../transport/link.ts';
import type { SerialWire } from './serial-wire.ts';
import {
  SimSerialLink,
  type HostConnection,
  type HostSink,
  type InputSignals,
  type SimHostPort,
  type SimOpenOptions,
} from './sim-link.ts';
import type { UartFormat } from './uart-frame.ts';

/** Output lines of a port nobody has open. */
export const IDLE_SIGNALS: Readonly<Required<SerialSignals>> = {
  dataTerminalReady: false,
  requestToSend: false,
  break: false,
};

/** The wire's record of the host's open connection. */
export class WireConnection implements HostConnection {
  signalState: Required<SerialSignals> = { ...IDLE_SIGNALS };
  dead = false;
  private isClosed = false;

  constructor(
    private readonly wire: SerialWire,
    readonly port: SimSerialPort,
    public format: UartFormat,
    readonly sink: HostSink,
  ) {}

  get closed(): boolean {
    return this.isClosed || this.dead;
  }

  get signals(): Readonly<Required<SerialSignals>> {
    return this.signalState;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(this.dead ? lostError(this.port) : closedError());
    return this.wire.hostWrite(this, data);
  }

  setSignals(signals: SerialSignals): void {
    if (this.closed) return;
    const next = { ...this.signalState };
    if (signals.dataTerminalReady !== undefined) next.dataTerminalReady = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) next.requestToSend = signals.requestToSend;
    if (signals.break !== undefined) next.break = signals.break;
    this.signalState = next;
    this.wire.hostSignals(this);
  }

  getInputSignals(): InputSignals {
    return {
      dataCarrierDetect: false,
      clearToSend: false,
      ringIndicator: false,
      dataSetReady: false,
    };
  }

  reconfigure(options: SimOpenOptions): void {
    this.format = toFormat(options);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.wire.hostClose(this);
  }
}

/**
 * One USB enumeration of the simulated port, as the host sees it. Implements SerialPortHandle,
 * so the engine can open it like a Web Serial port.
 */
export class SimSerialPort implements SerialPortHandle, SimHostPort {
  constructor(
    private readonly wire: SerialWire,
    readonly info: PortInfo,
    /** 1 for the first enumeration, 2 after the first re-plug or re-enumeration… */
    readonly generation: number,
  ) {}

  get clock(): Clock {
    return this.wire.clock;
  }

  /** The wire this port belongs to (the same board across re-enumerations). */
  get owner(): SerialWire {
    return this.wire;
  }

  /** True while this enumeration is the one connected. */
  get present(): boolean {
    return this.wire.port === this;
  }

  /** Raw connection with callbacks (what the fake Web Serial builds on). */
  connect(options: SimOpenOptions, sink: HostSink): HostConnection {
    return this.wire.connectHost(this, options, sink);
  }

  /** @throws {TransportError} 'transport.device-lost' | 'transport.port-busy' */
  open(options: LinkOptions): Promise<SerialLink> {
    return new Promise((resolve) => resolve(SimSerialLink.open(this, options)));
  }
}

export function toFormat(o: SimOpenOptions): UartFormat {
  return {
    baudRate: o.baudRate,
    dataBits: o.dataBits ?? 8,
    parity: o.parity ?? 'none',
    stopBits: o.stopBits ?? 1,
  };
}

export function closedError(): TransportError {
  return new TransportError('transport.closed', 'The serial port is closed.');
}

function lostError(port: SimSerialPort): TransportError {
  return new TransportError('transport.device-lost', `${port.info.label} is no longer connected.`);
}
