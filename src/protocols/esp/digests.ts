/**
 * The MD5 digests of an image that the ESP driver compares with the board's SPI_FLASH_MD5: of
 * the whole region (the check after writing) and of each block (delta updates, delta.ts).
 * Computed here for one board; a bench flashing one release to many boards computes them once
 * per image instead (once-per-image.ts `digestsOnce`).
 */
import { md5 } from '@noble/hashes/legacy.js';
import { FLASH_SECTOR_SIZE } from './constants.ts';

export interface ImageDigests {
  /** MD5 of `data`. */
  md5(data: Uint8Array): Uint8Array;
  /**
   * MD5 of each `blockSize` block of `data`, the last one padded with 0xFF to whole 4 KiB
   * sectors: what the board reads back there after FLASH_DEFL_BEGIN erased those sectors.
   */
  blockMd5s(data: Uint8Array, blockSize: number): Uint8Array[];
}

/** The digests computed afresh on every call. */
export const plainDigests: ImageDigests = {
  md5: (data) => md5(data),
  blockMd5s(data, blockSize) {
    const out: Uint8Array[] = [];
    for (let start = 0; start < data.length; start += blockSize) {
      const block = data.subarray(start, Math.min(data.length, start + blockSize));
      const span = Math.ceil(block.length / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE;
      if (span === block.length) out.push(md5(block));
      else {
        const padded = new Uint8Array(span).fill(0xff);
        padded.set(block);
        out.push(md5(padded));
      }
    }
    return out;
  },
};
