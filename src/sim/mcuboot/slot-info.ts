/**
 * What the image state list reports for each slot (smp_group_1.rst "Get state of images
 * response"), as Zephyr's `img_mgmt_state_read` and MCUboot's `bs_list` build it: only slots
 * holding an image with a readable header and hash TLV are listed; the flags follow from the
 * swap type (Zephyr `img_mgmt_state_flags`, the same table as `bs_list`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { CborMap } from '../../protocols/mcuboot/cbor.ts';
import {
  IMAGE_MAGIC,
  parseMcubootImage,
  type McubootImage,
} from '../../protocols/mcuboot/image.ts';
import type { FlashModel } from '../flash-model.ts';
import { swapType, type SlotPair } from './slots.ts';

/** The image at the start of a slot, read as Zephyr does (the hash TLV is not recomputed). */
export function imageInSlot(
  flash: FlashModel,
  slot: { address: number; size: number },
): McubootImage | undefined {
  const head = flash.read(slot.address, 32);
  const dv = new DataView(head.buffer);
  if (dv.getUint32(0, true) !== IMAGE_MAGIC) return undefined;
  const tlvAt = dv.getUint16(8, true) + dv.getUint32(12, true) + dv.getUint16(10, true);
  if (tlvAt + 4 > slot.size) return undefined;
  const info = flash.read(slot.address + tlvAt, 4);
  const tot = info[2]! | (info[3]! << 8);
  if (tlvAt + tot > slot.size) return undefined;
  try {
    return parseMcubootImage(flash.read(slot.address, tlvAt + tot), { checkHash: false });
  } catch {
    return undefined;
  }
}

/** SHA-256 of the first `length` bytes of a slot (the upload's "sha" / "match" check). */
export function slotSha(flash: FlashModel, slot: { address: number }, length: number): Uint8Array {
  return sha256(flash.read(slot.address, length));
}

export interface StateListOptions {
  /** Include flags (Zephyr; MCUboot with MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE). */
  flags: boolean;
  /** Include "hash" (MCUBOOT_SERIAL_IMG_GRP_HASH in recovery). */
  hash: boolean;
  /** Slots to list: both, or only the primaries (single application slot). */
  slots: 'both' | 'primary';
  /** Lists a slot only if this accepts it (serial recovery validates each image, signature included). */
  accept?: (slot: { address: number; size: number }) => boolean;
}

/** The "images" array of the state list. */
export function stateList(
  flash: FlashModel,
  pairs: readonly SlotPair[],
  options: StateListOptions,
): CborMap[] {
  const out: CborMap[] = [];
  pairs.forEach((pair, index) => {
    const type = swapType(flash, pair);
    const slots = options.slots === 'both' ? [pair.primary, pair.secondary] : [pair.primary];
    slots.forEach((slot, n) => {
      const image = imageInSlot(flash, slot);
      if (!image || (options.accept && !options.accept(slot))) return;
      const e: CborMap = {};
      if (pairs.length > 1) e['image'] = index;
      e['slot'] = n;
      e['version'] = image.versionText;
      if (options.hash) e['hash'] = image.hash;
      if (options.flags) {
        const active = n === 0;
        if ((image.flags & 0x10) === 0) e['bootable'] = true;
        // img_mgmt_state_flags: NONE → active confirmed; TEST/PERM → the secondary pending
        // (PERM also permanent), the primary confirmed; REVERT → the secondary confirmed.
        const confirmed = type === 'revert' ? !active : active;
        if (type === 'test' || type === 'perm') {
          if (!active) e['pending'] = true;
        }
        if (confirmed) e['confirmed'] = true;
        if (active) e['active'] = true;
        if (type === 'perm' && !active) e['permanent'] = true;
      }
      out.push(e);
    });
  });
  return out;
}
