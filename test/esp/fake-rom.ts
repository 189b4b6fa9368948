/**
 * A small in-memory ESP ROM loader for unit tests of the client: it decodes SLIP requests from a
 * fake SerialLink and answers the way the serial protocol document describes (8 SYNC replies,
 * READ_REG value, 4 status bytes, ROM MD5 as 32 hex digits, deflate into a flash array).
 * Faults are scripted per command. The full simulator lives in src/sim.
 */
import { createHash } from 'node:crypto';
import { Unzlib } from 'fflate';
import { ByteQueue } from '../../src/core/byte-queue.ts';
import type { Clock } from '../../src/core/clock.ts';
import { TransportError } from '../../src/core/errors.ts';
import { SlipDecoder, slipEncode } from '../../src/framing/slip.ts';
import type { EspChip } from '../../src/protocols/esp/chips.ts';
import { EspCommand, RomError } from '../../src/protocols/esp/constants.ts';
import { decodeCommand, encodeResponse, espChecksum } from '../../src/protocols/esp/packet.ts';
import type {
  LinkOptions,
  PortInfo,
  SerialLink,
  SerialPortHandle,
  SerialSignals,
} from '../../src/transport/link.ts';

export type Fault =
  /** Do not answer. */
  | 'drop'
  /** Answer with a corrupted SLIP escape. */
  | 'garble'
  /** Answer with this ROM error code. */
  | { error: number };

export interface FakeRomOptions {
  chip: EspChip;
  clock: Clock;
  flashSize?: number;
  /** Register values for READ_REG (efuses, magic…); unknown addresses read as 0. */
  registers?: Map<number, number>;
  /** JEDEC id returned by the SPI RDID sequence. */
  flashId?: number;
  /** The chip enters the bootloader only after this many reset sequences (default 1). */
  resetsNeeded?: number;
  /** Above this line speed the wire garbles everything (default: no limit). */
  maxWorkingBaud?: number;
  /** Faults by "OPNAME#n" (n-th occurrence, 1-based), e.g. "FLASH_DEFL_DATA#3". */
  faults?: Map<string, Fault>;
  info?: PortInfo;
}

const opName = (op: number): string =>
  Object.entries(EspCommand).find(([, v]) => v === op)?.[0] ?? `0x${op.toString(16)}`;

export class FakeRom implements SerialPortHandle {
  readonly info: PortInfo;
  readonly flash: Uint8Array;
  readonly log: string[] = [];
  readonly signals: SerialSignals[] = [];
  /** Raw frames the host sent, decoded. */
  readonly requests: { op: number; data: Uint8Array }[] = [];
  baudChanges: number[] = [];
  /** The ROM's UART speed; 0 until the first SYNC sets it (auto-baud). */
  romBaud = 0;
  private readonly chip: EspChip;
  private readonly clock: Clock;
  private readonly registers: Map<number, number>;
  private readonly counts = new Map<string, number>();
  private inBootloader = false;
  private resets = 0;
  private rts = false;
  private decoder = new SlipDecoder({ maxFrameLength: 0x10000 });
  private link: FakeLink | undefined;
  private flashWrite:
    { offset: number; inflate?: Unzlib; written: number; expectSeq: number } | undefined;

  constructor(private readonly options: FakeRomOptions) {
    this.chip = options.chip;
    this.clock = options.clock;
    this.flash = new Uint8Array(options.flashSize ?? 4 * 1024 * 1024).fill(0xff);
    this.registers = new Map(options.registers ?? []);
    this.registers.set(0x40001000, this.chip.magicValues[0]!);
    this.info = options.info ?? { label: 'fake ESP' };
  }

  open(options: LinkOptions): Promise<SerialLink> {
    this.link = new FakeLink(this, options.baudRate, this.clock, this.info);
    return Promise.resolve(this.link);
  }

  get currentLink(): FakeLink | undefined {
    return this.link;
  }

  /** Called by the link for DTR/RTS changes: EN rising (RTS released) with IO0 low enters download mode. */
  onSignals(s: SerialSignals, state: { dtr: boolean; rts: boolean }): void {
    this.signals.push(s);
    if (this.rts && !state.rts) {
      // leaving reset: IO0 is low when DTR is asserted and RTS released
      this.resets++;
      this.inBootloader = state.dtr && this.resets >= (this.options.resetsNeeded ?? 1);
      this.flashWrite = undefined;
      this.romBaud = 0;
    }
    this.rts = state.rts;
  }

  /** Bytes from the host. */
  onBytes(bytes: Uint8Array): void {
    if (!this.wireWorks()) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(bytes);
    } catch {
      return;
    }
    for (const f of frames) this.handle(f);
  }

  /** Bytes pass only when both ends run at the same, workable speed. */
  wireWorks(): boolean {
    const baud = this.link?.baudRate ?? 0;
    if (baud > (this.options.maxWorkingBaud ?? Infinity)) return false;
    return this.romBaud === 0 || this.romBaud === baud;
  }

  private reply(op: number, value = 0, data = new Uint8Array(0), error?: number): void {
    const pkt = encodeResponse({ op, value, data, statusBytes: this.chip.romStatusBytes, error });
    this.link!.deliver(slipEncode(pkt));
  }

  private handle(frame: Uint8Array): void {
    if (!this.inBootloader) return;
    const { op, data, checksum } = decodeCommand(frame);
    this.requests.push({ op, data: data.slice() });
    const name = opName(op);
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    this.log.push(`${name}#${n}`);
    const fault = this.options.faults?.get(`${name}#${n}`);
    if (fault === 'drop') return;
    if (fault === 'garble') {
      this.link!.deliver(Uint8Array.of(0xc0, 0x01, op, 0xdb, 0x01, 0xc0));
      return;
    }
    if (fault) {
      this.reply(op, 0, new Uint8Array(0), fault.error);
      return;
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const word = (i: number): number => v.getUint32(i * 4, true);
    switch (op) {
      case EspCommand.SYNC:
        if (this.romBaud === 0) this.romBaud = this.link!.baudRate;
        for (let i = 0; i < 8; i++) this.reply(op, 0x55201207);
        return;
      case EspCommand.READ_REG:
        this.reply(op, this.registers.get(word(0)) ?? 0);
        return;
      case EspCommand.WRITE_REG: {
        const addr = word(0);
        let value = word(1);
        const spi = this.chip.spi;
        if (addr === spi.base && value & (1 << 18)) {
          this.registers.set(spi.base + spi.w0Offs, this.options.flashId ?? 0);
          value = 0;
        }
        this.registers.set(addr, value);
        this.reply(op);
        return;
      }
      case EspCommand.GET_SECURITY_INFO: {
        if (!this.chip.supportsSecurityInfo) {
          this.reply(op, 0, new Uint8Array(0), RomError.INVALID_MESSAGE);
          return;
        }
        const len = this.chip.securityInfoChipId === undefined ? 12 : 20;
        const out = new Uint8Array(len);
        if (len === 20) new DataView(out.buffer).setUint32(12, this.chip.securityInfoChipId!, true);
        this.reply(op, 0, out);
        return;
      }
      case EspCommand.SPI_ATTACH:
      case EspCommand.SPI_SET_PARAMS:
        this.reply(op);
        return;
      case EspCommand.CHANGE_BAUDRATE:
        this.reply(op);
        this.baudChanges.push(word(0));
        this.romBaud = word(0);
        return;
      case EspCommand.FLASH_DEFL_BEGIN:
      case EspCommand.FLASH_BEGIN: {
        const offset = word(3);
        this.flash.fill(0xff, offset, offset + word(0));
        this.flashWrite = { offset, written: 0, expectSeq: 0 };
        if (op === EspCommand.FLASH_DEFL_BEGIN) {
          const fw = this.flashWrite;
          fw.inflate = new Unzlib((chunk) => {
            this.flash.set(chunk, fw.offset + fw.written);
            fw.written += chunk.length;
          });
        }
        this.reply(op);
        return;
      }
      case EspCommand.FLASH_DEFL_DATA:
      case EspCommand.FLASH_DATA: {
        const size = word(0);
        const block = data.subarray(16, 16 + size);
        const fw = this.flashWrite;
        if (!fw || espChecksum(block) !== checksum) {
          this.reply(op, 0, new Uint8Array(0), fw ? RomError.INVALID_CRC : RomError.FAILED_TO_ACT);
          return;
        }
        if (word(1) !== fw.expectSeq) {
          this.reply(op, 0, new Uint8Array(0), RomError.FAILED_TO_ACT);
          return;
        }
        fw.expectSeq++;
        if (fw.inflate) {
          try {
            fw.inflate.push(block);
          } catch {
            this.reply(op, 0, new Uint8Array(0), RomError.DEFLATE_ERROR);
            return;
          }
        } else {
          this.flash.set(block, fw.offset + fw.written);
          fw.written += block.length;
        }
        this.reply(op);
        return;
      }
      case EspCommand.SPI_FLASH_MD5: {
        const hex = createHash('md5')
          .update(this.flash.subarray(word(0), word(0) + word(1)))
          .digest('hex');
        this.reply(op, 0, new TextEncoder().encode(hex));
        return;
      }
      case EspCommand.READ_FLASH_SLOW: {
        const out = new Uint8Array(64);
        out.set(this.flash.subarray(word(0), word(0) + word(1)));
        this.reply(op, 0, out);
        return;
      }
      default:
        this.reply(op, 0, new Uint8Array(0), RomError.INVALID_MESSAGE);
    }
  }
}

/** The host side of the fake wire. */
export class FakeLink implements SerialLink {
  readonly input: ByteQueue;
  isOpen = true;
  private state = { dtr: false, rts: false };
  private lost: ((e: TransportError) => void)[] = [];

  constructor(
    private readonly rom: FakeRom,
    public baudRate: number,
    clock: Clock,
    readonly info: PortInfo,
  ) {
    this.input = new ByteQueue(clock);
  }

  deliver(bytes: Uint8Array): void {
    // Replies arrive after the host's write resolved, like a real wire; they are lost when the
    // two ends disagree on the speed.
    const ok = this.rom.wireWorks();
    queueMicrotask(() => {
      if (ok) this.input.push(bytes);
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportError('transport.closed', 'closed'));
    this.rom.onBytes(data.slice());
    return Promise.resolve();
  }

  setSignals(s: SerialSignals): Promise<void> {
    if (s.dataTerminalReady !== undefined) this.state.dtr = s.dataTerminalReady;
    if (s.requestToSend !== undefined) this.state.rts = s.requestToSend;
    this.rom.onSignals(s, { ...this.state });
    return Promise.resolve();
  }

  setBaudRate(baudRate: number): Promise<void> {
    this.baudRate = baudRate;
    this.input.discard();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.isOpen = false;
    this.input.end(new TransportError('transport.closed', 'closed'));
    return Promise.resolve();
  }

  onLost(listener: (error: TransportError) => void): () => void {
    this.lost.push(listener);
    return () => {
      this.lost = this.lost.filter((l) => l !== listener);
    };
  }
}
