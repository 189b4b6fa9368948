/**
 * The device side of the Espressif serial bootloader protocol (esptool serial protocol,
 * "Command Packet" / "Response Packet" / "Commands" / "Functional Description"): the ROM loader
 * of each chip, and — once a RAM download is started — the replies of esptool's flasher stub.
 *
 * Replies match the ROM byte for byte where it is documented: the value field carries the last
 * register read (as in esptool traces), status bytes are 4 on ESP32-and-later ROMs and 2 on the
 * ESP8266 ROM and the stub, SPI_FLASH_MD5 answers 32 ASCII hex digits from the ROM and 16 raw
 * bytes from the stub, errors use the ROM codes (0x05 invalid message, 0x07 bad checksum, 0x0b
 * inflate error…) or the stub codes (0xC0…), and an unknown command gets status 1 / error 0x05
 * (ROM) or 0xFF (stub).
 *
 * The simulator does not execute uploaded code. When MEM_END jumps into RAM that was just
 * loaded, it assumes the code is esptool's flasher stub (which is what every tool uploads):
 * it greets with "OHAI" and speaks the stub protocol from then on.
 *
 * The stub's timing follows esptool `flasher_stub/stub_flasher.c` `cmd_loop`: FLASH_DATA and
 * FLASH_DEFL_DATA are acknowledged as soon as the block is received and checked ("ACK DATA
 * commands immediately, then process them … allowing next command to buffer"), and the block is
 * inflated, erased ahead and programmed after the reply (stub-writer.ts). The main loop takes
 * the next command only once that work is done, so the reply to the next command (the next
 * block, FLASH_DEFL_END, SPI_FLASH_MD5…) waits for it. `busyMs` tells the board how long.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { Unzlib } from 'fflate';
import { concatBytes, toHex, view } from '../../core/bytes.ts';
import type { EspChip } from '../../protocols/esp/chips.ts';
import {
  ESP_CHECKSUM_SEED,
  EspCommand,
  FLASH_WRITE_SIZE_STUB,
  RomError,
  STATUS_BYTES_STUB,
  StubError,
  SYNC_EXTRA_REPLIES,
  SYNC_PAYLOAD,
} from '../../protocols/esp/constants.ts';
import { encodeResponse, espChecksum, type CommandPacket } from '../../protocols/esp/packet.ts';
import type { FlashModel } from '../flash-model.ts';
import type { EspRegisterFile } from './registers.ts';
import { StubFlashWrite } from './stub-writer.ts';

/** The value field of the ROM's SYNC replies (esptool-js and esptool traces of ESP32 ROMs). */
export const SYNC_REPLY_VALUE = 0x20120707;

/** What the loader needs from its board. */
export interface LoaderContext {
  chip: EspChip;
  flash: FlashModel;
  registers: EspRegisterFile;
  /** Waits `ms` of device time (flash erase/program, register write delays). */
  wait(ms: number): Promise<void>;
}

/** What the board must do after sending the replies. */
export type LoaderAction =
  | { kind: 'baud'; baudRate: number }
  | { kind: 'reboot' }
  | { kind: 'run-user-code' }
  | { kind: 'stub-started' }
  /** Stub READ_FLASH: stream the region in packets, at most `maxInFlight` unacknowledged. */
  | { kind: 'read-flash'; address: number; size: number; packetSize: number; maxInFlight: number };

export interface LoaderResult {
  replies: Uint8Array[];
  after?: LoaderAction;
}

interface WriteState {
  compressed: boolean;
  offset: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
  /** Bytes written so far (compressed writes: decompressed bytes). */
  written: number;
  inflater?: Unzlib;
  inflateFailed?: boolean;
}

interface MemState {
  offset: number;
  size: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
}

/** RAM regions loaded with MEM_* (address → bytes), for the stub check at MEM_END. */
type RamModel = Map<number, Uint8Array>;

/** Flash MD5 speed of the ROM (reads and hashes about 2 MB/s, measured on ESP32 with esptool). */
const MD5_MS_PER_BYTE = 1 / 2000;

/** One ESP serial loader session (ROM, then stub once uploaded). Reset = a new instance. */
export class EspLoader {
  private stub = false;
  private lastValue = 0;
  private write: WriteState | undefined;
  private mem: MemState | undefined;
  private readonly ram: RamModel = new Map();
  private flashBusyUntil = 0;
  /** The stub's write in progress (FLASH_BEGIN / FLASH_DEFL_BEGIN … FLASH_END). */
  private stubWrite: StubFlashWrite | undefined;

  constructor(
    private readonly ctx: LoaderContext,
    private readonly now: () => number,
  ) {}

  /** True once the (simulated) flasher stub runs. */
  get isStub(): boolean {
    return this.stub;
  }

  /** How long the stub's flash work on acknowledged blocks still runs (ms of device time). */
  get busyMs(): number {
    return Math.max(0, this.flashBusyUntil - this.now());
  }

  /**
   * The stub's answer to a frame shorter than its size field says: it does not compare the two
   * (stub_flasher.c `cmd_loop` reads `data_len` from the header), so for a data block it sums
   * bytes that never arrived and replies "bad data checksum"; other short frames are ignored.
   * The ROM ignores every malformed frame.
   */
  truncated(frame: Uint8Array): Uint8Array | undefined {
    if (!this.stub || frame.length < 8 || frame[0] !== 0) return undefined;
    const op = frame[1]!;
    const data =
      op === EspCommand.FLASH_DATA ||
      op === EspCommand.FLASH_DEFL_DATA ||
      op === EspCommand.MEM_DATA;
    if (!data) return undefined;
    return encodeResponse({
      op,
      value: 0,
      statusBytes: STATUS_BYTES_STUB,
      error: StubError.BAD_DATA_CHECKSUM,
    });
  }

  /** Status bytes in every reply of the current loader. */
  get statusBytes(): number {
    return this.stub ? STATUS_BYTES_STUB : this.ctx.chip.romStatusBytes;
  }

  /** Handles one decoded command packet. */
  async handle(cmd: CommandPacket): Promise<LoaderResult> {
    // The stub acknowledges data blocks before writing them; later commands wait for the flash.
    const busy = this.flashBusyUntil - this.now();
    if (busy > 0) await this.ctx.wait(busy);
    try {
      return await this.dispatch(cmd);
    } catch (err) {
      if (err instanceof LoaderFailure) return this.fail(cmd.op, err.code);
      throw err;
    }
  }

  private async dispatch(cmd: CommandPacket): Promise<LoaderResult> {
    const { chip } = this.ctx;
    const d = cmd.data;
    switch (cmd.op) {
      case EspCommand.SYNC:
        return this.sync(d);
      case EspCommand.READ_REG: {
        need(d.length === 4);
        this.lastValue = this.ctx.registers.read(view(d).getUint32(0, true));
        return { replies: [this.reply(cmd.op, this.lastValue)] };
      }
      case EspCommand.WRITE_REG:
        return this.writeReg(cmd);
      case EspCommand.SPI_SET_PARAMS:
        if (!this.stub && !chip.romSupportsSpiAttach) break;
        need(d.length === 24);
        return this.ok(cmd.op);
      case EspCommand.SPI_ATTACH:
        if (!this.stub && !chip.romSupportsSpiAttach) break;
        // ROM: 8 bytes (pin config + a zero word); the stub and esptool-js send 4.
        need(d.length === 4 || d.length === 8);
        return this.ok(cmd.op);
      case EspCommand.CHANGE_BAUDRATE: {
        if (!this.stub && !chip.romSupportsChangeBaud) break;
        need(d.length === 8);
        const baudRate = view(d).getUint32(0, true);
        need(baudRate >= 300 && baudRate <= 5_000_000);
        // The reply goes out at the old speed; the UART switches right after it.
        return { ...this.ok(cmd.op), after: { kind: 'baud', baudRate } };
      }
      case EspCommand.FLASH_BEGIN:
        return this.stub ? this.stubFlashBegin(cmd, false) : this.flashBegin(cmd, false);
      case EspCommand.FLASH_DEFL_BEGIN:
        if (this.stub) return this.stubFlashBegin(cmd, true);
        if (!chip.romSupportsCompressed) break;
        return this.flashBegin(cmd, true);
      case EspCommand.FLASH_DATA:
        return this.stub ? this.stubFlashData(cmd, false) : this.flashData(cmd, false);
      case EspCommand.FLASH_DEFL_DATA:
        if (this.stub) return this.stubFlashData(cmd, true);
        if (!chip.romSupportsCompressed) break;
        return this.flashData(cmd, true);
      case EspCommand.FLASH_END:
      case EspCommand.FLASH_DEFL_END:
        if (this.stub) return this.stubFlashEnd(cmd);
        if (cmd.op === EspCommand.FLASH_DEFL_END && !chip.romSupportsCompressed) break;
        return this.flashEnd(cmd);
      case EspCommand.SPI_FLASH_MD5:
        if (!this.stub && chip.id === 'esp8266') break;
        return this.flashMd5(cmd);
      case EspCommand.GET_SECURITY_INFO:
        if (!chip.supportsSecurityInfo) break;
        return this.securityInfo(cmd.op);
      case EspCommand.READ_FLASH_SLOW:
        if (this.stub || !chip.romSupportsReadFlashSlow) break;
        return this.readFlashSlow(cmd);
      case EspCommand.MEM_BEGIN:
        return this.memBegin(cmd);
      case EspCommand.MEM_DATA:
        return this.memData(cmd);
      case EspCommand.MEM_END:
        return this.memEnd(cmd);
      case EspCommand.ERASE_FLASH:
        if (!this.stub) break;
        await this.ctx.wait(this.ctx.flash.eraseAll());
        return this.ok(cmd.op);
      case EspCommand.ERASE_REGION: {
        if (!this.stub) break;
        need(d.length === 8);
        const [addr, size] = args(d);
        // stub_flasher.c: address and size must be sector aligned.
        if (addr % 4096 !== 0 || size % 4096 !== 0) throw new LoaderFailure(StubError.BAD_DATA_LEN);
        await this.erase(addr, size);
        return this.ok(cmd.op);
      }
      case EspCommand.READ_FLASH: {
        if (!this.stub) break;
        need(d.length === 16);
        const [address, size, packetSize, maxInFlight] = args(d);
        if (address + size > this.ctx.flash.size || packetSize === 0 || maxInFlight === 0) {
          throw new LoaderFailure(StubError.BAD_DATA_LEN);
        }
        return {
          ...this.ok(cmd.op),
          after: { kind: 'read-flash', address, size, packetSize, maxInFlight },
        };
      }
      case EspCommand.RUN_USER_CODE:
        if (!this.stub) break;
        return { replies: [], after: { kind: 'run-user-code' } };
      default:
        break;
    }
    return this.fail(cmd.op, this.stub ? StubError.CMD_NOT_IMPLEMENTED : RomError.INVALID_MESSAGE);
  }

  /**
   * SYNC: the ROM answers 8 times (loader.py `sync`). So does the stub, with value 0, which is
   * how esptool tells them apart (stub_flasher.c `cmd_loop` case ESP_SYNC: "Bootloader responds
   * to the SYNC request with eight identical SYNC responses. Stub flasher should react the same
   * way").
   */
  private sync(d: Uint8Array): LoaderResult {
    if (d.length !== SYNC_PAYLOAD.length || d.some((b, i) => b !== SYNC_PAYLOAD[i])) {
      throw new LoaderFailure(this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
    }
    if (this.stub) {
      const one = this.reply(EspCommand.SYNC, 0);
      return { replies: Array.from({ length: 1 + SYNC_EXTRA_REPLIES }, () => one) };
    }
    this.lastValue = SYNC_REPLY_VALUE;
    const one = this.reply(EspCommand.SYNC, SYNC_REPLY_VALUE);
    return { replies: Array.from({ length: 1 + SYNC_EXTRA_REPLIES }, () => one) };
  }

  /** WRITE_REG: one or more (address, value, mask, delay µs) groups. */
  private async writeReg(cmd: CommandPacket): Promise<LoaderResult> {
    const d = cmd.data;
    need(d.length > 0 && d.length % 16 === 0);
    const v = view(d);
    for (let i = 0; i < d.length; i += 16) {
      this.ctx.registers.write(
        v.getUint32(i, true),
        v.getUint32(i + 4, true),
        v.getUint32(i + 8, true),
      );
      const delayUs = v.getUint32(i + 12, true);
      if (delayUs > 0) await this.ctx.wait(delayUs / 1000);
    }
    return this.ok(cmd.op);
  }

  private async flashBegin(cmd: CommandPacket, compressed: boolean): Promise<LoaderResult> {
    const d = cmd.data;
    // The fifth word (encrypted write) is sent to ROMs after the ESP32's; accept it everywhere
    // as esptool-js sends it to the ESP32 ROM too.
    need(d.length === 16 || d.length === 20);
    const [size, blocks, blockSize, offset] = args(d);
    const flash = this.ctx.flash;
    if (offset > flash.size || blockSize === 0 || blockSize > 0x10000) {
      throw new LoaderFailure(this.stub ? StubError.BAD_BLOCKSIZE : RomError.INVALID_MESSAGE);
    }
    const eraseSize = Math.min(size, flash.size - offset);
    this.write = { compressed, offset, blocks, blockSize, nextSeq: 0, written: 0 };
    if (compressed) this.startInflater(this.write);
    await this.erase(offset, eraseSize);
    return this.ok(cmd.op);
  }

  private startInflater(state: WriteState): void {
    state.inflater = new Unzlib((chunk) => {
      const room = this.ctx.flash.size - (state.offset + state.written);
      const part = chunk.subarray(0, Math.max(0, Math.min(chunk.length, room)));
      if (part.length > 0) {
        const r = this.ctx.flash.program(state.offset + state.written, part);
        this.pendingProgramMs += r.ms;
      }
      state.written += chunk.length;
    });
  }

  private pendingProgramMs = 0;

  private async flashData(cmd: CommandPacket, compressed: boolean): Promise<LoaderResult> {
    const state = this.write;
    const d = cmd.data;
    if (!state || state.compressed !== compressed) {
      throw new LoaderFailure(this.stub ? StubError.NOT_IN_FLASH_MODE : RomError.INVALID_MESSAGE);
    }
    need(d.length >= 16);
    const [length, seq] = args(d);
    const block = d.subarray(16);
    if (length !== block.length) {
      throw new LoaderFailure(this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
    }
    if (espChecksum(block, ESP_CHECKSUM_SEED) !== (cmd.checksum & 0xff)) {
      throw new LoaderFailure(this.stub ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC);
    }
    if (seq + 1 === state.nextSeq) return this.ok(cmd.op); // a retransmitted block: already written
    if (seq !== state.nextSeq) {
      throw new LoaderFailure(this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
    }
    let ms: number;
    if (compressed) {
      if (state.inflateFailed)
        throw new LoaderFailure(this.stub ? StubError.INFLATE_ERROR : RomError.DEFLATE_ERROR);
      this.pendingProgramMs = 0;
      try {
        state.inflater!.push(block, seq + 1 >= state.blocks);
      } catch {
        state.inflateFailed = true;
        throw new LoaderFailure(this.stub ? StubError.INFLATE_ERROR : RomError.DEFLATE_ERROR);
      }
      ms = this.pendingProgramMs;
    } else {
      const at = state.offset + seq * state.blockSize;
      const room = Math.max(0, this.ctx.flash.size - at);
      if (room < block.length && block.subarray(room).some((b) => b !== 0xff)) {
        throw new LoaderFailure(this.stub ? StubError.FAILED_SPI_OP : RomError.FLASH_WRITE_ERROR);
      }
      ms = room > 0 ? this.ctx.flash.program(at, block.subarray(0, room)).ms : 0;
      state.written += block.length;
    }
    state.nextSeq = seq + 1;
    await this.ctx.wait(ms); // the ROM writes the block before acknowledging it
    return this.ok(cmd.op);
  }

  /**
   * Stub FLASH_BEGIN / FLASH_DEFL_BEGIN (stub_flasher.c `cmd_loop`): exactly four words (size,
   * blocks, block size, offset), a block size of at most 16 KiB; nothing is erased here
   * (stub_write_flash.c `handle_flash_begin`).
   */
  private stubFlashBegin(cmd: CommandPacket, compressed: boolean): LoaderResult {
    const d = cmd.data;
    if (d.length !== 16) throw new LoaderFailure(StubError.BAD_DATA_LEN);
    const [size, , blockSize, offset] = args(d);
    if (blockSize > FLASH_WRITE_SIZE_STUB) throw new LoaderFailure(StubError.BAD_BLOCKSIZE);
    this.stubWrite = new StubFlashWrite(this.ctx.flash, {
      offset,
      totalSize: size,
      compressed,
    });
    return this.ok(cmd.op);
  }

  /**
   * Stub FLASH_DATA / FLASH_DEFL_DATA: the reply carries the error left by the previous block
   * (or this block's length/checksum error) and goes out at once; the block's flash work runs
   * after it, and the stub is busy for that long. The stub does not look at the sequence number.
   */
  private stubFlashData(cmd: CommandPacket, compressed: boolean): LoaderResult {
    const write = this.stubWrite;
    const d = cmd.data;
    if (!write || write.compressed !== compressed) {
      throw new LoaderFailure(StubError.NOT_IN_FLASH_MODE);
    }
    if (d.length < 16) throw new LoaderFailure(StubError.BAD_DATA_LEN);
    const [length] = args(d);
    const block = d.subarray(16);
    let error = write.lastError;
    if (length !== block.length) error = StubError.BAD_DATA_LEN;
    if (espChecksum(block, ESP_CHECKSUM_SEED) !== (cmd.checksum & 0xff)) {
      error = StubError.BAD_DATA_CHECKSUM;
    }
    if (error !== 0) return this.fail(cmd.op, error);
    const ms = write.process(block);
    this.flashBusyUntil = Math.max(this.flashBusyUntil, this.now()) + ms;
    return this.ok(cmd.op);
  }

  /**
   * Stub FLASH_END / FLASH_DEFL_END (stub_write_flash.c `handle_flash_end`): not in flash mode,
   * fewer bytes than announced, or the last block's error; then "0 to reboot", else stay.
   */
  private stubFlashEnd(cmd: CommandPacket): LoaderResult {
    if (cmd.data.length !== 4) throw new LoaderFailure(StubError.BAD_DATA_LEN);
    const write = this.stubWrite;
    if (!write) throw new LoaderFailure(StubError.NOT_IN_FLASH_MODE);
    if (write.remaining > 0) throw new LoaderFailure(StubError.NOT_ENOUGH_DATA);
    this.stubWrite = undefined;
    if (write.lastError !== 0) throw new LoaderFailure(write.lastError);
    const runUserCode = view(cmd.data).getUint32(0, true) !== 0;
    return runUserCode ? this.ok(cmd.op) : { ...this.ok(cmd.op), after: { kind: 'reboot' } };
  }

  private flashEnd(cmd: CommandPacket): LoaderResult {
    need(cmd.data.length === 4);
    const runUserCode = view(cmd.data).getUint32(0, true) !== 0;
    this.write = undefined;
    // "0 to reboot, 1 to run user code".
    return {
      ...this.ok(cmd.op),
      after: runUserCode ? { kind: 'run-user-code' } : { kind: 'reboot' },
    };
  }

  private async flashMd5(cmd: CommandPacket): Promise<LoaderResult> {
    need(cmd.data.length === 16);
    const [addr, size] = args(cmd.data);
    if (addr + size > this.ctx.flash.size) {
      throw new LoaderFailure(
        this.stub ? StubError.FAILED_SPI_OP : RomError.FLASH_READ_LENGTH_ERROR,
      );
    }
    const digest = md5(this.ctx.flash.read(addr, size));
    await this.ctx.wait(size * MD5_MS_PER_BYTE);
    const data = this.stub ? digest : new TextEncoder().encode(toHex(digest));
    return { replies: [this.reply(cmd.op, this.value, data)] };
  }

  /**
   * GET_SECURITY_INFO: flags u32, flash_crypt_cnt u8, key_purposes[7], then (not on the
   * ESP32-S2) chip_id u32 and api_version u32 (loader.py `get_security_info`).
   */
  private securityInfo(op: number): LoaderResult {
    const { chip } = this.ctx;
    const withChipId = chip.securityInfoChipId !== undefined;
    const data = new Uint8Array(withChipId ? 20 : 12);
    if (withChipId) view(data).setUint32(12, chip.securityInfoChipId!, true);
    return { replies: [this.reply(op, this.value, data)] };
  }

  /** ESP32 ROM READ_FLASH_SLOW: address, length ≤ 64 → the bytes (targets/esp32.py). */
  private readFlashSlow(cmd: CommandPacket): LoaderResult {
    need(cmd.data.length === 8);
    const [addr, size] = args(cmd.data);
    if (size > 64) throw new LoaderFailure(RomError.FLASH_READ_LENGTH_ERROR);
    if (addr + size > this.ctx.flash.size) throw new LoaderFailure(RomError.FLASH_READ_ERROR);
    const data = new Uint8Array(64);
    data.set(this.ctx.flash.read(addr, size));
    return { replies: [this.reply(cmd.op, this.value, data)] };
  }

  private memBegin(cmd: CommandPacket): LoaderResult {
    need(cmd.data.length === 16);
    const [size, blocks, blockSize, offset] = args(cmd.data);
    this.mem = { size, blocks, blockSize, offset, nextSeq: 0 };
    return this.ok(cmd.op);
  }

  private memData(cmd: CommandPacket): LoaderResult {
    const state = this.mem;
    const d = cmd.data;
    if (!state)
      throw new LoaderFailure(this.stub ? StubError.NOT_IN_FLASH_MODE : RomError.INVALID_MESSAGE);
    need(d.length >= 16);
    const [length, seq] = args(d);
    const block = d.subarray(16);
    need(length === block.length && seq === state.nextSeq);
    if (espChecksum(block) !== (cmd.checksum & 0xff)) {
      throw new LoaderFailure(this.stub ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC);
    }
    this.ram.set(state.offset + seq * state.blockSize, block.slice());
    state.nextSeq++;
    return this.ok(cmd.op);
  }

  /** MEM_END: execute flag (0 = jump to entry), entry address (loader.py `mem_finish`). */
  private memEnd(cmd: CommandPacket): LoaderResult {
    need(cmd.data.length === 8);
    const [noEntry, entry] = args(cmd.data);
    this.mem = undefined;
    if (noEntry !== 0) return this.ok(cmd.op);
    const inLoadedRam = [...this.ram].some(
      ([at, bytes]) => entry >= at && entry < at + bytes.length,
    );
    if (!inLoadedRam) throw new LoaderFailure(RomError.FAILED_TO_ACT);
    const reply = this.ok(cmd.op);
    this.stub = true;
    this.write = undefined;
    this.stubWrite = undefined;
    return { ...reply, after: { kind: 'stub-started' } };
  }

  private async erase(offset: number, size: number): Promise<void> {
    if (size <= 0) return;
    const flash = this.ctx.flash;
    const { sectors } = flash.eraseRange(offset, Math.min(size, flash.size - offset));
    // SPIEraseArea uses 64 KiB block erase for aligned, fully covered blocks, else 4 KiB sectors.
    let ms = 0;
    let i = 0;
    while (i < sectors.length) {
      const s = sectors[i]!;
      if (s.start % 65536 === 0 && i + 16 <= sectors.length) {
        ms += flash.timing.sectorEraseMs(65536);
        i += 16;
      } else {
        ms += flash.timing.sectorEraseMs(s.size);
        i++;
      }
    }
    await this.ctx.wait(ms);
  }

  private ok(op: number): LoaderResult {
    return { replies: [this.reply(op, this.value)] };
  }

  /** The value field: the ROM repeats the last register read; the stub sends 0. */
  private get value(): number {
    return this.stub ? 0 : this.lastValue;
  }

  private fail(op: number, error: number): LoaderResult {
    return {
      replies: [encodeResponse({ op, value: this.value, statusBytes: this.statusBytes, error })],
    };
  }

  private reply(op: number, value: number, data?: Uint8Array): Uint8Array {
    return encodeResponse({
      op,
      value,
      statusBytes: this.statusBytes,
      ...(data ? { data } : {}),
    });
  }
}

/** A command the loader refuses with `code`. */
class LoaderFailure extends Error {
  constructor(readonly code: number) {
    super(`loader error 0x${code.toString(16)}`);
  }
}

function need(ok: boolean): void {
  if (!ok) throw new LoaderFailure(RomError.INVALID_MESSAGE);
}

/** The first four little-endian words of the argument data (0 where the data is shorter). */
function args(d: Uint8Array): [number, number, number, number] {
  const v = view(d);
  const at = (i: number): number => (d.length >= i * 4 + 4 ? v.getUint32(i * 4, true) : 0);
  return [at(0), at(1), at(2), at(3)];
}

/** Concatenates replies into one byte array (tests). */
export function joinReplies(replies: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...replies);
}
