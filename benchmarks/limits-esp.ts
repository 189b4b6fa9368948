/**
 * Protocol limits of the Espressif serial bootloader (esptool serial protocol, "Writing Data"),
 * in the terms of limits.ts: the bytes on the line, the adapter's turnarounds and what the
 * device must finish before it answers or takes more.
 *
 * Every command is one SLIP frame: the 8-byte header (direction, opcode, size, checksum) and
 * its data, with each 0xC0 and 0xDB escaped to two bytes, between two 0xC0. The byte counts
 * come from the codecs themselves (packet.ts, slip.ts), so the escapes of the real compressed
 * bytes and of every header field are counted. Replies are 8 bytes and the status bytes (4 from
 * the ESP32 and later ROMs, 2 from the stub), framed the same way; their value field is taken
 * as 0 (the ROM repeats the last register read there, whose escapes are not known here).
 *
 * - ROM loader: FLASH_BEGIN / FLASH_DEFL_BEGIN erases the whole region before answering
 *   (SPIEraseArea: 64 KiB blocks where a whole aligned block is covered, else 4 KiB sectors);
 *   each block of 1 KiB is programmed before it is acknowledged, plain or inflated, so every
 *   step is stop-and-wait and nothing overlaps.
 * - Flasher stub (esp-flasher-stub, compressed): FLASH_DEFL_BEGIN reads the first sector (the
 *   blank check: a board holding an older release is written on, so it is the only read),
 *   starts the first erase and answers. Each 16 KiB block is acknowledged on arrival, then
 *   inflated while the host sends the next one; before each inflate step the stub starts the
 *   next erase if the flash chip is idle (64 KiB when aligned and at least 64 KiB remain, else
 *   4 KiB); every full 32 KiB output buffer, and the rest at the end of the stream, is
 *   programmed once the region up to its end is erased. The next block is taken only when
 *   that work is done, and FLASH_DEFL_END is answered only after the last block's.
 */
import { Unzlib } from 'fflate';
import { slipEncode } from '../src/framing/slip.ts';
import { EspCommand } from '../src/protocols/esp/constants.ts';
import {
  encodeCommand,
  encodeDataPayload,
  encodeResponse,
  espChecksum,
  words,
} from '../src/protocols/esp/packet.ts';
import type { FlashTiming } from '../src/sim/flash-model.ts';
import { serialLimit, type Exchange, type Limit, type SerialTiming } from './limits.ts';

const SECTOR = 4096;
const BLOCK = 65536;
/** The stub's inflate output buffer (`TINFL_LZ_DICT_SIZE`). */
const STUB_OUT_BUFFER = 32768;

/** One command frame on the line, escapes included. */
function commandBytes(op: number, data: Uint8Array, checksum = 0): number {
  return slipEncode(encodeCommand(op, data, checksum)).length;
}

/** One reply frame with `statusBytes` status bytes and a zero value field. */
function replyBytes(op: number, statusBytes: number): number {
  return slipEncode(encodeResponse({ op, statusBytes })).length;
}

/** The data block `seq` of a FLASH_DATA / FLASH_DEFL_DATA command, on the line. */
function dataBytes(op: number, block: Uint8Array, seq: number): number {
  return commandBytes(op, encodeDataPayload(block, seq), espChecksum(block));
}

/** The blocks `data` is sent in. */
function blocksOf(data: Uint8Array, blockSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += blockSize) out.push(data.subarray(at, at + blockSize));
  return out;
}

/**
 * Bytes each block of a zlib stream inflates to when the blocks arrive one by one, as fflate's
 * inflater (the simulated boards') gives them: it holds back a stored block until all of it is in.
 */
function inflatedPerBlock(blocks: readonly Uint8Array[]): number[] {
  let got = 0;
  const inflater = new Unzlib((chunk) => (got += chunk.length));
  return blocks.map((b, i) => {
    got = 0;
    inflater.push(b, i === blocks.length - 1);
    return got;
  });
}

/** Erase units of `[offset, offset + size)` as SPIEraseArea and the stub choose them. */
function eraseUnits(offset: number, size: number): number[] {
  const units: number[] = [];
  let at = Math.floor(offset / SECTOR) * SECTOR;
  const end = Math.ceil((offset + size) / SECTOR) * SECTOR;
  while (at < end) {
    const unit = at % BLOCK === 0 && end - at >= BLOCK ? BLOCK : SECTOR;
    units.push(unit);
    at += unit;
  }
  return units;
}

/** What one ESP write sends, for both limits. */
interface EspWrite {
  /** Flash offset of the image. */
  offset: number;
  imageBytes: number;
  /** The bytes sent: the zlib stream (compressed) or the image (plain). */
  data: Uint8Array;
  compressed: boolean;
  timing: FlashTiming;
}

/**
 * The ROM loader: FLASH_(DEFL_)BEGIN with `beginWords` words (4 on the ESP32, 5 on later
 * ROMs), erasing before its answer; then 1 KiB blocks, each programmed before its answer
 * (plain: the last block padded with 0xFF to 1 KiB, and programmed whole).
 */
export function espRomLimit(
  t: SerialTiming,
  o: EspWrite & { blockSize?: number; statusBytes?: number; beginWords?: 4 | 5 },
): Limit {
  const bs = o.blockSize ?? 1024;
  const status = o.statusBytes ?? 4;
  const [beginOp, dataOp] = o.compressed
    ? [EspCommand.FLASH_DEFL_BEGIN, EspCommand.FLASH_DEFL_DATA]
    : [EspCommand.FLASH_BEGIN, EspCommand.FLASH_DATA];
  const blocks = blocksOf(o.data, bs);
  // The erase covers the image rounded up to whole blocks (loader.py `flash_defl_begin`).
  const size = o.compressed ? Math.ceil(o.imageBytes / bs) * bs : o.imageBytes;
  const begin = words(size, blocks.length, bs, o.offset, 0).subarray(0, (o.beginWords ?? 4) * 4);
  const eraseMs = eraseUnits(o.offset, size).reduce((a, u) => a + o.timing.sectorEraseMs(u), 0);
  const exchanges: Exchange[] = [
    { out: commandBytes(beginOp, begin), back: replyBytes(beginOp, status), busyMs: eraseMs },
  ];
  const inflated = o.compressed ? inflatedPerBlock(blocks) : [];
  blocks.forEach((b, seq) => {
    let block = b;
    if (!o.compressed && b.length < bs) {
      block = new Uint8Array(bs).fill(0xff);
      block.set(b);
    }
    exchanges.push({
      out: dataBytes(dataOp, block, seq),
      back: replyBytes(dataOp, status),
      busyMs: o.timing.programMs(o.compressed ? inflated[seq]! : block.length),
    });
  });
  return serialLimit(t, exchanges);
}

/** The stub's flash work: the chip's busy time and the CPU's, ms from the start. */
class StubFlash {
  /** When the flash chip finishes its current erase or program. */
  private chipFree = 0;
  private readonly units: number[];
  private erased: number;
  private written: number;
  private checked = false;

  constructor(
    offset: number,
    size: number,
    private readonly timing: FlashTiming,
    private readonly sectorReadMs: number,
  ) {
    this.units = eraseUnits(offset, size);
    this.erased = Math.floor(offset / SECTOR) * SECTOR;
    this.written = offset;
  }

  /** Starts the next erase if the chip is idle at `at`; returns when the CPU goes on. */
  eraseNext(at: number): number {
    if (this.units.length === 0) return at;
    let t = at;
    if (!this.checked) {
      // The blank check reads the first sector, finds it written on and stops reading.
      t = Math.max(t, this.chipFree) + this.sectorReadMs;
      this.checked = true;
    }
    if (t < this.chipFree) return t;
    const unit = this.units.shift()!;
    this.chipFree = t + this.timing.sectorEraseMs(unit);
    this.erased += unit;
    return t;
  }

  /** Programs `bytes` once they are erased; returns when the CPU goes on. */
  program(bytes: number, at: number): number {
    let t = at;
    while (this.erased < this.written + bytes && this.units.length > 0) {
      t = this.eraseNext(Math.max(t, this.chipFree));
    }
    t = Math.max(t, this.chipFree) + (bytes > 0 ? this.timing.programMs(bytes) : 0);
    this.chipFree = t;
    this.written += bytes;
    return t;
  }
}

/**
 * The flasher stub, compressed, with `blockSize` blocks (16 KiB), a perfect host that sends
 * each command the moment the previous answer is in, and `sectorReadMs` for the stub's read of
 * the first sector. The parts: the line and the turnarounds of every exchange, and as device
 * time what the host waits beyond them (the stub still inflating, erasing or programming).
 */
export function espStubLimit(
  t: SerialTiming,
  o: Omit<EspWrite, 'compressed'> & { blockSize?: number; sectorReadMs: number },
): Limit {
  const blocks = blocksOf(o.data, o.blockSize ?? 16384);
  const inflated = inflatedPerBlock(blocks);
  const flash = new StubFlash(o.offset, o.imageBytes, o.timing, o.sectorReadMs);
  const limit: Limit = { ms: 0, wireMs: 0, turnaroundMs: 0, deviceMs: 0 };
  let now = 0;
  /** The stub's CPU is free (its last post-process ended). */
  let free = 0;
  /**
   * One exchange: the command arrives and waits for the CPU; `work` says when the answer goes
   * back and when the CPU is free again.
   */
  const exchange = (
    out: number,
    back: number,
    work: (taken: number) => { answer: number; free: number },
  ): void => {
    const arrives = now + out * t.byteMs + t.latencyMs;
    const done = work(Math.max(arrives, free));
    free = done.free;
    now = done.answer + back * t.byteMs + t.latencyMs;
    limit.wireMs += (out + back) * t.byteMs;
    limit.turnaroundMs += 2 * t.latencyMs;
    limit.deviceMs += done.answer - arrives;
  };
  const begin = words(o.imageBytes, blocks.length, o.blockSize ?? 16384, o.offset);
  const op = EspCommand.FLASH_DEFL_BEGIN;
  // FLASH_DEFL_BEGIN is answered after the blank check's read.
  exchange(commandBytes(op, begin), replyBytes(op, 2), (taken) => {
    const cpu = flash.eraseNext(taken);
    return { answer: cpu, free: cpu };
  });
  let fill = 0;
  blocks.forEach((block, seq) => {
    const dataOp = EspCommand.FLASH_DEFL_DATA;
    exchange(dataBytes(dataOp, block, seq), replyBytes(dataOp, 2), (taken) => {
      let cpu = flash.eraseNext(taken);
      let left = inflated[seq]!;
      while (left > 0) {
        const n = Math.min(left, STUB_OUT_BUFFER - fill);
        fill += n;
        left -= n;
        if (fill < STUB_OUT_BUFFER) break;
        cpu = flash.program(fill, cpu);
        fill = 0;
        if (left > 0) cpu = flash.eraseNext(cpu);
      }
      if (seq === blocks.length - 1) cpu = flash.program(fill, cpu);
      return { answer: taken, free: cpu };
    });
  });
  const end = EspCommand.FLASH_DEFL_END;
  exchange(commandBytes(end, words(1)), replyBytes(end, 2), (taken) => ({
    answer: taken,
    free: taken,
  }));
  limit.ms = now;
  return limit;
}
