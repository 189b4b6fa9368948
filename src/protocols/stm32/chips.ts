/**
 * STM32 parts this client knows, as data, keyed by the product id GET_ID returns.
 *
 * Sources, per field:
 * - product id, name, bootloader RAM and system memory ranges: ST AN2606 "Device-dependent
 *   bootloader parameters" (the names are AN2606's, spelled as stm32flash 0.7 prints them);
 * - flash layout (page/sector sizes, banks), option byte area, unique id (UID) and flash-size
 *   register addresses: the reference manuals RM0360/RM0091 (F0), RM0008 (F1), RM0090 (F4),
 *   RM0444 (G0), RM0394 (L4), RM0433 (H7);
 * - bootloader ID byte and its address: AN2606, section of each device;
 * - protocol version and command list returned by GET: AN3155 §3.1 (V2.2 uses Erase 0x43, V3.x
 *   uses Extended Erase 0x44).
 */
import { Command } from './commands.ts';

type Stm32Family = 'F0' | 'F1' | 'F4' | 'G0' | 'L4' | 'H7';

/** An address range, end exclusive. */
export interface AddressRange {
  start: number;
  end: number;
}

/** One erasable unit of flash: a page (F0, F1, G0, L4) or a sector (F4, H7). */
export interface FlashSector {
  /** The number ERASE/EXTENDED_ERASE takes for this unit. */
  index: number;
  address: number;
  size: number;
  /** 1 or 2 on dual-bank parts. */
  bank: number;
}

/** A run of equal sectors: `count` of `size` bytes. */
interface SectorRun {
  count: number;
  size: number;
}

export interface Stm32Chip {
  /** Product id from GET_ID (DBGMCU_IDCODE.DEV_ID). */
  productId: number;
  /** Machine id used in bundle targets. */
  chip: string;
  /** Device line as AN2606 names it. */
  name: string;
  family: Stm32Family;
  /** Flash: start address and the erase units in order. */
  flash: { start: number; runs: readonly SectorRun[]; banks: 1 | 2 };
  /** RAM the bootloader leaves to the host (WRITE_MEMORY / GO targets). */
  ram: AddressRange;
  /** System memory holding the bootloader itself. */
  systemMemory: AddressRange;
  /** Option bytes area, when the bootloader maps it. */
  optionBytes?: AddressRange;
  /** Unique device id (96 bits), readable with READ_MEMORY when not read-protected. */
  uidAddress?: number;
  /** Flash size register (16 bits, KiB). */
  flashSizeAddress?: number;
  /** Bootloader ID byte (AN2606): version of the bootloader firmware, e.g. 0x91 = V9.1. */
  bootloaderId?: number;
  bootloaderIdAddress?: number;
  /** Protocol version GET and GET_VERSION report (0x31 = 3.1). */
  protocolVersion: number;
  /** Opcodes GET lists, in the order the device lists them. */
  commands: readonly number[];
}

const V31 = [
  Command.GET,
  Command.GET_VERSION,
  Command.GET_ID,
  Command.READ_MEMORY,
  Command.GO,
  Command.WRITE_MEMORY,
  Command.EXTENDED_ERASE,
  Command.WRITE_PROTECT,
  Command.WRITE_UNPROTECT,
  Command.READOUT_PROTECT,
  Command.READOUT_UNPROTECT,
] as const;
const V22 = V31.map((c) => (c === Command.EXTENDED_ERASE ? Command.ERASE : c));

const KiB = 1024;

/** The table. Add a part by adding an entry; nothing else changes. */
export const STM32_CHIPS: readonly Stm32Chip[] = [
  {
    productId: 0x440,
    chip: 'stm32f0',
    name: 'STM32F030x8/F05xxx',
    family: 'F0',
    // RM0360 §3.2 / RM0091 §3.2: 64 pages of 1 KiB.
    flash: { start: 0x08000000, runs: [{ count: 64, size: 1 * KiB }], banks: 1 },
    ram: { start: 0x20000800, end: 0x20002000 },
    systemMemory: { start: 0x1fffec00, end: 0x1ffff800 },
    optionBytes: { start: 0x1ffff800, end: 0x1ffff810 },
    uidAddress: 0x1ffff7ac,
    flashSizeAddress: 0x1ffff7cc,
    bootloaderId: 0x21,
    bootloaderIdAddress: 0x1ffff7a6,
    protocolVersion: 0x31,
    commands: V31,
  },
  {
    productId: 0x410,
    chip: 'stm32f1',
    name: 'STM32F10xxx Medium-density',
    family: 'F1',
    // RM0008 §3.3.3: medium density, 128 pages of 1 KiB.
    flash: { start: 0x08000000, runs: [{ count: 128, size: 1 * KiB }], banks: 1 },
    ram: { start: 0x20000200, end: 0x20005000 },
    systemMemory: { start: 0x1ffff000, end: 0x1ffff800 },
    optionBytes: { start: 0x1ffff800, end: 0x1ffff810 },
    uidAddress: 0x1ffff7e8,
    flashSizeAddress: 0x1ffff7e0,
    protocolVersion: 0x22,
    commands: V22,
  },
  {
    productId: 0x413,
    chip: 'stm32f4',
    name: 'STM32F40xxx/41xxx',
    family: 'F4',
    // RM0090 §3.3, Table 5: sectors 0-3 of 16 KiB, 4 of 64 KiB, 5-11 of 128 KiB.
    flash: {
      start: 0x08000000,
      runs: [
        { count: 4, size: 16 * KiB },
        { count: 1, size: 64 * KiB },
        { count: 7, size: 128 * KiB },
      ],
      banks: 1,
    },
    ram: { start: 0x20003000, end: 0x20020000 },
    systemMemory: { start: 0x1fff0000, end: 0x1fff7800 },
    optionBytes: { start: 0x1fffc000, end: 0x1fffc010 },
    uidAddress: 0x1fff7a10,
    flashSizeAddress: 0x1fff7a22,
    bootloaderId: 0x91,
    bootloaderIdAddress: 0x1fff76de,
    protocolVersion: 0x31,
    commands: V31,
  },
  {
    productId: 0x460,
    chip: 'stm32g0',
    name: 'STM32G07xxx/08xxx',
    family: 'G0',
    // RM0444 §3.3.1: 64 pages of 2 KiB.
    flash: { start: 0x08000000, runs: [{ count: 64, size: 2 * KiB }], banks: 1 },
    ram: { start: 0x20002700, end: 0x20009000 },
    systemMemory: { start: 0x1fff0000, end: 0x1fff7000 },
    optionBytes: { start: 0x1fff7800, end: 0x1fff7880 },
    uidAddress: 0x1fff7590,
    flashSizeAddress: 0x1fff75e0,
    bootloaderId: 0xb3,
    protocolVersion: 0x31,
    commands: V31,
  },
  {
    productId: 0x435,
    chip: 'stm32l4',
    name: 'STM32L43xxx/44xxx',
    family: 'L4',
    // RM0394 §3.3.1: 128 pages of 2 KiB.
    flash: { start: 0x08000000, runs: [{ count: 128, size: 2 * KiB }], banks: 1 },
    ram: { start: 0x20003100, end: 0x2000c000 },
    systemMemory: { start: 0x1fff0000, end: 0x1fff7000 },
    optionBytes: { start: 0x1fff7800, end: 0x1fff7810 },
    uidAddress: 0x1fff7590,
    flashSizeAddress: 0x1fff75e0,
    bootloaderId: 0x91,
    bootloaderIdAddress: 0x1fff6ffe,
    protocolVersion: 0x31,
    commands: V31,
  },
  {
    productId: 0x450,
    chip: 'stm32h7',
    name: 'STM32H74xxx/75xxx',
    family: 'H7',
    // RM0433 §4.3.4: two banks of 8 sectors of 128 KiB; bank 2 sectors are numbered 8-15.
    flash: { start: 0x08000000, runs: [{ count: 16, size: 128 * KiB }], banks: 2 },
    ram: { start: 0x20004100, end: 0x20020000 },
    systemMemory: { start: 0x1ff00000, end: 0x1ff1e800 },
    uidAddress: 0x1ff1e800,
    flashSizeAddress: 0x1ff1e880,
    bootloaderId: 0x91,
    bootloaderIdAddress: 0x1ff1e7fe,
    protocolVersion: 0x31,
    commands: V31,
  },
];

/** The part with this product id, or `undefined`. */
export function chipByProductId(productId: number): Stm32Chip | undefined {
  return STM32_CHIPS.find((c) => c.productId === productId);
}

/** The part with this machine id ("stm32f4"), or `undefined`. */
export function chipById(chip: string): Stm32Chip | undefined {
  return STM32_CHIPS.find((c) => c.chip === chip);
}

/** Total flash size in bytes. */
export function flashSize(chip: Stm32Chip): number {
  return chip.flash.runs.reduce((n, r) => n + r.count * r.size, 0);
}

/** Every erase unit of the part, in address order. */
export function flashSectors(chip: Stm32Chip): FlashSector[] {
  const out: FlashSector[] = [];
  const total = flashSize(chip);
  let address = chip.flash.start;
  for (const run of chip.flash.runs) {
    for (let i = 0; i < run.count; i++) {
      const offset = address - chip.flash.start;
      const bank = chip.flash.banks === 2 && offset >= total / 2 ? 2 : 1;
      out.push({ index: out.length, address, size: run.size, bank });
      address += run.size;
    }
  }
  return out;
}

/** The erase units that `[address, address + length)` touches (empty for length 0). */
export function sectorsTouched(chip: Stm32Chip, address: number, length: number): FlashSector[] {
  if (length <= 0) return [];
  const end = address + length;
  return flashSectors(chip).filter((s) => s.address < end && s.address + s.size > address);
}

/** Size of the first erase unit, e.g. "1 KiB pages" or "16 KiB sectors", for display. */
export function describeLayout(chip: Stm32Chip): string {
  const kind = chip.family === 'F4' || chip.family === 'H7' ? 'sectors' : 'pages';
  return chip.flash.runs.map((r) => `${r.count} × ${r.size / 1024} KiB`).join(' + ') + ` ${kind}`;
}
