/**
 * A generic NOR flash array, as both SPI flash chips (uniform 4 KiB sectors) and on-chip
 * microcontroller flash (a list of sector sizes) behave:
 *
 * - erased bytes read 0xFF; erasing works on whole sectors only;
 * - programming can only clear bits: the new content is the old content AND the data, so
 *   writing a 1 over a 0 leaves the 0 (NOR flash cell physics; e.g. Winbond W25Q32FV datasheet
 *   §8.2.13 "Page Program": "the bytes must be erased (FFh) before being programmed");
 * - every operation returns how long the real chip takes, so a device model can make the host
 *   wait the same time on its Clock.
 *
 * Addresses are absolute (`baseAddress` + offset), so an STM32 model can use 0x0800_0000.
 *
 * The array is stored sparsely in 4 KiB chunks: a chunk that was never written (or was erased
 * as a whole) is not held in memory and reads 0xFF. A fresh 8 MiB board therefore costs no
 * allocation and no 8 MiB fill when it is created, which matters when a page creates several
 * simulated boards at once on its main thread.
 */
import { UsageError } from '../core/errors.ts';

/** Bytes per storage chunk (the erase unit of SPI NOR flash; any size works). */
const CHUNK_SIZE = 4096;

/** How long erase and program operations take, in milliseconds (typical datasheet values). */
export interface FlashTiming {
  /** Time to erase one sector of `sectorSize` bytes. */
  sectorEraseMs(sectorSize: number): number;
  /** Time to program `bytes` bytes (one program operation, as the chip pages it). */
  programMs(bytes: number): number;
  /** Time to erase the whole array (chip/mass erase). */
  chipEraseMs(totalSize: number): number;
}

/**
 * Winbond W25Q32FV (32 Mbit SPI NOR, the flash on many ESP32 modules), datasheet table
 * "AC Electrical Characteristics", typical values: sector erase (4 KiB) tSE = 45 ms,
 * block erase 32 KiB tBE1 = 120 ms, block erase 64 KiB tBE2 = 150 ms, page program (256 B)
 * tPP = 0.7 ms, chip erase tCE = 10 s.
 */
export const W25Q32_TIMING: FlashTiming = {
  sectorEraseMs: (size) => (size >= 65536 ? 150 : size >= 32768 ? 120 : 45),
  programMs: (bytes) => Math.ceil(bytes / 256) * 0.7,
  chipEraseMs: () => 10_000,
};

/**
 * STM32F405/407 on-chip flash at 2.7–3.6 V with x32 parallelism, datasheet DS8626 table
 * "Flash memory programming", typical values: word (32-bit) program 16 µs, sector
 * erase 16 KiB 250 ms, 64 KiB 550 ms, 128 KiB 1 s (tERASE128KB typ 1 s), mass erase 8 s.
 */
export const STM32F4_TIMING: FlashTiming = {
  sectorEraseMs: (size) => (size >= 131072 ? 1000 : size >= 65536 ? 550 : 250),
  programMs: (bytes) => Math.ceil(bytes / 4) * 0.016,
  chipEraseMs: () => 8_000,
};

/** Zero-time flash, for tests that do not care about timing. */
export const INSTANT_TIMING: FlashTiming = {
  sectorEraseMs: () => 0,
  programMs: () => 0,
  chipEraseMs: () => 0,
};

/** The STM32F4 1 MiB layout: 4×16 KiB, 1×64 KiB, 7×128 KiB (RM0090 §3.3 "Embedded Flash memory", flash module organization). */
export const STM32F4_1M_SECTORS: readonly number[] = [
  ...Array<number>(4).fill(16384),
  65536,
  ...Array<number>(7).fill(131072),
];

export interface FlashModelOptions {
  /** Total size in bytes, with `sectorSize` for a uniform layout. */
  size?: number;
  /** Uniform sector size (SPI NOR: 4096). Default 4096. */
  sectorSize?: number;
  /** Non-uniform layout: the size of each sector, in address order. Overrides size/sectorSize. */
  sectors?: readonly number[];
  /** Address of the first byte. Default 0. */
  baseAddress?: number;
  /** Default W25Q32_TIMING. */
  timing?: FlashTiming;
}

/** One erase unit. */
export interface FlashSector {
  index: number;
  /** Absolute address of the first byte. */
  start: number;
  size: number;
}

/** What a program operation did. */
export interface ProgramResult {
  /** Typical time the chip takes, in milliseconds. */
  ms: number;
  /** True when some byte was programmed without being erased first (the result is an AND). */
  overNonErased: boolean;
}

/** Operation counters, for tests and wear statistics. */
export interface FlashCounters {
  /** Erase count per sector index. */
  sectorErases: number[];
  chipErases: number;
  programOps: number;
  programmedBytes: number;
  /** Program operations that hit bytes not erased first. */
  programsOverNonErased: number;
}

/**
 * A NOR flash array with sector erase, AND-programming and datasheet timing.
 *
 * @example
 * const flash = new FlashModel({ size: 4 * 1024 * 1024 });
 * flash.eraseRange(0x1000, 0x2000);
 * flash.program(0x1000, new Uint8Array([0x12, 0x34]));
 */
export class FlashModel {
  readonly size: number;
  readonly baseAddress: number;
  readonly sectors: readonly FlashSector[];
  readonly timing: FlashTiming;
  readonly counters: FlashCounters;
  /** Storage chunks of CHUNK_SIZE bytes (the last may be shorter); undefined = all 0xFF. */
  private readonly chunks: (Uint8Array | undefined)[];

  /** @throws {UsageError} for a non-positive size or a size that is not a multiple of the sector size. */
  constructor(options: FlashModelOptions) {
    this.baseAddress = options.baseAddress ?? 0;
    this.timing = options.timing ?? W25Q32_TIMING;
    const sizes: number[] = [];
    if (options.sectors) {
      sizes.push(...options.sectors);
    } else {
      const sectorSize = options.sectorSize ?? 4096;
      const size = options.size ?? 0;
      if (!(sectorSize > 0) || size % sectorSize !== 0) {
        throw new UsageError(
          `FlashModel: size ${size} is not a multiple of sector size ${sectorSize}`,
        );
      }
      for (let i = 0; i < size / sectorSize; i++) sizes.push(sectorSize);
    }
    if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s <= 0)) {
      throw new UsageError('FlashModel: needs at least one sector of positive integer size');
    }
    const sectors: FlashSector[] = [];
    let at = this.baseAddress;
    for (const [index, size] of sizes.entries()) {
      sectors.push({ index, start: at, size });
      at += size;
    }
    this.sectors = sectors;
    this.size = at - this.baseAddress;
    this.chunks = new Array<Uint8Array | undefined>(Math.ceil(this.size / CHUNK_SIZE));
    this.counters = {
      sectorErases: sizes.map(() => 0),
      chipErases: 0,
      programOps: 0,
      programmedBytes: 0,
      programsOverNonErased: 0,
    };
  }

  /** The sector holding `address`. @throws {RangeError} outside the array. */
  sectorAt(address: number): FlashSector {
    this.check(address, 1);
    // Sectors are few (≤ a few thousand); a binary search keeps 16 MiB SPI flash fast too.
    let lo = 0;
    let hi = this.sectors.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.sectors[mid]!.start <= address) lo = mid;
      else hi = mid - 1;
    }
    return this.sectors[lo]!;
  }

  /** Copy of `length` bytes at `address`. @throws {RangeError} outside the array. */
  read(address: number, length: number): Uint8Array {
    this.check(address, length);
    const out = new Uint8Array(length).fill(0xff);
    this.eachSpan(address - this.baseAddress, length, (i, from, to, at) => {
      const chunk = this.chunks[i];
      if (chunk) out.set(chunk.subarray(from, to), at);
    });
    return out;
  }

  /** Erases one sector; returns the time taken in ms. */
  eraseSector(index: number): number {
    const sector = this.sectors[index];
    if (!sector) throw new RangeError(`FlashModel: no sector ${index}`);
    this.fillErased(sector.start - this.baseAddress, sector.size);
    this.counters.sectorErases[index]!++;
    return this.timing.sectorEraseMs(sector.size);
  }

  /**
   * Erases every sector that `[address, address+length)` touches (whole sectors, as the chip
   * does); returns the erased sectors and the total time in ms. A zero length erases nothing.
   */
  eraseRange(address: number, length: number): { sectors: FlashSector[]; ms: number } {
    if (length === 0) return { sectors: [], ms: 0 };
    this.check(address, length);
    const first = this.sectorAt(address).index;
    const last = this.sectorAt(address + length - 1).index;
    const sectors: FlashSector[] = [];
    let ms = 0;
    for (let i = first; i <= last; i++) {
      ms += this.eraseSector(i);
      sectors.push(this.sectors[i]!);
    }
    return { sectors, ms };
  }

  /** Erases the whole array; returns the time in ms. */
  eraseAll(): number {
    this.chunks.fill(undefined);
    this.counters.chipErases++;
    return this.timing.chipEraseMs(this.size);
  }

  /**
   * Programs `data` at `address`: each byte becomes old AND new, as on real NOR flash.
   * @throws {RangeError} outside the array.
   */
  program(address: number, data: Uint8Array): ProgramResult {
    this.check(address, data.length);
    let overNonErased = false;
    this.eachSpan(address - this.baseAddress, data.length, (index, from, to, at) => {
      const existing = this.chunks[index];
      if (!existing) {
        // Erased chunk: old & new = new; nothing to check.
        this.chunkAt(index).set(data.subarray(at, at + to - from), from);
        return;
      }
      for (let i = from, j = at; i < to; i++, j++) {
        const old = existing[i]!;
        const value = data[j]!;
        if (old !== 0xff && value !== 0xff) overNonErased = true;
        existing[i] = old & value;
      }
    });
    this.counters.programOps++;
    this.counters.programmedBytes += data.length;
    if (overNonErased) this.counters.programsOverNonErased++;
    return { ms: this.timing.programMs(data.length), overNonErased };
  }

  /** True when every byte in the range reads 0xFF. */
  isErased(address: number, length: number): boolean {
    this.check(address, length);
    let erased = true;
    this.eachSpan(address - this.baseAddress, length, (index, from, to) => {
      const chunk = this.chunks[index];
      if (!chunk || !erased) return;
      for (let i = from; i < to; i++) {
        if (chunk[i] !== 0xff) {
          erased = false;
          return;
        }
      }
    });
    return erased;
  }

  /**
   * Places bytes directly, as a factory programmer would (no AND, no counters, no time): for
   * presets that start with firmware already on the board.
   */
  load(address: number, data: Uint8Array): void {
    this.check(address, data.length);
    this.eachSpan(address - this.baseAddress, data.length, (index, from, to, at) => {
      this.chunkAt(index).set(data.subarray(at, at + to - from), from);
    });
  }

  /** A copy of the whole array, for comparisons in tests. */
  snapshot(): Uint8Array {
    return this.read(this.baseAddress, this.size);
  }

  /**
   * Calls `fn` for each storage chunk that `[offset, offset+length)` (offsets from the base
   * address) touches: chunk index, start and end inside the chunk, and position in the range.
   */
  private eachSpan(
    offset: number,
    length: number,
    fn: (index: number, from: number, to: number, at: number) => void,
  ): void {
    let at = 0;
    while (at < length) {
      const pos = offset + at;
      const index = Math.floor(pos / CHUNK_SIZE);
      const from = pos - index * CHUNK_SIZE;
      const to = Math.min(CHUNK_SIZE, from + (length - at));
      fn(index, from, to, at);
      at += to - from;
    }
  }

  /** The chunk at `index`, created erased (0xFF) when it is not held yet. */
  private chunkAt(index: number): Uint8Array {
    let chunk = this.chunks[index];
    if (!chunk) {
      chunk = new Uint8Array(Math.min(CHUNK_SIZE, this.size - index * CHUNK_SIZE)).fill(0xff);
      this.chunks[index] = chunk;
    }
    return chunk;
  }

  /** Sets `[offset, offset+length)` to 0xFF, dropping chunks that are erased as a whole. */
  private fillErased(offset: number, length: number): void {
    this.eachSpan(offset, length, (index, from, to) => {
      const chunk = this.chunks[index];
      if (!chunk) return;
      if (from === 0 && to === chunk.length) this.chunks[index] = undefined;
      else chunk.fill(0xff, from, to);
    });
  }

  private check(address: number, length: number): void {
    if (
      !Number.isInteger(address) ||
      !Number.isInteger(length) ||
      length < 0 ||
      address < this.baseAddress ||
      address + length > this.baseAddress + this.size
    ) {
      throw new RangeError(
        `FlashModel: range 0x${address.toString(16)}+${length} lies outside the flash ` +
          `(0x${this.baseAddress.toString(16)}..0x${(this.baseAddress + this.size).toString(16)})`,
      );
    }
  }
}
