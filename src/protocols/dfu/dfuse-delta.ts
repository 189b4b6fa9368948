/**
 * Delta updates on DfuSe (driver.ts `compareUnits`): each sector the image touches is read with
 * UPLOAD (AN3156 §5.2) before anything is erased, and compared with what the write would leave
 * there: the image bytes, and 0xFF around them when the write erases the sector (AN3156 §6.3
 * page erase), or the sector's present bytes when it does not (a segment that is not erasable,
 * or a sector already erased in this session). Plain DFU 1.1 has no partial erase, so the
 * 'dfu' driver does not compare.
 *
 * Cost model (`worthComparing`): reading a sector takes one UPLOAD per wTransferSize block,
 * while writing it takes one DNLOAD and at least one GETSTATUS per block plus the sector erase
 * (F4: 0.25–1 s per sector, L4: 22 ms per 2 KiB page): comparing always pays here. The unit
 * compared is the sector, never the transfer block inside it: the sector is erased whole, so
 * one differing byte means erasing and writing all of it, and a finer comparison could save
 * no erase or write (an F405 update that touches its 128 KiB sector 5 rewrites 128 KiB).
 */
import { equalBytes } from '../../core/bytes.ts';
import { worthComparing, type DeltaUnit, type FlashRegion, type WriteOptions } from '../driver.ts';
import type { DfuseClient } from './dfuse-client.ts';
import type { MemorySector } from './dfuse-layout.ts';

/**
 * Control transfers to read, and to erase and write, one sector of `size` in `block`s: per
 * sector, since what a difference costs is the whole sector's erase and write.
 */
const compareCost = (size: number, block: number) => ({
  compareMs: Math.ceil(size / block),
  eraseWriteMs: 2 * Math.ceil(size / block) + 1,
});

/**
 * Which sectors of `region` the device already holds.
 * @param erases whether the write would erase `sector` first.
 * @returns undefined when a sector cannot be read (a segment without the readable bit).
 * @throws the client's errors: a failed UPLOAD is never taken as "unchanged".
 */
export async function compareSectors(
  client: DfuseClient,
  region: FlashRegion,
  sectors: readonly MemorySector[],
  options: {
    transferSize: number;
    erases: (sector: MemorySector) => boolean;
    signal?: AbortSignal | undefined;
    /** `compare` progress: the image bytes read so far, per UPLOAD block. */
    onProgress?: WriteOptions['onProgress'];
  },
): Promise<DeltaUnit[] | undefined> {
  if (sectors.some((s) => !s.segment.readable)) return undefined;
  if (!sectors.every((s) => worthComparing(compareCost(s.size, options.transferSize)))) {
    return undefined;
  }
  const units: DeltaUnit[] = [];
  const end = region.address + region.data.length;
  for (const s of sectors) {
    const from = Math.max(region.address, s.start);
    const to = Math.min(end, s.start + s.size);
    const image = region.data.subarray(from - region.address, to - region.address);
    const read = async (address: number, length: number) =>
      client.readMemory(address, length, {
        signal: options.signal,
        onProgress: (p) =>
          options.onProgress?.({
            phase: 'compare',
            region: region.name,
            bytesDone: Math.min(to, Math.max(from, address + p.bytesDone)) - region.address,
            bytesTotal: region.data.length,
          }),
      });
    let same: boolean;
    if (options.erases(s)) {
      const want = new Uint8Array(s.size).fill(0xff);
      want.set(image, from - s.start);
      same = equalBytes(await read(s.start, s.size), want);
    } else {
      same = equalBytes(await read(from, to - from), image);
    }
    units.push({ start: from - region.address, end: to - region.address, unchanged: same });
  }
  return units;
}
