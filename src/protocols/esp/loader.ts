/**
 * Client of the Espressif serial bootloader: one method per command, each with the timeout
 * esptool uses for it (esptool/loader.py), over a SerialLink, a Clock and a Logger.
 * Framing is SLIP (src/framing/slip.ts); packets are in packet.ts; chips are data in chips.ts.
 *
 * Works with the ROM loader of every chip in chips.ts and with esptool's flasher stub (stub.ts)
 * once `isStub` is set: 2 status bytes, raw MD5, 16 KiB blocks, four-word FLASH_*_BEGIN.
 */
import { toHex } from '../../core/bytes.ts';
import { sleep } from '../../core/clock.ts';
import { ProtocolError, WebflashError } from '../../core/errors.ts';
import { EspCommandChannel } from './command-channel.ts';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  ESP_ROM_BAUD,
  EspCommand,
  EspTimeouts,
  READ_FLASH_SLOW_BLOCK,
  RomError,
  SYNC_EXTRA_REPLIES,
  SYNC_PAYLOAD,
  SecurityFlag,
  StubError,
  WRITE_BLOCK_ATTEMPTS,
  errorMeaning,
  timeoutPerMb,
} from './constants.ts';
import { encodeDataPayload, espChecksum, words, type ResponsePacket } from './packet.ts';

/** Reply of GET_SECURITY_INFO (loader.py `get_security_info`). */
export interface SecurityInfo {
  flags: number;
  flashCryptCnt: number;
  keyPurposes: number[];
  /** Absent on the ESP32-S2, whose reply is 12 bytes. */
  chipId?: number;
  apiVersion?: number;
  secureDownload: boolean;
}

export interface SyncResult {
  /** The SYNC reply's value field was 0: a stub, not the ROM, is answering (loader.py `sync`). */
  stubDetected: boolean;
}

/** Settle time after a baud rate change (loader.py `change_baud`: 0.05 s). */
const BAUD_SETTLE_MS = 50;

/** The bootloader client. One command at a time. */
export class EspLoader extends EspCommandChannel {
  /**
   * One SYNC exchange (loader.py `sync`): sends the SYNC packet, waits SYNC_TIMEOUT for the
   * reply, then drains the extra replies the ROM sends.
   * @throws {TimeoutError} when the chip does not answer (not in download mode, wrong baud…).
   */
  async sync(signal?: AbortSignal): Promise<SyncResult> {
    const first = await this.command(EspCommand.SYNC, SYNC_PAYLOAD, {
      timeoutMs: EspTimeouts.SYNC,
      signal,
    });
    let stubDetected = first.value === 0;
    for (let i = 0; i < SYNC_EXTRA_REPLIES; i++) {
      try {
        const frame = await this.readFrame({ timeoutMs: EspTimeouts.SYNC, signal });
        if (frame.length >= 8 && frame[1] === EspCommand.SYNC) {
          stubDetected &&= frame[4] === 0 && frame[5] === 0 && frame[6] === 0 && frame[7] === 0;
        }
      } catch (err) {
        if (err instanceof WebflashError && err.code === 'timeout') break;
        if (err instanceof WebflashError && err.code.startsWith('framing.')) continue;
        throw err;
      }
    }
    return { stubDetected };
  }

  /** READ_REG: the 32-bit word at `address`. */
  async readReg(address: number, signal?: AbortSignal): Promise<number> {
    return (await this.check(EspCommand.READ_REG, words(address), { signal })) >>> 0;
  }

  /** WRITE_REG: value, mask and a delay in microseconds (serial protocol "Commands"). */
  async writeReg(
    address: number,
    value: number,
    options: { mask?: number; delayUs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    const data = words(address, value, options.mask ?? 0xffffffff, options.delayUs ?? 0);
    await this.check(EspCommand.WRITE_REG, data, { signal: options.signal });
  }

  /**
   * GET_SECURITY_INFO (ESP32-S2 and later ROMs): 20-byte reply with chip id, or 12 bytes on
   * the ESP32-S2 (loader.py `get_security_info`).
   * @throws {ProtocolError} 'protocol.unsupported' on the ESP8266 and ESP32.
   */
  async getSecurityInfo(signal?: AbortSignal): Promise<SecurityInfo> {
    const r = await this.command(EspCommand.GET_SECURITY_INFO, new Uint8Array(0), { signal });
    const d = r.data;
    if (d.length < 12) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `GET_SECURITY_INFO returned ${d.length} bytes, expected 12 or 20`,
        { opcode: EspCommand.GET_SECURITY_INFO },
      );
    }
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const flags = v.getUint32(0, true);
    const info: SecurityInfo = {
      flags,
      flashCryptCnt: d[4]!,
      keyPurposes: [...d.subarray(5, 12)],
      secureDownload: (flags & SecurityFlag.SECURE_DOWNLOAD_ENABLE) !== 0,
    };
    if (d.length >= 20) {
      info.chipId = v.getUint32(12, true);
      info.apiVersion = v.getUint32(16, true);
    }
    return info;
  }

  /** Reads CHIP_DETECT_MAGIC_REG (0x40001000). */
  readChipMagic(signal?: AbortSignal): Promise<number> {
    return this.readReg(CHIP_DETECT_MAGIC_REG_ADDR, signal);
  }

  /**
   * SPI_ATTACH with the default flash pins. The ROM takes a second word, zero
   * (serial protocol "SPI Attach command"). Not on the ESP8266 ROM, where FLASH_BEGIN attaches.
   */
  async spiAttach(signal?: AbortSignal): Promise<void> {
    const data = this.isStub ? words(0) : words(0, 0);
    await this.check(EspCommand.SPI_ATTACH, data, { signal });
  }

  /**
   * SPI_SET_PARAMS: id 0, total size, 64 KiB block, 4 KiB sector, 256 B page, status mask
   * 0xFFFF (loader.py `flash_set_parameters`).
   */
  async spiSetParams(flashSize: number, signal?: AbortSignal): Promise<void> {
    const data = words(0, flashSize, 64 * 1024, 4 * 1024, 256, 0xffff);
    await this.check(EspCommand.SPI_SET_PARAMS, data, { signal });
  }

  /**
   * FLASH_BEGIN: erase `eraseSize` bytes at `offset` and expect `blocks` blocks. The ROM erases
   * before answering, so the timeout scales with the size (ERASE_REGION_TIMEOUT_PER_MB).
   */
  async flashBegin(options: {
    eraseSize: number;
    blocks: number;
    offset: number;
    signal?: AbortSignal | undefined;
  }): Promise<void> {
    const params = this.beginParams(options.eraseSize, options.blocks, options.offset);
    await this.check(EspCommand.FLASH_BEGIN, params, {
      signal: options.signal,
      timeoutMs: this.isStub
        ? EspTimeouts.DEFAULT
        : timeoutPerMb(EspTimeouts.ERASE_REGION_PER_MB, options.eraseSize),
    });
  }

  /**
   * FLASH_DEFL_BEGIN: `uncompressedSize` bytes (the ROM wants it rounded up to whole blocks; the
   * stub the exact count) arriving as `blocks` compressed blocks (loader.py `flash_defl_begin`).
   */
  async flashDeflBegin(options: {
    uncompressedSize: number;
    blocks: number;
    offset: number;
    signal?: AbortSignal | undefined;
  }): Promise<void> {
    const bs = this.flashWriteSize;
    const writeSize = this.isStub
      ? options.uncompressedSize
      : Math.ceil(options.uncompressedSize / bs) * bs;
    const params = this.beginParams(writeSize, options.blocks, options.offset);
    await this.check(EspCommand.FLASH_DEFL_BEGIN, params, {
      signal: options.signal,
      timeoutMs: this.isStub
        ? EspTimeouts.DEFAULT
        : timeoutPerMb(EspTimeouts.ERASE_REGION_PER_MB, writeSize),
    });
  }

  private beginParams(size: number, blocks: number, offset: number): Uint8Array {
    // loader.py `flash_begin`: ESP32 and ESP8266 ROMs take four words, later ROMs a fifth
    // (encrypted write flag) "if self.SUPPORTS_ENCRYPTED_FLASH and not self.IS_STUB"; the stub
    // gets four, which every stub takes (esp-flasher-stub `s_init_flash_operation` also takes a
    // fifth, the encryption flag; esptool's legacy stub only four).
    const extended = !this.isStub && (this.chip?.romBeginHasEncryptedWord ?? false);
    return extended
      ? words(size, blocks, this.flashWriteSize, offset, 0)
      : words(size, blocks, this.flashWriteSize, offset);
  }

  /**
   * FLASH_DATA / FLASH_DEFL_DATA / MEM_DATA block with its checksum. A block the device rejects
   * with a checksum error is resent (it was not used), and so is one the stub rejects for a
   * length that does not match its header (a frame that lost bytes on the way: esp-flasher-stub
   * `handle_command` answers BAD_DATA_LEN before running anything). Any other failure is thrown,
   * never retried, since the device may already have consumed the block.
   */
  async dataBlock(options: {
    op:
      typeof EspCommand.FLASH_DATA | typeof EspCommand.FLASH_DEFL_DATA | typeof EspCommand.MEM_DATA;
    block: Uint8Array;
    seq: number;
    timeoutMs?: number;
    signal?: AbortSignal | undefined;
  }): Promise<void> {
    const payload = encodeDataPayload(options.block, options.seq);
    const checksum = espChecksum(options.block);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.check(options.op, payload, {
          checksum,
          signal: options.signal,
          timeoutMs: options.timeoutMs ?? EspTimeouts.DEFAULT,
        });
        return;
      } catch (err) {
        const status = err instanceof ProtocolError ? err.status : undefined;
        const rejected =
          status === RomError.INVALID_CRC ||
          status === StubError.BAD_DATA_CHECKSUM ||
          (this.isStub && status === StubError.BAD_DATA_LEN);
        if (rejected) this.shrinkStubBlocks();
        if (!rejected || attempt >= WRITE_BLOCK_ATTEMPTS) throw err;
        this.logger.warn(`block ${options.seq} rejected (${errorMeaning(status)}), resending`);
      }
    }
  }

  /**
   * FLASH_END / FLASH_DEFL_END. `reboot` false means "run user code"; the ROM leaves the
   * bootloader either way, so webflash sends it only to finish (loader.py `flash_finish`).
   */
  async flashEnd(options: {
    compressed: boolean;
    reboot: boolean;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
  }): Promise<void> {
    const op = options.compressed ? EspCommand.FLASH_DEFL_END : EspCommand.FLASH_END;
    await this.check(op, words(options.reboot ? 0 : 1), {
      signal: options.signal,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  /**
   * SPI_FLASH_MD5 of `size` bytes at `address`: the ROM answers with 32 ASCII hex digits, the
   * stub with 16 raw bytes (serial protocol "Verifying Uploaded Data"). Timeout scales with the
   * size (MD5_TIMEOUT_PER_MB).
   * @returns the 16-byte digest.
   */
  async spiFlashMd5(address: number, size: number, signal?: AbortSignal): Promise<Uint8Array> {
    const r = await this.command(EspCommand.SPI_FLASH_MD5, words(address, size, 0, 0), {
      signal,
      timeoutMs: timeoutPerMb(EspTimeouts.MD5_PER_MB, size),
    });
    return md5Digest(r);
  }

  /**
   * SPI_FLASH_MD5 of each `[address, size]`, in order. The stub gets the next command while it
   * hashes (`pipeline`, depth 2); the ROM one at a time.
   * `onDigest` sees each digest as it arrives, for progress: the stub's replies are matched
   * by order, so they count only once all of them arrived (the return value).
   * @returns the digests, all or none (any failure throws).
   */
  async spiFlashMd5Each(
    ranges: readonly (readonly [number, number])[],
    signal?: AbortSignal,
    onDigest?: (index: number, digest: Uint8Array) => void,
  ): Promise<Uint8Array[]> {
    if (!this.isStub) {
      const out: Uint8Array[] = [];
      for (const [address, size] of ranges) {
        out.push(await this.spiFlashMd5(address, size, signal));
        onDigest?.(out.length - 1, out.at(-1)!);
      }
      return out;
    }
    const replies = await this.pipeline(
      ranges.map(([address, size]) => ({
        op: EspCommand.SPI_FLASH_MD5,
        data: words(address, size, 0, 0),
        timeoutMs: timeoutPerMb(EspTimeouts.MD5_PER_MB, size),
      })),
      {
        depth: 2,
        signal,
        // A reply that does not parse is left to the end, where it throws.
        onReply: (i, r) => {
          const digest = tryMd5Digest(r);
          if (digest) onDigest?.(i, digest);
        },
      },
    );
    return replies.map(md5Digest);
  }

  /**
   * READ_FLASH_SLOW (every ROM but the ESP8266's, chips.ts `romSupportsReadFlashSlow`): reads
   * `length` bytes, 64 per command (targets/esp32.py `read_flash_slow`). The ROM refuses a range
   * past the flash size SPI_SET_PARAMS gave it (2 MiB before that).
   */
  async readFlashSlow(address: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = Math.min(READ_FLASH_SLOW_BLOCK, length - done);
      const r = await this.command(EspCommand.READ_FLASH_SLOW, words(address + done, n), {
        signal,
      });
      if (r.data.length < n) {
        throw new ProtocolError(
          'protocol.bad-reply',
          `READ_FLASH_SLOW returned ${r.data.length} bytes, expected ${n}`,
          { opcode: EspCommand.READ_FLASH_SLOW },
        );
      }
      out.set(r.data.subarray(0, n), done);
      done += n;
    }
    return out;
  }

  /**
   * CHANGE_BAUDRATE then switches the link (loader.py `change_baud`): the second word is 0 for
   * the ROM, the current rate for the stub. Waits 50 ms and drops what arrived meanwhile.
   */
  async changeBaudrate(baud: number, signal?: AbortSignal): Promise<void> {
    const old = this.isStub ? this.link.baudRate : 0;
    await this.check(EspCommand.CHANGE_BAUDRATE, words(baud, old), { signal });
    await this.link.setBaudRate(baud);
    await sleep(this.clock, BAUD_SETTLE_MS, signal);
    this.flushInput();
  }

  /**
   * Raises the line speed, trying each rate of `ladder` (highest first) until the chip answers
   * at it, falling back after a rate that does not work. Returns the rate in use at the end.
   * A ROM that switched to a rate the line cannot carry is unreachable until reset: `reenter`
   * (reset into the bootloader and SYNC at the start rate) is then called.
   */
  async raiseBaudrate(
    ladder: readonly number[],
    options: { signal?: AbortSignal | undefined; reenter?: () => Promise<void> } = {},
  ): Promise<number> {
    const { signal } = options;
    const start = this.link.baudRate;
    for (const baud of ladder) {
      if (baud <= start) break;
      try {
        await this.changeBaudrate(baud, signal);
        await this.checkAlive(signal);
        this.logger.info(`line speed ${baud} baud`);
        return baud;
      } catch (err) {
        if (err instanceof WebflashError && err.code === 'aborted') throw err;
        this.logger.warn(`${baud} baud did not work (${(err as Error).message}), falling back`);
        await this.recoverAt(start, options);
      }
    }
    return this.link.baudRate;
  }

  /** Confirms the chip answers: a few SYNC attempts at the current rate. */
  async checkAlive(signal?: AbortSignal, attempts = 3): Promise<SyncResult> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      this.flushInput();
      try {
        return await this.sync(signal);
      } catch (err) {
        if (err instanceof WebflashError && err.code === 'aborted') throw err;
        last = err;
      }
    }
    throw last;
  }

  /**
   * After a failed speed change the chip is either still at `start` (it never took the
   * command) or at the new rate; in the second case only a reset brings it back.
   */
  private async recoverAt(
    start: number,
    options: { signal?: AbortSignal | undefined; reenter?: () => Promise<void> },
  ): Promise<void> {
    const { signal } = options;
    if (this.link.baudRate !== start) await this.link.setBaudRate(start);
    await sleep(this.clock, BAUD_SETTLE_MS, signal);
    this.flushInput();
    try {
      await this.checkAlive(signal);
      return;
    } catch (err) {
      if (!options.reenter || (err instanceof WebflashError && err.code === 'aborted')) throw err;
    }
    await options.reenter();
  }

  /** A harmless command whose reply comes only after the previous writes finished (loader.py `write_flash`). */
  async waitIdle(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.check(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR), { signal, timeoutMs });
  }

  /** The ROM's start rate. */
  static readonly ROM_BAUD = ESP_ROM_BAUD;
}

/**
 * The digest of an SPI_FLASH_MD5 reply: 16 raw bytes (stub) or 32 hex digits (ROM); undefined
 * for anything else.
 */
function tryMd5Digest(r: ResponsePacket): Uint8Array | undefined {
  if (r.data.length === 16) return r.data.slice();
  if (r.data.length === 32) {
    const text = new TextDecoder().decode(r.data);
    if (/^[0-9a-fA-F]{32}$/.test(text)) {
      const out = new Uint8Array(16);
      for (let i = 0; i < 16; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
      return out;
    }
  }
  return undefined;
}

/**
 * The digest of an SPI_FLASH_MD5 reply (`tryMd5Digest`).
 * @throws {ProtocolError} 'protocol.bad-reply' for a reply in neither form.
 */
function md5Digest(r: ResponsePacket): Uint8Array {
  const digest = tryMd5Digest(r);
  if (digest) return digest;
  throw new ProtocolError(
    'protocol.bad-reply',
    `SPI_FLASH_MD5 returned ${r.data.length} bytes (${toHex(r.data.subarray(0, 8))}…), expected 32 hex digits or 16 bytes`,
    { opcode: EspCommand.SPI_FLASH_MD5 },
  );
}
