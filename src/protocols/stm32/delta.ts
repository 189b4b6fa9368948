/**
 * Delta updates on the STM32 USART bootloader (driver.ts `compareUnits`), one unit per page or
 * sector the image touches. The write erases whole units, so a unit is unchanged only when all
 * of it holds the image bytes and 0xFF around them.
 *
 * - GET_CHECKSUM (0xA1, AN3155 rev 15+, where GET lists it): one CRC per unit, computed by the
 *   chip at about 1 µs per word; always cheaper than erasing and writing.
 * - Otherwise READ_MEMORY (AN3155 §3.4, at most 256 bytes per command) and compare, stopping at
 *   the first difference, only when the cost model (`worthComparing`) says it pays: reading a
 *   unit costs about what sending it costs, so it pays only where the erase and programming
 *   time is large against the link time, i.e. at 115200 baud on every family here (F4/H7
 *   sectors of 16–128 KiB take 0.25–2 s to erase), not on slow links. A read that comes back
 *   damaged can only make a unit look changed, never unchanged.
 */
import { equalBytes } from '../../core/bytes.ts';
import { worthComparing, type DeltaUnit, type FlashRegion, type WriteOptions } from '../driver.ts';
import { sectorsTouched, type FlashSector, type Stm32Chip } from './chips.ts';
import type { Stm32Client } from './client.ts';
import { MAX_BLOCK } from './commands.ts';
import { stm32Crc } from './crc.ts';

/**
 * Typical erase time of one unit and programming time per byte, per family (datasheets, flash
 * memory characteristics, typical values): F0 DS9773 and F1 DS5319 page erase 20 ms, half-word
 * program 52.5 µs; G0 DS12991 and L4 DS11451 page erase 22 ms, double-word program 85–90 µs;
 * F4 DS8626 sector erase 16/64/128 KiB 250/550/1000 ms, word program 16 µs; H7 DS12110
 * 128 KiB sector erase 2 s (x64), flash-word (32 bytes) program 11 µs.
 */
const FAMILY_TIMING: Record<
  Stm32Chip['family'],
  { eraseMs: (size: number) => number; programUsPerByte: number }
> = {
  F0: { eraseMs: () => 20, programUsPerByte: 26 },
  F1: { eraseMs: () => 20, programUsPerByte: 26 },
  G0: { eraseMs: () => 22, programUsPerByte: 11 },
  L4: { eraseMs: () => 22, programUsPerByte: 11 },
  F4: {
    eraseMs: (size) => (size >= 131072 ? 1000 : size >= 65536 ? 550 : 250),
    programUsPerByte: 4,
  },
  H7: { eraseMs: () => 2000, programUsPerByte: 0.35 },
};

/** Link milliseconds of `bytes` data moved in 256-byte commands (12 bytes of framing each, 8E1). */
function linkMs(bytes: number, baudRate: number): number {
  const commands = Math.ceil(bytes / MAX_BLOCK);
  return ((bytes + commands * 12) * 11 * 1000) / baudRate;
}

/**
 * Whether reading `sector` back costs less than the erase and write it may save (cost model of
 * driver.ts `worthComparing`).
 */
export function readCompareWorthIt(
  chip: Stm32Chip,
  sector: FlashSector,
  baudRate: number,
): boolean {
  const timing = FAMILY_TIMING[chip.family];
  const transfer = linkMs(sector.size, baudRate);
  return worthComparing({
    compareMs: transfer,
    eraseWriteMs:
      timing.eraseMs(sector.size) + transfer + (sector.size * timing.programUsPerByte) / 1000,
  });
}

/** What a write leaves in `sector`: the image bytes in it, 0xFF elsewhere. */
function expectedSector(region: FlashRegion, sector: FlashSector): Uint8Array {
  const out = new Uint8Array(sector.size).fill(0xff);
  const from = Math.max(region.address, sector.address);
  const to = Math.min(region.address + region.data.length, sector.address + sector.size);
  out.set(region.data.subarray(from - region.address, to - region.address), from - sector.address);
  return out;
}

/**
 * Which pages/sectors of `region` the chip already holds.
 * @returns undefined when neither GET_CHECKSUM nor a read-compare that pays is available.
 * @throws the client's errors (a timeout, a NACK); never reports a unit unchanged unsure.
 */
export async function compareSectors(
  client: Stm32Client,
  chip: Stm32Chip,
  region: FlashRegion,
  options: {
    crc: boolean;
    baudRate: number;
    signal?: AbortSignal | undefined;
    /** `compare` progress: per checksum, or per block read, the image bytes settled. */
    onProgress?: WriteOptions['onProgress'];
  },
): Promise<DeltaUnit[] | undefined> {
  const { signal } = options;
  const total = region.data.length;
  // Image bytes up to `address`.
  const upTo = (address: number) => Math.max(0, Math.min(total, address - region.address));
  const report = (address: number) =>
    options.onProgress?.({
      phase: 'compare',
      region: region.name,
      bytesDone: upTo(address),
      bytesTotal: total,
    });
  const sectors = sectorsTouched(chip, region.address, region.data.length);
  if (!options.crc && !sectors.every((s) => readCompareWorthIt(chip, s, options.baudRate))) {
    return undefined;
  }
  const units: DeltaUnit[] = [];
  for (const sector of sectors) {
    const want = expectedSector(region, sector);
    let same: boolean;
    if (options.crc) {
      same = (await client.checksum(sector.address, sector.size, { signal })) === stm32Crc(want);
    } else {
      same = true;
      for (let off = 0; off < want.length && same; off += MAX_BLOCK) {
        const part = want.subarray(off, Math.min(want.length, off + MAX_BLOCK));
        same = equalBytes(
          await client.readMemory(sector.address + off, part.length, { signal }),
          part,
        );
        report(sector.address + off + part.length);
      }
    }
    report(sector.address + sector.size);
    units.push({
      start: Math.max(0, sector.address - region.address),
      end: upTo(sector.address + sector.size),
      unchanged: same,
    });
  }
  return units;
}
