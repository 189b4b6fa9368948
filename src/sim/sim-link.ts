/**
 * The host end of a simulated serial port, and `SimSerialLink`, the `SerialLink`
 * (src/transport/link.ts) over it that unit tests, the demo and the benchmarks hand to the
 * protocol drivers in place of the Web Serial adapter.
 */
import { ByteQueue } from '../core/byte-queue.ts';
import type { Clock } from '../core/clock.ts';
import { TransportError } from '../core/errors.ts';
import type {
  LinkOptions,
  Parity,
  PortInfo,
  SerialLink,
  SerialSignals,
} from '../transport/link.ts';

/** How the host configures its UART (the Web Serial `SerialOptions` that matter on the wire). */
export interface SimOpenOptions {
  baudRate: number;
  /** 7 or 8; default 8. */
  dataBits?: number;
  /** 1 or 2; default 1. */
  stopBits?: number;
  parity?: Parity;
}

/** Receive-side line errors a UART reports (Web Serial names them as DOMExceptions). */
export type LineErrorKind = 'break' | 'framing' | 'parity' | 'overrun';

/** Where a host connection delivers what happens on the line. */
export interface HostSink {
  /** Received bytes, in order. The chunk belongs to the sink. */
  data(chunk: Uint8Array): void;
  /** The device vanished (unplug, re-enumeration). Called once; the connection is dead. */
  lost(error: TransportError): void;
  /** A receive error on the line (garbled character at a wrong baud rate, break…). */
  lineError?(kind: LineErrorKind): void;
}

/** Input modem lines, as in the Web Serial `SerialInputSignals` dictionary. */
export interface InputSignals {
  dataCarrierDetect: boolean;
  clearToSend: boolean;
  ringIndicator: boolean;
  dataSetReady: boolean;
}

/** An open host connection to a simulated port. */
export interface HostConnection {
  readonly closed: boolean;
  /** Current output line state. */
  readonly signals: Readonly<Required<SerialSignals>>;
  /** Sends bytes; resolves once the last one has left the host's transmitter. */
  write(data: Uint8Array): Promise<void>;
  /** Changes the given output lines; absent members keep their state. */
  setSignals(signals: SerialSignals): void;
  getInputSignals(): InputSignals;
  /** New line settings without closing (the simulator's stand-in for close + reopen). */
  reconfigure(options: SimOpenOptions): void;
  /** Closes; pending received bytes are dropped. Idempotent. */
  close(): void;
}

/** What `SimSerialLink` needs from a port. */
export interface SimHostPort {
  readonly info: PortInfo;
  readonly clock: Clock;
  /** @throws {TransportError} 'transport.device-lost' when gone, 'transport.port-busy' when open. */
  connect(options: SimOpenOptions, sink: HostSink): HostConnection;
}

/** A `SerialLink` over a simulated port: received bytes go into a ByteQueue on the port's clock. */
export class SimSerialLink implements SerialLink {
  readonly info: PortInfo;
  readonly input: ByteQueue;
  /** Line errors seen so far (garbled characters), by kind. */
  readonly lineErrors: Record<LineErrorKind, number> = {
    break: 0,
    framing: 0,
    parity: 0,
    overrun: 0,
  };
  private conn: HostConnection;
  private baud: number;
  private readonly options: SimOpenOptions;
  private lostListeners = new Set<(error: TransportError) => void>();
  private open = true;

  constructor(port: SimHostPort, options: SimOpenOptions) {
    this.info = port.info;
    this.input = new ByteQueue(port.clock);
    this.options = { ...options };
    this.baud = options.baudRate;
    this.conn = port.connect(options, {
      data: (chunk) => this.input.push(chunk),
      lost: (error) => this.onDeviceLost(error),
      lineError: (kind) => this.lineErrors[kind]++,
    });
  }

  /** Opens a link on `port` (what `SimSerialPort.open` does). */
  static open(port: SimHostPort, options: LinkOptions): SimSerialLink {
    return new SimSerialLink(port, {
      baudRate: options.baudRate,
      parity: options.parity ?? 'none',
    });
  }

  get baudRate(): number {
    return this.baud;
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(closedError());
    return this.conn.write(data);
  }

  setSignals(signals: SerialSignals): Promise<void> {
    if (!this.open) return Promise.reject(closedError());
    this.conn.setSignals(signals);
    return Promise.resolve();
  }

  setBaudRate(baudRate: number): Promise<void> {
    if (!this.open) return Promise.reject(closedError());
    this.baud = baudRate;
    this.conn.reconfigure({ ...this.options, baudRate });
    this.input.discard();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.open) {
      this.open = false;
      this.conn.close();
      this.input.end(closedError());
    }
    return Promise.resolve();
  }

  onLost(listener: (error: TransportError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  private onDeviceLost(error: TransportError): void {
    if (!this.open) return;
    this.open = false;
    this.input.end(error);
    for (const l of [...this.lostListeners]) l(error);
    this.lostListeners.clear();
  }
}

function closedError(): TransportError {
  return new TransportError('transport.closed', 'The serial port is closed.');
}
