/**
 * The device side of SMP over a console, shared by the simulated Zephyr application and the
 * simulated MCUboot serial recovery: frames in (console-framing.ts decoder, which skips what is
 * not a frame), one request handled at a time, the reply framed back with the request's
 * version, group, sequence number and command and OP + 1 (SMP Protocol Specification). Reply
 * bodies are encoded the way zcbor encodes them: maps and arrays of indefinite length.
 *
 * A handler returns the reply body, how long the work takes (flash erase and programming
 * times), and what to do once the reply has gone (a reset).
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { decodeCborMap, encodeCborIndefinite, type CborMap } from '../../protocols/mcuboot/cbor.ts';
import { SmpConsoleDecoder, encodeSmpConsole } from '../../protocols/mcuboot/console-framing.ts';
import { MgmtErr } from '../../protocols/mcuboot/errors.ts';
import {
  SmpOp,
  decodeSmpPacket,
  encodeSmpPacket,
  type SmpHeader,
} from '../../protocols/mcuboot/smp.ts';

export interface SmpRequest {
  header: SmpHeader;
  body: CborMap;
  /** The raw CBOR body, for handlers that check its size. */
  raw: Uint8Array;
  /** True for a write (OP 2), false for a read (OP 0). */
  write: boolean;
}

export interface SmpResult {
  body: CborMap;
  /** Time the device spends before replying (flash work), ms. */
  busyMs?: number;
  /** Runs after the reply has been sent. */
  after?: () => void;
}

export type SmpHandler = (req: SmpRequest) => SmpResult;

export interface SmpServerOptions {
  clock: Clock;
  send: (bytes: Uint8Array) => void;
  handler: SmpHandler;
  /** Largest SMP packet accepted (the receive buffer); longer ones are dropped. */
  maxPacket: number;
  /** Processing time of any request, ms. Default 0.2. */
  baseMs?: number;
  /** Where to record the traffic (default: the server's own `log`). */
  log?: SmpTraffic[];
}

/** Requests the server received and answered, for tests. */
export interface SmpTraffic {
  header: SmpHeader;
  body: CborMap;
  reply: CborMap;
}

export class SmpServer {
  readonly log: SmpTraffic[];
  /** Packets dropped for a bad frame, CRC, header or CBOR. */
  dropped = 0;
  private readonly decoder: SmpConsoleDecoder;
  private queue: Uint8Array[] = [];
  private busy: TimerHandle | undefined;

  constructor(private readonly options: SmpServerOptions) {
    this.log = options.log ?? [];
    this.decoder = new SmpConsoleDecoder({ maxPacket: options.maxPacket + 4 });
  }

  /** Bytes from the host. */
  receive(data: Uint8Array): void {
    for (const e of this.decoder.push(data)) {
      if (e.kind === 'packet') this.queue.push(e.packet);
      else if (e.kind === 'bad-frame') this.dropped++;
    }
    this.pump();
  }

  /** Forgets everything (a reset). */
  stop(): void {
    if (this.busy) this.options.clock.clearTimer(this.busy);
    this.busy = undefined;
    this.queue = [];
    this.decoder.reset();
  }

  private pump(): void {
    while (!this.busy) {
      const packet = this.queue.shift();
      if (!packet) return;
      this.handle(packet);
    }
  }

  private handle(packet: Uint8Array): void {
    let header: SmpHeader;
    let raw: Uint8Array;
    try {
      ({ header, body: raw } = decodeSmpPacket(packet));
    } catch {
      this.dropped++;
      return;
    }
    if (header.op !== SmpOp.READ && header.op !== SmpOp.WRITE) {
      this.dropped++;
      return;
    }
    let body: CborMap;
    let result: SmpResult;
    try {
      body = raw.length === 0 ? {} : decodeCborMap(raw);
      result = this.options.handler({ header, body, raw, write: header.op === SmpOp.WRITE });
    } catch {
      body = {};
      result = { body: { rc: MgmtErr.EINVAL } };
    }
    this.log.push({ header, body, reply: result.body });
    const reply = encodeSmpPacket(
      { ...header, op: header.op + 1, flags: 0 },
      encodeCborIndefinite(result.body),
    );
    const { clock } = this.options;
    this.busy = clock.setTimer((this.options.baseMs ?? 0.2) + (result.busyMs ?? 0), () => {
      this.busy = undefined;
      this.options.send(encodeSmpConsole(reply));
      result.after?.();
      this.pump();
    });
  }
}
