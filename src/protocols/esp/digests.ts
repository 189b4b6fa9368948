/**
 * The MD5 digests of an image that the ESP driver compares with the board's SPI_FLASH_MD5: of
 * the whole region (the check after writing) and of runs of its 4 KiB sectors (delta updates,
 * delta.ts). Computed here for one board; a bench flashing one release to many boards computes
 * them once per image instead (once-per-image.ts `digestsOnce`).
 */
import { md5 } from '@noble/hashes/legacy.js';
import { FLASH_SECTOR_SIZE } from './constants.ts';

/** Digests of runs of an image's sectors. */
interface SectorDigests {
  /**
   * MD5 of sectors [from, to): the image's bytes there, and 0xFF after the image to the end of
   * its last sector — what the board reads back after FLASH_DEFL_BEGIN erased those sectors.
   */
  md5(from: number, to: number): Uint8Array;
}

export interface ImageDigests {
  /** MD5 of `data`. */
  md5(data: Uint8Array): Uint8Array;
  /** The sector digests of `data` (which must not change while they are in use). */
  sectors(data: Uint8Array): SectorDigests;
}

/** The digests computed afresh on every call. */
export const plainDigests: ImageDigests = {
  md5: (data) => md5(data),
  sectors(data) {
    const whole = Math.floor(data.length / FLASH_SECTOR_SIZE);
    let tail: Uint8Array | undefined;
    return {
      md5(from, to) {
        const start = from * FLASH_SECTOR_SIZE;
        if (to <= whole) return md5(data.subarray(start, to * FLASH_SECTOR_SIZE));
        // The last sector, padded: built once.
        if (!tail) {
          tail = new Uint8Array(FLASH_SECTOR_SIZE).fill(0xff);
          tail.set(data.subarray(whole * FLASH_SECTOR_SIZE));
        }
        if (from >= whole) return md5(tail);
        const h = md5.create();
        h.update(data.subarray(start, whole * FLASH_SECTOR_SIZE));
        h.update(tail);
        return h.digest();
      },
    };
  },
};
