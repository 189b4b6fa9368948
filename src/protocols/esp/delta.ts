/**
 * Delta updates on the ESP serial bootloader (driver.ts `compareUnits`): one SPI_FLASH_MD5 per
 * block of the image (esptool serial protocol "Verifying Uploaded Data", command 0x13; in the
 * flasher stub and in the ROM of the ESP32 and every later chip, not in the ESP8266 ROM, where
 * nothing is compared). A block is unchanged when the board's digest equals the MD5 of what a
 * write would leave there: FLASH_DEFL_BEGIN erases whole 4 KiB sectors, so the last block is
 * hashed up to the end of its last sector and expected to read 0xFF after the image.
 *
 * Comparing always pays here: the chip hashes its flash at about 2 MB/s (ROM, measured) while
 * erasing and writing a 4 KiB sector costs a 45 ms erase plus its transfer.
 */
import { equalBytes } from '../../core/bytes.ts';
import type { DeltaUnit, FlashRegion } from '../driver.ts';
import { FLASH_SECTOR_SIZE } from './constants.ts';
import { plainDigests, type ImageDigests } from './digests.ts';
import { canCompress } from './flash-writer.ts';
import type { EspLoader } from './loader.ts';

/**
 * Bytes per MD5 command, a multiple of the 4 KiB sector. 4 KiB, chosen by measurement
 * (`npm run bench -- --only delta`, docs/benchmarks.md "Delta updates"): every sector is
 * hashed once whatever the block, so larger blocks save only the per-command round trip, and
 * a 5 % spread change then rewrites whole larger blocks.
 */
export const DELTA_BLOCK_SIZE = 4096;

/**
 * Which blocks of `region` the board already holds.
 * @returns undefined where the loader has no SPI_FLASH_MD5 (ESP8266 ROM) or the region is not
 *   sector-aligned (the write refuses it anyway).
 * @throws {ProtocolError} 'protocol.bad-reply' for a digest it cannot parse; the loader's errors.
 * @throws {RangeError} for a block size that is not a positive multiple of 4096.
 */
export async function compareBlocks(
  loader: EspLoader,
  region: FlashRegion,
  options: {
    blockSize?: number;
    signal?: AbortSignal | undefined;
    /** Where the image's block digests come from (default: computed here). */
    digests?: ImageDigests | undefined;
  },
): Promise<DeltaUnit[] | undefined> {
  const blockSize = options.blockSize ?? DELTA_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize % FLASH_SECTOR_SIZE !== 0) {
    throw new RangeError(`blockSize must be a positive multiple of 4096, got ${blockSize}`);
  }
  if (!canCompress(loader) || region.address % FLASH_SECTOR_SIZE !== 0) return undefined;
  const total = region.data.length;
  const expected = (options.digests ?? plainDigests).blockMd5s(region.data, blockSize);
  const units: DeltaUnit[] = [];
  for (let start = 0, i = 0; start < total; start += blockSize, i++) {
    const end = Math.min(total, start + blockSize);
    const span = Math.ceil((end - start) / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE;
    const board = await loader.spiFlashMd5(region.address + start, span, options.signal);
    units.push({ start, end, unchanged: equalBytes(board, expected[i]!) });
  }
  return units;
}
