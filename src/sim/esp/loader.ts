/**
 * The device side of the Espressif serial bootloader protocol (esptool serial protocol,
 * "Command Packet" / "Response Packet" / "Commands" / "Functional Description"): the ROM loader
 * of each chip, and — once a RAM download is started — the replies of the flasher stub.
 *
 * Replies match the ROM byte for byte where it is documented: the value field carries the last
 * register read (as in esptool traces), status bytes are 4 on ESP32-and-later ROMs and 2 on the
 * ESP8266 ROM and the stub, SPI_FLASH_MD5 answers 32 ASCII hex digits from the ROM and 16 raw
 * bytes from the stub, errors use the ROM codes (0x05 invalid message, 0x07 bad checksum, 0x0b
 * inflate error…, after a status byte of 1) or the stub codes (0xC0…, first, then 0), and an
 * unknown command gets error 0x05 (ROM) or 0xC3 (stub; 0xFF for its plugin opcodes).
 *
 * The simulator does not execute uploaded code. When MEM_END jumps into RAM that was just
 * loaded, it assumes the code is the flasher stub esptool-js ships (esp-flasher-stub, which is
 * what every current tool uploads): it greets with "OHAI" and speaks the stub protocol from then
 * on. The ROM's flash writes are in rom-flash.ts; the stub's main loop, its pending errors and
 * its timing are in stub-loop.ts and stub-writer.ts: a data block is answered first and written
 * afterwards, and the reply to the next command waits for that work. `busyMs` tells the board
 * how long.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { toHex, view } from '../../core/bytes.ts';
import {
  EspCommand,
  RomError,
  STATUS_BYTES_STUB,
  StubError,
  SYNC_EXTRA_REPLIES,
  SYNC_PAYLOAD,
} from '../../protocols/esp/constants.ts';
import {
  decodeCommand,
  encodeResponse,
  espChecksum,
  type CommandPacket,
} from '../../protocols/esp/packet.ts';
import { MD5_BYTES_PER_MS, md5Rate } from '../../protocols/esp/md5-rate.ts';
import {
  LoaderFailure,
  MALFORMED,
  args,
  need,
  type LoaderContext,
  type LoaderResult,
} from './loader-types.ts';
import { RomFlashWriter, eraseArea } from './rom-flash.ts';
import { StubMainLoop, type Screened } from './stub-loop.ts';

/** The value field of the ROM's SYNC replies (esptool-js and esptool traces of ESP32 ROMs). */
export const SYNC_REPLY_VALUE = 0x20120707;

interface MemState {
  offset: number;
  size: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
}

/** RAM regions loaded with MEM_* (address → bytes), for the stub check at MEM_END. */
type RamModel = Map<number, Uint8Array>;

/** The stub's plugin opcodes (esp-flasher-stub plugin_table.h: 0xD5–0xEF). */
const STUB_PLUGIN_FIRST_OPCODE = 0xd5;
const STUB_PLUGIN_LAST_OPCODE = 0xef;

/**
 * The flash size the ROM assumes until SPI_SET_PARAMS: 2 MiB ("ROM bootloader assumes 2 MB flash
 * attached by default", Espressif's esp-serial-flasher pull request 3, which added
 * SPI_SET_PARAMS for that reason).
 */
export const ROM_DEFAULT_FLASH_CHIP_SIZE = 2 * 1024 * 1024;

/**
 * The device side of one ESP serial loader session (ROM, then stub once uploaded); the host side
 * is `EspLoader` in src/protocols/esp. Reset = a new instance.
 */
export class LoaderSession {
  private lastValue = 0;
  private readonly romFlash: RomFlashWriter;
  private mem: MemState | undefined;
  private readonly ram: RamModel = new Map();
  /** The stub's main loop, once MEM_END started it. */
  private stubLoop: StubMainLoop | undefined;
  /** `flashchip.chip_size` of the ROM's SPI flash driver: its default until SPI_SET_PARAMS. */
  private romFlashChipSize = ROM_DEFAULT_FLASH_CHIP_SIZE;

  constructor(
    private readonly ctx: LoaderContext,
    private readonly now: () => number,
  ) {
    this.romFlash = new RomFlashWriter(ctx);
  }

  /** True once the (simulated) flasher stub runs. */
  get isStub(): boolean {
    return this.stubLoop !== undefined;
  }

  private get stub(): boolean {
    return this.stubLoop !== undefined;
  }

  /** How long the stub's main loop is still busy with the last command's work (device ms). */
  get busyMs(): number {
    const loop = this.stubLoop;
    if (!loop || loop.hung) return 0;
    return Math.max(0, loop.freeAt - this.now());
  }

  /**
   * What the loader makes of a received frame. The ROM ignores every malformed frame; the stub
   * answers a bad header and ignores a frame too long for its buffer (stub-loop.ts).
   */
  screen(frame: Uint8Array): Screened {
    if (this.stubLoop) {
      if (this.stubLoop.hung) return { kind: 'ignore' };
      return this.stubLoop.screen(frame);
    }
    try {
      return { kind: 'command', cmd: decodeCommand(frame) };
    } catch {
      return { kind: 'ignore' };
    }
  }

  /** The reply to a frame `screen` answered without running it. */
  answer(op: number, error: number): Uint8Array {
    return this.fail(op, error).replies[0]!;
  }

  /** Status bytes in every reply of the current loader. */
  get statusBytes(): number {
    return this.stub ? STATUS_BYTES_STUB : this.ctx.chip.romStatusBytes;
  }

  /** Handles one decoded command packet. */
  async handle(cmd: CommandPacket): Promise<LoaderResult> {
    const loop = this.stubLoop;
    if (loop) {
      if (loop.hung) return { replies: [] };
      // The main loop takes a command only once the last one's flash work is done.
      const busy = loop.freeAt - this.now();
      if (busy > 0) await this.ctx.wait(busy);
      // handle_command: a failed post-process answers this command, which is not run.
      const pending = loop.takePendingError();
      if (pending !== 0) return this.fail(cmd.op, pending);
    }
    try {
      return await this.dispatch(cmd);
    } catch (err) {
      if (!(err instanceof LoaderFailure)) throw err;
      if (err.code !== MALFORMED) return this.fail(cmd.op, err.code);
      return this.fail(cmd.op, this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
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
        // fl_id, total_size, block, sector, page, status mask: the ROM keeps the size in its
        // `flashchip` structure and checks reads against it (loader.py `flash_set_parameters`).
        if (!this.stub) this.romFlashChipSize = args(d)[1];
        return this.ok(cmd.op);
      case EspCommand.SPI_ATTACH:
        if (!this.stub && !chip.romSupportsSpiAttach) break;
        // ROM: 8 bytes (pin config + a zero word); the stub takes exactly 4 (`SPI_ATTACH_SIZE`).
        need(d.length === 4 || (!this.stub && d.length === 8));
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
      case EspCommand.FLASH_DEFL_BEGIN: {
        const compressed = cmd.op === EspCommand.FLASH_DEFL_BEGIN;
        if (this.stubLoop) {
          const { ms, error } = this.stubLoop.flashBegin(d);
          if (ms > 0) await this.ctx.wait(ms);
          return error === 0 ? this.ok(cmd.op) : this.fail(cmd.op, error);
        }
        if (compressed && !chip.romSupportsCompressed) break;
        await this.romFlash.begin(cmd, compressed);
        return this.ok(cmd.op);
      }
      case EspCommand.FLASH_DATA:
      case EspCommand.FLASH_DEFL_DATA: {
        const compressed = cmd.op === EspCommand.FLASH_DEFL_DATA;
        if (this.stubLoop) {
          const error = this.stubLoop.flashData(cmd, compressed);
          return error === 0 ? this.ok(cmd.op) : this.fail(cmd.op, error);
        }
        if (compressed && !chip.romSupportsCompressed) break;
        await this.romFlash.data(cmd, compressed);
        return this.ok(cmd.op);
      }
      case EspCommand.FLASH_END:
      case EspCommand.FLASH_DEFL_END: {
        if (this.stubLoop) {
          const error = this.stubLoop.flashEnd(d);
          return error === 0 ? this.ok(cmd.op) : this.fail(cmd.op, error);
        }
        if (cmd.op === EspCommand.FLASH_DEFL_END && !chip.romSupportsCompressed) break;
        return { ...this.ok(cmd.op), after: this.romFlash.end(cmd) };
      }
      case EspCommand.SPI_FLASH_MD5:
        if (!this.stub && chip.id === 'esp8266') break;
        return this.flashMd5(cmd);
      case EspCommand.GET_SECURITY_INFO:
        if (this.stub) return this.stubSecurityInfo(cmd);
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
        if (!this.stubLoop) break;
        need(d.length === 0);
        await this.waitForFlashChip();
        await this.ctx.wait(this.ctx.flash.eraseAll());
        return this.ok(cmd.op);
      case EspCommand.ERASE_REGION: {
        if (!this.stubLoop) break;
        need(d.length === 8);
        const [addr, size] = args(d);
        // `s_erase_region`: address and size must be sector aligned.
        if (addr % 4096 !== 0 || size % 4096 !== 0) throw new LoaderFailure(StubError.BAD_DATA_LEN);
        await this.waitForFlashChip();
        await eraseArea(this.ctx, addr, size);
        return this.ok(cmd.op);
      }
      case EspCommand.READ_FLASH:
        if (!this.stubLoop) break;
        return this.stubReadFlash(cmd);
      case EspCommand.RUN_USER_CODE:
        if (!this.stubLoop) break;
        // `handle_command`: "This command does not send response. TODO: ... system reset".
        return { replies: [] };
      default:
        break;
    }
    if (!this.stubLoop) return this.fail(cmd.op, RomError.INVALID_MESSAGE);
    // The stub's plugin opcodes answer "not implemented" until a plugin is loaded; other
    // unknown opcodes are an invalid command (`handle_command`, plugin_table.h).
    const plugin = cmd.op >= STUB_PLUGIN_FIRST_OPCODE && cmd.op <= STUB_PLUGIN_LAST_OPCODE;
    return this.fail(cmd.op, plugin ? StubError.CMD_NOT_IMPLEMENTED : StubError.INVALID_COMMAND);
  }

  /** Flash commands of the stub first wait until the chip has finished an erase in progress. */
  private async waitForFlashChip(): Promise<void> {
    const ms = this.stubLoop?.chipBusyMs() ?? 0;
    if (ms > 0) await this.ctx.wait(ms);
  }

  /**
   * Stub READ_FLASH (`s_read_flash`, `s_read_flash_post_process`): four words, answered at once;
   * then the stream, one packet at a time ("max_unacked_packets = 1" whatever the host asks).
   * A packet size of 0 or over 4096 bytes, or a range past the end of the chip, sends nothing
   * and leaves the error for the next command.
   */
  private async stubReadFlash(cmd: CommandPacket): Promise<LoaderResult> {
    need(cmd.data.length === 16);
    const [address, size, packetSize] = args(cmd.data);
    const ok = this.ok(cmd.op);
    if (packetSize > 4096 || packetSize === 0) {
      this.stubLoop!.failLater(StubError.BAD_DATA_LEN);
      return ok;
    }
    if (address + size > this.ctx.flash.size) {
      this.stubLoop!.failLater(StubError.FAILED_SPI_OP);
      return ok;
    }
    await this.waitForFlashChip();
    return { ...ok, after: { kind: 'read-flash', address, size, packetSize, maxInFlight: 1 } };
  }

  /**
   * SYNC: the ROM answers 8 times (loader.py `sync`). So does the stub, with value 0, which is
   * how esptool tells them apart (esp-flasher-stub `s_sync`: "Bootloader responds to the SYNC
   * request with eight identical SYNC responses. Stub flasher should react the same way").
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
    // The stub says "not enough data" here (`s_write_reg`).
    if (d.length === 0 || d.length % 16 !== 0) {
      throw new LoaderFailure(this.stub ? StubError.NOT_ENOUGH_DATA : MALFORMED);
    }
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

  private async flashMd5(cmd: CommandPacket): Promise<LoaderResult> {
    need(cmd.data.length === 16);
    const [addr, size] = args(cmd.data);
    if (addr + size > this.ctx.flash.size) {
      throw new LoaderFailure(
        this.stub ? StubError.FAILED_SPI_OP : RomError.FLASH_READ_LENGTH_ERROR,
      );
    }
    await this.waitForFlashChip();
    const digest = md5(this.ctx.flash.read(addr, size));
    await this.ctx.wait(size / this.md5BytesPerMs());
    const data = this.stub ? digest : new TextEncoder().encode(toHex(digest));
    return { replies: [this.reply(cmd.op, this.value, data)] };
  }

  /** SPI_FLASH_MD5's rate on this chip and port (src/protocols/esp/md5-rate.ts). */
  private md5BytesPerMs(): number {
    const rate = md5Rate({
      chip: this.ctx.chip.id,
      stub: this.stub,
      nativeUsb: this.ctx.usbSerialJtag,
    });
    return MD5_BYTES_PER_MS[rate];
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

  /**
   * GET_SECURITY_INFO to esp-flasher-stub (`s_get_security_info`): a non-empty argument is
   * BAD_DATA_LEN; on the ESP32 and ESP8266, whose esp-stub-lib `stub_target_get_security_info`
   * returns STUB_LIB_ERR_NOT_SUPPORTED, the reply is RESPONSE_CMD_NOT_IMPLEMENTED (0xFF00, sent
   * big-endian: status bytes FF 00); elsewhere the ROM's GetSecurityInfoProc fills the same
   * bytes the ROM command sends.
   */
  private stubSecurityInfo(cmd: CommandPacket): LoaderResult {
    if (cmd.data.length !== 0) return this.fail(cmd.op, StubError.BAD_DATA_LEN);
    if (!this.ctx.chip.supportsSecurityInfo) {
      return this.fail(cmd.op, StubError.CMD_NOT_IMPLEMENTED);
    }
    return this.securityInfo(cmd.op);
  }

  /**
   * ROM READ_FLASH_SLOW: address, length ≤ 64 → a 64-byte buffer (targets/esp32.py
   * `read_flash_slow`, which the ESP32-S2, -S3, -C3, -C6 and -H2 ROM classes inherit). The ROM's
   * SPI read refuses a range past the size in its `flashchip` structure: 2 MiB until
   * SPI_SET_PARAMS gives the real one (esptool notes "Consider specifying the flash size
   * argument" when a block fails), and past the end of the chip.
   */
  private readFlashSlow(cmd: CommandPacket): LoaderResult {
    need(cmd.data.length === 8);
    const [addr, size] = args(cmd.data);
    if (size > 64) throw new LoaderFailure(RomError.FLASH_READ_LENGTH_ERROR);
    const limit = Math.min(this.ctx.flash.size, this.romFlashChipSize);
    if (addr + size > limit) throw new LoaderFailure(RomError.FLASH_READ_ERROR);
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
    const { chip, flash } = this.ctx;
    this.stubLoop = new StubMainLoop({ chip, flash, now: this.now });
    this.romFlash.reset();
    return { ...reply, after: { kind: 'stub-started' } };
  }

  private ok(op: number): LoaderResult {
    return { replies: [this.reply(op, this.value)] };
  }

  /** The value field: the ROM repeats the last register read; the stub sends 0. */
  private get value(): number {
    return this.stub ? 0 : this.lastValue;
  }

  private fail(op: number, error: number): LoaderResult {
    const layout = this.stub ? 'stub' : 'rom';
    return {
      replies: [
        encodeResponse({ op, value: this.value, statusBytes: this.statusBytes, error, layout }),
      ],
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
