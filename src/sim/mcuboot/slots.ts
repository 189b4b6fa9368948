/**
 * MCUboot's slots and image trailers in the simulated flash (MCUboot docs/design.md, "Image
 * slots", "Image trailer", "Swap types"). Each slot ends with a trailer; with BOOT_MAX_ALIGN 8
 * the last 16 bytes are the boot magic, and the 8-byte fields before it hold image_ok,
 * copy_done and swap_info (each a flag byte, 0x01 set, 0xFF unset, then 0xFF padding). The swap
 * type is read from both trailers as MCUboot's `boot_swap_type` table does.
 */
import type { FlashModel } from '../flash-model.ts';

/** The boot magic (design.md "Image trailer", `boot_img_magic`), as bytes in flash. */
const BOOT_MAGIC = Uint8Array.from([
  0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
]);
const MAX_ALIGN = 8;
const FLAG_SET = 0x01;

/** One image's pair of slots. */
export interface SlotPair {
  primary: { address: number; size: number };
  secondary: { address: number; size: number };
}

/**
 * The nRF52840 DK partitions used by the simulated boards: MCUboot 48 KiB at 0, two 472 KiB
 * slots, 32 KiB of settings storage at the end of the 1 MiB flash.
 */
export const NRF52840_SLOTS: SlotPair = {
  primary: { address: 0x0000c000, size: 0x76000 },
  secondary: { address: 0x00082000, size: 0x76000 },
};

export type SwapType = 'none' | 'test' | 'perm' | 'revert';

type Field = 'magic' | 'image_ok' | 'copy_done' | 'swap_info';

function fieldOffset(size: number, field: Field): number {
  switch (field) {
    case 'magic':
      return size - 16;
    case 'image_ok':
      return size - 16 - MAX_ALIGN;
    case 'copy_done':
      return size - 16 - 2 * MAX_ALIGN;
    case 'swap_info':
      return size - 16 - 3 * MAX_ALIGN;
  }
}

export interface TrailerState {
  magic: 'good' | 'unset' | 'bad';
  imageOk: 'set' | 'unset' | 'bad';
  copyDone: 'set' | 'unset' | 'bad';
}

/** Reads a slot's trailer. */
export function readTrailer(
  flash: FlashModel,
  slot: { address: number; size: number },
): TrailerState {
  const magic = flash.read(slot.address + fieldOffset(slot.size, 'magic'), 16);
  const flagAt = (f: Field): 'set' | 'unset' | 'bad' => {
    const b = flash.read(slot.address + fieldOffset(slot.size, f), 1)[0];
    return b === FLAG_SET ? 'set' : b === 0xff ? 'unset' : 'bad';
  };
  return {
    magic: magic.every((b, i) => b === BOOT_MAGIC[i])
      ? 'good'
      : magic.every((b) => b === 0xff)
        ? 'unset'
        : 'bad',
    imageOk: flagAt('image_ok'),
    copyDone: flagAt('copy_done'),
  };
}

/** Programs the magic (time in ms). */
export function writeMagic(flash: FlashModel, slot: { address: number; size: number }): number {
  return flash.program(slot.address + fieldOffset(slot.size, 'magic'), BOOT_MAGIC).ms;
}

/** Sets a flag field (time in ms). */
export function setFlag(
  flash: FlashModel,
  slot: { address: number; size: number },
  field: 'image_ok' | 'copy_done',
): number {
  const v = new Uint8Array(MAX_ALIGN).fill(0xff);
  v[0] = FLAG_SET;
  return flash.program(slot.address + fieldOffset(slot.size, field), v).ms;
}

/** Erases the sector holding the trailer (time in ms). */
export function eraseTrailer(flash: FlashModel, slot: { address: number; size: number }): number {
  return flash.eraseRange(slot.address + slot.size - 1, 1).ms;
}

/** `boot_swap_type` (design.md "Swap types"): what MCUboot does with the slots at boot. */
export function swapType(flash: FlashModel, pair: SlotPair): SwapType {
  const p = readTrailer(flash, pair.primary);
  const s = readTrailer(flash, pair.secondary);
  if (s.magic === 'good' && s.imageOk === 'unset') return 'test';
  if (s.magic === 'good' && s.imageOk === 'set') return 'perm';
  if (p.magic === 'good' && p.imageOk === 'unset' && p.copyDone === 'set' && s.magic === 'unset') {
    return 'revert';
  }
  return 'none';
}

/**
 * Swaps the two slots' image areas sector by sector, as swap-move does (trailers excluded),
 * over `length` bytes from the start. Returns the time: per sector, two erases and two writes.
 */
export function swapSlots(flash: FlashModel, pair: SlotPair, length: number): number {
  const sector = flash.sectorAt(pair.primary.address).size;
  const n = Math.min(Math.ceil(length / sector), Math.floor(pair.primary.size / sector) - 1);
  let ms = 0;
  for (let i = 0; i < n; i++) {
    const a = pair.primary.address + i * sector;
    const b = pair.secondary.address + i * sector;
    const da = flash.read(a, sector);
    const db = flash.read(b, sector);
    ms += flash.eraseRange(a, sector).ms + flash.program(a, db).ms;
    ms += flash.eraseRange(b, sector).ms + flash.program(b, da).ms;
  }
  return ms;
}
