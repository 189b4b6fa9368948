/**
 * MCUboot serial recovery's SMP subset (MCUboot docs/serial_recovery.md,
 * boot/boot_serial/src/boot_serial.c): echo, reset, MCUmgr parameters, the image list (each
 * slot's image only if it validates, signature included) and upload straight into the primary
 * slot. Every reply carries "rc" (`bs_rc_rsp`); commands it
 * lacks answer MGMT_ERR_ENOTSUP. `bs_upload`: a chunk at offset 0 starts over and erases the
 * whole slot (no progressive erase); another offset than expected is answered with rc 0 and the
 * expected "off"; writes are cut to the flash alignment and the remainder is asked for again,
 * except in the last chunk, which is padded. Any bytes are accepted: the image is checked only
 * when MCUboot next boots.
 */
import { MgmtErr } from '../../protocols/mcuboot/errors.ts';
import { ImageCmd, OsCmd, SmpGroup } from '../../protocols/mcuboot/smp.ts';
import type { FlashModel } from '../flash-model.ts';
import { stateList } from './slot-info.ts';
import type { SlotPair } from './slots.ts';
import type { SmpHandler, SmpResult } from './smp-server.ts';

/** MCUBOOT_SERIAL_MAX_RECEIVE_SIZE: the decoded receive buffer, length and CRC included. */
export const RECOVERY_RECEIVE_SIZE = 512;

export interface RecoveryContext {
  flash: FlashModel;
  pairs: readonly SlotPair[];
  /** Flash write alignment (nRF52840: 4-byte words). */
  align: number;
  /** `bootutil_img_validate`: `bs_list` lists only images that pass it. */
  valid(slot: { address: number; size: number }): boolean;
  /** `bootutil_img_validate`: `bs_list` lists only images that pass it. */
  valid(slot: { address: number; size: number }): boolean;
  reset(): void;
}

export function recoverySmpHandler(ctx: RecoveryContext): SmpHandler {
  const { flash, pairs } = ctx;
  let imgSize = 0;
  let currOff = 0;
  let imgNum = 0;
  const rc = (code: number): SmpResult => ({ body: { rc: code } });

  return (req) => {
    const { group, id } = req.header;
    if (group === SmpGroup.OS) {
      if (id === OsCmd.ECHO) {
        const d = req.body['d'];
        return typeof d === 'string' ? { body: { r: d } } : rc(MgmtErr.EINVAL);
      }
      if (id === OsCmd.CONSOLE_ECHO) return rc(0);
      if (id === OsCmd.RESET) return { body: { rc: 0 }, after: () => ctx.reset() };
      if (id === OsCmd.MCUMGR_PARAMS) {
        return { body: { buf_size: RECOVERY_RECEIVE_SIZE, buf_count: 1 } };
      }
      return rc(MgmtErr.ENOTSUP);
    }
    if (group !== SmpGroup.IMAGE) return rc(MgmtErr.ENOTSUP);
    if (id === ImageCmd.STATE) {
      if (req.write) return rc(MgmtErr.ENOTSUP); // MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE off
      return {
        body: {
          images: stateList(flash, pairs, {
            flags: false,
            hash: true,
            slots: 'both',
            accept: (slot) => ctx.valid(slot),
          }),
        },
      };
    }
    if (id !== ImageCmd.UPLOAD) return rc(MgmtErr.ENOTSUP);

    const b = req.body;
    const data = b['data'];
    const off = b['off'];
    if (!(data instanceof Uint8Array) || typeof off !== 'number') return rc(MgmtErr.EINVAL);
    let busyMs = 0;
    if (off === 0) {
      imgNum = typeof b['image'] === 'number' ? b['image'] : 0;
      const pair = pairs[imgNum];
      if (!pair) return rc(MgmtErr.EINVAL);
      const len = b['len'];
      if (typeof len !== 'number' || len > pair.primary.size) return rc(MgmtErr.EINVAL);
      currOff = 0;
      busyMs += flash.eraseRange(pair.primary.address, pair.primary.size).ms;
      imgSize = len;
    } else if (off !== currOff) {
      return { body: { rc: 0, off: currOff } };
    } else if (currOff + data.length > imgSize) {
      return rc(MgmtErr.EINVAL);
    }
    const slot = pairs[imgNum]!.primary;
    let len = data.length - (data.length % ctx.align);
    let rem = data.length % ctx.align;
    if (currOff + len + rem < imgSize) rem = 0;
    if (len > 0) busyMs += flash.program(slot.address + currOff, data.subarray(0, len)).ms;
    if (rem > 0) {
      const padded = new Uint8Array(ctx.align).fill(0xff);
      padded.set(data.subarray(len));
      busyMs += flash.program(slot.address + currOff + len, padded).ms;
      len += rem;
    }
    currOff += len;
    return { body: { rc: 0, off: currOff }, busyMs };
  };
}
