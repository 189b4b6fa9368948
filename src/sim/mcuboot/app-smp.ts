/**
 * The SMP server of a simulated Zephyr application with MCUmgr (OS and image groups), after
 * Zephyr's `os_mgmt.c` and `img_mgmt.c` / `img_mgmt_state.c` as documented in smp_group_0.rst
 * and smp_group_1.rst:
 *
 * - upload writes the secondary slot; the first chunk (off 0) needs "len", at least a header
 *   and the image magic, fits the slot, and finds the slot not pending; it erases the pages
 *   the image will cover and the trailer's. A first chunk with the "sha" of an unfinished
 *   upload resumes it (the reply names the offset to continue at); a chunk at another offset
 *   than expected is not written and the reply names the expected one. The upload state is
 *   RAM: a reset forgets it.
 * - state write marks an image for test (magic in the secondary trailer), permanently
 *   (magic and image_ok) or confirms the running one (image_ok in the primary trailer).
 * - errors: SMP version 2 requests get group errors `{"err": {"group", "rc"}}`, version 1
 *   requests the translated `mcumgr_err_t` (`img_mgmt_translate_error_code`).
 */
import { equalBytes } from '../../core/bytes.ts';
import type { CborMap } from '../../protocols/mcuboot/cbor.ts';
import { ImgErr, MgmtErr } from '../../protocols/mcuboot/errors.ts';
import { IMAGE_MAGIC } from '../../protocols/mcuboot/image.ts';
import { ImageCmd, OsCmd, SmpGroup } from '../../protocols/mcuboot/smp.ts';
import type { FlashModel } from '../flash-model.ts';
import { imageInSlot, slotSha, stateList } from './slot-info.ts';
import { setFlag, swapType, writeMagic, type SlotPair } from './slots.ts';
import type { SmpHandler, SmpRequest, SmpResult } from './smp-server.ts';

export interface AppSmpContext {
  flash: FlashModel;
  pairs: readonly SlotPair[];
  /** `buf_size` / `buf_count` of MCUmgr parameters. */
  bufSize: number;
  bufCount: number;
  /** OS info fields by format letter (smp_group_0.rst "OS/Application Info"). */
  osInfo: Readonly<Record<string, string>>;
  /** Reset the chip (after the reply, CONFIG_MCUMGR_GRP_OS_RESET_MS later). */
  reset(): void;
  /** Milliseconds between the reset reply and the reset (Zephyr default 250). */
  resetDelayMs?: number;
}

interface UploadState {
  image: number;
  off: number;
  size: number;
  sha: Uint8Array | undefined;
}

/** img_mgmt_translate_error_code: group errors as SMP version 1 `rc`. */
function translate(code: number): number {
  const name = Object.keys(ImgErr).find((k) => ImgErr[k] === code) ?? 'UNKNOWN';
  if (name === 'NO_IMAGE' || name === 'NO_TLVS') return MgmtErr.ENOENT;
  if (['NO_FREE_SLOT', 'CURRENT_VERSION_IS_NEWER', 'IMAGE_ALREADY_PENDING'].includes(name)) {
    return MgmtErr.EBADSTATE;
  }
  if (name === 'NO_FREE_MEMORY') return MgmtErr.ENOMEM;
  if (
    [
      'INVALID_SLOT',
      'INVALID_PAGE_OFFSET',
      'INVALID_OFFSET',
      'INVALID_LENGTH',
      'INVALID_IMAGE_HEADER',
      'INVALID_HASH',
      'INVALID_FLASH_ADDRESS',
    ].includes(name)
  ) {
    return MgmtErr.EINVAL;
  }
  return MgmtErr.EUNKNOWN;
}

/** Builds the application's SMP handler. Upload state lives as long as the handler (RAM). */
export function zephyrSmpHandler(ctx: AppSmpContext): SmpHandler {
  let upload: UploadState | undefined;
  const { flash, pairs } = ctx;

  const imgErr = (req: SmpRequest, name: string): SmpResult => {
    const code = ImgErr[name] ?? 1;
    return req.header.version === 1
      ? { body: { err: { group: SmpGroup.IMAGE, rc: code } } }
      : { body: { rc: translate(code) } };
  };
  const rc = (code: number): SmpResult => ({ body: { rc: code } });
  // os_mgmt_translate_error_code: INVALID_FORMAT → EINVAL, QUERY_YIELDS_NO_ANSWER → ENOENT.
  const osErr = (req: SmpRequest, code: number): SmpResult =>
    req.header.version === 1
      ? { body: { err: { group: SmpGroup.OS, rc: code } } }
      : rc(code === 2 ? MgmtErr.EINVAL : code === 3 ? MgmtErr.ENOENT : MgmtErr.EUNKNOWN);
  const states = (): SmpResult => ({
    // splitStatus is always 0; Zephyr sends it unless CONFIG_MCUMGR_GRP_IMG_FRUGAL_LIST.
    body: {
      images: stateList(flash, pairs, { flags: true, hash: true, slots: 'both' }),
      splitStatus: 0,
    },
  });

  const uploadChunk = (req: SmpRequest): SmpResult => {
    const b = req.body;
    // img_mgmt_upload_inspect, in its order: "off" present; first chunk: a whole header,
    // "len", the magic, a hash of at most 32 bytes, then the size.
    const raw = b['data'];
    const off = b['off'];
    if (raw !== undefined && !(raw instanceof Uint8Array)) return rc(MgmtErr.EINVAL);
    const data = raw ?? new Uint8Array(0);
    if (typeof off !== 'number') return imgErr(req, 'INVALID_OFFSET');
    if (off === 0) {
      const len = b['len'];
      const image = typeof b['image'] === 'number' ? b['image'] : 0;
      const sha = b['sha'] instanceof Uint8Array ? b['sha'] : undefined;
      const pair = pairs[image];
      if (!pair) return imgErr(req, 'INVALID_SLOT');
      if (data.length < 32) return imgErr(req, 'INVALID_IMAGE_HEADER');
      if (typeof len !== 'number') return imgErr(req, 'INVALID_LENGTH');
      if (new DataView(data.buffer, data.byteOffset).getUint32(0, true) !== IMAGE_MAGIC) {
        return imgErr(req, 'INVALID_IMAGE_HEADER_MAGIC');
      }
      if (sha && sha.length > 32) return imgErr(req, 'INVALID_HASH');
      if (len > pair.secondary.size) return imgErr(req, 'INVALID_IMAGE_TOO_LARGE');
      const type = swapType(flash, pair);
      if (type === 'test' || type === 'perm') return imgErr(req, 'NO_FREE_SLOT');
      if (
        upload &&
        sha &&
        upload.sha &&
        equalBytes(sha, upload.sha) &&
        upload.image === image &&
        upload.size === len &&
        upload.off > 0
      ) {
        return { body: { off: upload.off } }; // the same upload goes on where it was
      }
      upload = { image, off: 0, size: len, sha };
      // Erase what the image covers and the trailer's page (img_mgmt_erase_image_data).
      let ms = flash.eraseRange(pair.secondary.address, len).ms;
      ms += flash.eraseRange(pair.secondary.address + pair.secondary.size - 1, 1).ms;
      const r = writeChunk(req, data);
      return { ...r, busyMs: (r.busyMs ?? 0) + ms };
    }
    if (!upload || off !== upload.off) return { body: { off: upload?.off ?? 0 } };
    return writeChunk(req, data);
  };

  const writeChunk = (req: SmpRequest, data: Uint8Array): SmpResult => {
    const u = upload!;
    if (u.off + data.length > u.size) return imgErr(req, 'INVALID_IMAGE_DATA_OVERRUN');
    const slot = pairs[u.image]!.secondary;
    const ms = data.length > 0 ? flash.program(slot.address + u.off, data).ms : 0;
    u.off += data.length;
    const body: CborMap = { off: u.off };
    if (u.off === u.size) {
      if (u.sha) body['match'] = equalBytes(slotSha(flash, slot, u.size), u.sha);
      upload = undefined;
    }
    return { body, busyMs: ms };
  };

  // img_mgmt_state_write and img_mgmt_set_next_boot_slot (img_mgmt_state.c): which slot the
  // request names, then what the next-boot state allows. The next-boot slot and type follow the
  // swap type: none → primary, normal; test → secondary, test; perm → secondary, normal;
  // revert → secondary (the previous image), revert.
  const setState = (req: SmpRequest): SmpResult => {
    const hash = req.body['hash'];
    const confirm = req.body['confirm'] === true;
    if (hash !== undefined && !(hash instanceof Uint8Array)) return rc(MgmtErr.EINVAL);
    let pair = pairs[0]!;
    let active = true;
    if (hash === undefined || hash.length === 0) {
      if (!confirm) return imgErr(req, 'INVALID_HASH');
    } else if (hash.length !== 32) {
      return imgErr(req, 'INVALID_HASH');
    } else {
      const found = findByHash(hash);
      if (!found) return imgErr(req, 'HASH_NOT_FOUND');
      ({ pair, active } = found);
    }
    const type = swapType(flash, pair);
    const nextIsActive = type === 'none';
    const nextType = type === 'test' ? 'test' : type === 'revert' ? 'revert' : 'normal';
    const isNext = active === nextIsActive;
    if (!confirm && active) return imgErr(req, 'IMAGE_SETTING_TEST_TO_ACTIVE_DENIED');
    if (nextType === 'test') {
      return !confirm && isNext ? states() : imgErr(req, 'IMAGE_ALREADY_PENDING');
    }
    if (nextType === 'normal') {
      if (confirm && isNext) return states();
      if ((active && !nextIsActive) || (!confirm && !active && isNext)) {
        return imgErr(req, 'IMAGE_ALREADY_PENDING');
      }
    }
    if (nextType === 'revert') {
      if (confirm && isNext) return states();
      if (!confirm) return imgErr(req, 'IMAGE_ALREADY_PENDING');
    }
    // boot_set_next: confirm the running image, or mark the other slot for test / permanently.
    if (active) {
      setFlag(flash, pair.primary, 'image_ok');
    } else {
      writeMagic(flash, pair.secondary);
      if (confirm) setFlag(flash, pair.secondary, 'image_ok');
    }
    return states();
  };

  const findByHash = (hash: Uint8Array): { pair: SlotPair; active: boolean } | undefined => {
    for (const pair of pairs) {
      if (equalBytes(imageInSlot(flash, pair.primary)?.hash ?? new Uint8Array(0), hash)) {
        return { pair, active: true };
      }
      if (equalBytes(imageInSlot(flash, pair.secondary)?.hash ?? new Uint8Array(0), hash)) {
        return { pair, active: false };
      }
    }
    return undefined;
  };

  const erase = (req: SmpRequest): SmpResult => {
    const slot = typeof req.body['slot'] === 'number' ? req.body['slot'] : 1;
    const pair = pairs[Math.floor(slot / 2)];
    if (!pair || slot % 2 === 0) return imgErr(req, 'INVALID_SLOT');
    const type = swapType(flash, pair);
    // img_mgmt_slot_in_use: a slot set for the next boot is not erased.
    if (type !== 'none') return imgErr(req, 'IMAGE_ALREADY_PENDING');
    upload = undefined;
    return { body: {}, busyMs: flash.eraseRange(pair.secondary.address, pair.secondary.size).ms };
  };

  // os_mgmt_info: every letter must be known; the fields come out in a fixed order; no
  // format means the kernel name; 'a' means all.
  const info = (req: SmpRequest): SmpResult => {
    const format = typeof req.body['format'] === 'string' ? req.body['format'] : '';
    const order = 'snrvbmpio';
    const wanted = new Set<string>();
    for (const c of format) {
      if (c === 'a') {
        for (const k of order) if (ctx.osInfo[k] !== undefined) wanted.add(k);
      } else if (ctx.osInfo[c] === undefined) {
        return osErr(req, 2); // OS_MGMT_ERR_INVALID_FORMAT
      } else {
        wanted.add(c);
      }
    }
    if (wanted.size === 0) wanted.add('s');
    const output = [...order].filter((k) => wanted.has(k)).map((k) => ctx.osInfo[k]!);
    return { body: { output: output.join(' ') } };
  };

  return (req) => {
    const { group, id } = req.header;
    if (group === SmpGroup.OS) {
      if (id === OsCmd.ECHO && req.write) {
        const d = req.body['d'];
        return typeof d === 'string' ? { body: { r: d } } : rc(MgmtErr.EINVAL);
      }
      if (id === OsCmd.RESET && req.write) {
        return { body: {}, after: () => ctx.reset() };
      }
      if (id === OsCmd.MCUMGR_PARAMS && !req.write) {
        return { body: { buf_size: ctx.bufSize, buf_count: ctx.bufCount } };
      }
      if (id === OsCmd.INFO && !req.write) return info(req);
      if (id === OsCmd.BOOTLOADER_INFO && !req.write) {
        const q = req.body['query'];
        if (q === undefined) return { body: { bootloader: 'MCUboot' } };
        // MCUBOOT_MODE_SWAP_USING_MOVE (3): swap without scratch.
        if (q === 'mode') return { body: { mode: 3 } };
        // os_mgmt_bootloader_info returns OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER (3) as its handler
        // rc, so it reaches the client as {"rc": 3} whatever the SMP version.
        return rc(3);
      }
    } else if (group === SmpGroup.IMAGE) {
      if (id === ImageCmd.STATE) return req.write ? setState(req) : states();
      if (id === ImageCmd.UPLOAD && req.write) return uploadChunk(req);
      if (id === ImageCmd.ERASE && req.write) return erase(req);
    }
    return rc(MgmtErr.ENOTSUP);
  };
}
