/**
 * The address map an STM32 system bootloader sees (ST AN2606 "Device-dependent bootloader
 * parameters", reference manual memory maps): flash (a FlashModel: AND-programming, sector
 * erase, datasheet timing), SRAM, system memory with the bootloader ID byte, the unique id and
 * flash-size registers, option bytes; plus read protection (RDP level 1) and per-sector write
 * protection as the bootloader enforces them.
 */
import { UsageError } from '../../core/errors.ts';
import {
  flashSectors,
  flashSize,
  type AddressRange,
  type FlashSector,
  type Stm32Chip,
} from '../../protocols/stm32/chips.ts';
import { FlashModel, INSTANT_TIMING, type FlashTiming } from '../flash-model.ts';

/**
 * Typical flash timings per family, from the datasheets' "Flash memory characteristics" tables:
 * F0 (DS9773): 16-bit program 53.5 µs, page (1 KiB) erase 30 ms, mass erase 30 ms;
 * F1 (DS5319): 16-bit program 52.5 µs, page erase 20 ms, mass erase 20 ms;
 * F4 (DS8626, x32): word program 16 µs, sector erase 250 ms/550 ms/1 s (16/64/128 KiB), mass 8 s;
 * G0 (DS12232): 64-bit program 85 µs, page (2 KiB) erase 22 ms, mass erase 22.1 ms;
 * L4 (DS11453): 64-bit program 81.7 µs, page erase 22 ms, mass erase 22.1 ms;
 * H7 (DS12110, x64): 256-bit program 16 µs… taken as 60 µs per 32 bytes, sector erase 2 s, bank 16 s.
 */
export const STM32_FAMILY_TIMING: Readonly<Record<Stm32Chip['family'], FlashTiming>> = {
  F0: {
    sectorEraseMs: () => 30,
    programMs: (n) => Math.ceil(n / 2) * 0.0535,
    chipEraseMs: () => 30,
  },
  F1: {
    sectorEraseMs: () => 20,
    programMs: (n) => Math.ceil(n / 2) * 0.0525,
    chipEraseMs: () => 20,
  },
  F4: {
    sectorEraseMs: (s) => (s >= 131072 ? 1000 : s >= 65536 ? 550 : 250),
    programMs: (n) => Math.ceil(n / 4) * 0.016,
    chipEraseMs: () => 8000,
  },
  G0: {
    sectorEraseMs: () => 22,
    programMs: (n) => Math.ceil(n / 8) * 0.085,
    chipEraseMs: () => 22.1,
  },
  L4: {
    sectorEraseMs: () => 22,
    programMs: (n) => Math.ceil(n / 8) * 0.0817,
    chipEraseMs: () => 22.1,
  },
  H7: {
    sectorEraseMs: () => 2000,
    programMs: (n) => Math.ceil(n / 32) * 0.06,
    chipEraseMs: () => 16000,
  },
};

export interface Stm32MemoryOptions {
  chip: Stm32Chip;
  /** 'instant' for tests that do not care about erase/program time. Default: the family's. */
  timing?: FlashTiming | 'instant';
  /** 12-byte unique id. Default: derived from the product id. */
  uid?: Uint8Array;
  readProtected?: boolean;
}

interface SystemArea {
  base: number;
  bytes: Uint8Array;
  readable: AddressRange[];
}

const within = (r: AddressRange, address: number, length: number): boolean =>
  address >= r.start && address + length <= r.end;

/** The memories of one simulated STM32. */
export class Stm32Memory {
  readonly chip: Stm32Chip;
  readonly flash: FlashModel;
  readonly sectors: readonly FlashSector[];
  /** Whole SRAM from 0x2000_0000 to the end of the bootloader's range. */
  readonly sram: Uint8Array;
  readonly uid: Uint8Array;
  /** Read protection level 1 active. */
  readProtected: boolean;
  /** Sector indexes with write protection. */
  readonly writeProtected = new Set<number>();
  private readonly sys: SystemArea;

  constructor(options: Stm32MemoryOptions) {
    const chip = options.chip;
    this.chip = chip;
    const timing =
      options.timing === 'instant'
        ? INSTANT_TIMING
        : (options.timing ?? STM32_FAMILY_TIMING[chip.family]);
    this.sectors = flashSectors(chip);
    this.flash = new FlashModel({
      baseAddress: chip.flash.start,
      sectors: this.sectors.map((s) => s.size),
      timing,
    });
    this.sram = new Uint8Array(chip.ram.end - 0x20000000);
    this.readProtected = options.readProtected ?? false;
    this.uid = options.uid ?? defaultUid(chip.productId);
    if (this.uid.length !== 12) throw new UsageError('uid must be 12 bytes');
    this.sys = buildSystemArea(chip, this.uid);
  }

  /** Flash range. */
  get flashRange(): AddressRange {
    return { start: this.chip.flash.start, end: this.chip.flash.start + flashSize(this.chip) };
  }

  /** True when READ_MEMORY may read `[address, address + length)` (AN3155 §3.4: else NACK). */
  readable(address: number, length: number): boolean {
    if (within(this.flashRange, address, length)) return true;
    if (within({ start: 0x20000000, end: this.chip.ram.end }, address, length)) return true;
    return this.sys.readable.some((r) => within(r, address, length));
  }

  /** True when WRITE_MEMORY may write there: flash, the bootloader's RAM, option bytes. */
  writable(address: number, length: number): boolean {
    if (within(this.flashRange, address, length)) {
      return !this.sectorsOf(address, length).some((s) => this.writeProtected.has(s.index));
    }
    if (within(this.chip.ram, address, length)) return true;
    return this.chip.optionBytes !== undefined && within(this.chip.optionBytes, address, length);
  }

  /** True when the range lies in the option bytes (a write there resets the chip). */
  isOptionBytes(address: number, length: number): boolean {
    return this.chip.optionBytes !== undefined && within(this.chip.optionBytes, address, length);
  }

  /** True when `address` is a GO target the bootloader accepts: flash or RAM. */
  executable(address: number): boolean {
    return within(this.flashRange, address, 4) || within(this.chip.ram, address, 4);
  }

  read(address: number, length: number): Uint8Array {
    if (within(this.flashRange, address, length)) return this.flash.read(address, length);
    if (address >= 0x20000000 && address < 0x20000000 + this.sram.length) {
      const off = address - 0x20000000;
      return this.sram.slice(off, off + length);
    }
    const off = address - this.sys.base;
    return this.sys.bytes.slice(off, off + length);
  }

  /** Writes and returns the time taken in ms (flash: AND-programming). */
  write(address: number, data: Uint8Array): number {
    if (within(this.flashRange, address, data.length)) return this.flash.program(address, data).ms;
    if (within(this.chip.ram, address, data.length)) {
      this.sram.set(data, address - 0x20000000);
      return 0;
    }
    this.sys.bytes.set(data, address - this.sys.base);
    return 0;
  }

  /** Erases the sectors by index; returns the time in ms, or undefined if one is invalid or protected. */
  eraseSectors(indexes: readonly number[]): number | undefined {
    if (indexes.some((i) => !this.sectors[i] || this.writeProtected.has(i))) return undefined;
    return indexes.reduce((ms, i) => ms + this.flash.eraseSector(i), 0);
  }

  /** Mass erase of the whole flash or one bank; returns the time in ms or undefined if refused. */
  massErase(bank?: 1 | 2): number | undefined {
    if (bank !== undefined && this.chip.flash.banks !== 2) return undefined;
    const targets = this.sectors.filter((s) => bank === undefined || s.bank === bank);
    if (targets.some((s) => this.writeProtected.has(s.index))) return undefined;
    if (bank === undefined) return this.flash.eraseAll();
    for (const s of targets) this.flash.eraseSector(s.index);
    return this.flash.timing.chipEraseMs(this.flash.size) / 2;
  }

  private sectorsOf(address: number, length: number): FlashSector[] {
    return this.sectors.filter((s) => s.address < address + length && s.address + s.size > address);
  }
}

/** A deterministic 96-bit id in the layout of RM0090 §39.1 (X/Y wafer position, lot number). */
function defaultUid(productId: number): Uint8Array {
  const out = new Uint8Array(12);
  for (let i = 0; i < 12; i++) out[i] = (productId * 31 + i * 17 + 0x35) & 0xff;
  return out;
}

/** System memory, bootloader ID, UID, flash-size register and option bytes in one block. */
function buildSystemArea(chip: Stm32Chip, uid: Uint8Array): SystemArea {
  const readable: AddressRange[] = [chip.systemMemory];
  if (chip.uidAddress !== undefined)
    readable.push({ start: chip.uidAddress, end: chip.uidAddress + 12 });
  // The flash-size register is 16 bits wide but sits in a readable 32-bit word: on the F4 it is
  // the upper half of the word at 0x1FFF7A20 (RM0090 §39.2 "Flash size", address 0x1FFF7A22),
  // which tools read whole and shift right by 16.
  const sizeWord =
    chip.flashSizeAddress === undefined
      ? undefined
      : chip.flashSizeAddress - (chip.flashSizeAddress % 4);
  if (sizeWord !== undefined) readable.push({ start: sizeWord, end: sizeWord + 4 });
  if (chip.optionBytes) readable.push(chip.optionBytes);
  const base = Math.min(...readable.map((r) => r.start));
  const end = Math.max(...readable.map((r) => r.end));
  const bytes = new Uint8Array(end - base);
  // System memory holds code; fill it with a recognisable pattern rather than zeros.
  for (let a = chip.systemMemory.start; a < chip.systemMemory.end; a++)
    bytes[a - base] = (a * 7) & 0xff;
  if (chip.bootloaderIdAddress !== undefined && chip.bootloaderId !== undefined) {
    bytes[chip.bootloaderIdAddress - base] = chip.bootloaderId;
  }
  if (chip.uidAddress !== undefined) bytes.set(uid, chip.uidAddress - base);
  if (chip.flashSizeAddress !== undefined && sizeWord !== undefined) {
    // The other half of the word is not documented: it reads as erased bits here.
    bytes.fill(0xff, sizeWord - base, sizeWord + 4 - base);
    const kib = flashSize(chip) / 1024;
    bytes[chip.flashSizeAddress - base] = kib & 0xff;
    bytes[chip.flashSizeAddress - base + 1] = kib >> 8;
  }
  if (chip.optionBytes) {
    const o = chip.optionBytes.start - base;
    bytes.fill(0xff, o, chip.optionBytes.end - base);
    // Level 0 (no read protection): F0/F1 RDP = 0xA5 with its complement (RM0008 §2.5); the
    // others hold RDP = 0xAA in the first option word (RM0090 §3.6.1, RM0444 §3.4.1, RM0394 §3.4.1).
    if (chip.family === 'F0' || chip.family === 'F1') {
      bytes[o] = 0xa5;
      bytes[o + 1] = 0x5a;
    } else if (chip.family === 'F4') {
      bytes[o + 1] = 0xaa;
    } else {
      bytes[o] = 0xaa;
    }
  }
  return { base, bytes, readable };
}
