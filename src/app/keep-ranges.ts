/**
 * "Don't erase my settings": flash ranges the technician asks to keep, and the check that the
 * flash plan neither writes nor erases over them. It runs before the port is opened (over every
 * image the bundle could write with the chosen protocol) and again once the board has picked its
 * target, before anything is erased or written.
 *
 * Erase granularity: the ESP ROM and stub erase whole 4 KiB sectors around every region they
 * write (esptool serial protocol, "FLASH_BEGIN": the erase size is rounded up to the sector), so
 * an ESP region is widened to 4 KiB boundaries before it is compared. Other protocols are
 * compared on the image bytes alone. Whole-chip erase conflicts with any kept range.
 */
import { hex32 } from '../core/bytes.ts';
import { UsageError, WebflashError } from '../core/errors.ts';
import { parsePartitionTable, PARTITION_TABLE_OFFSET } from '../protocols/esp/partitions.ts';
import type { EraseMode } from '../job/types.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';

/** A flash range to keep: `start` inclusive, `end` exclusive. */
export interface KeepRange {
  start: number;
  end: number;
  /** Where it came from: "nvs (partition table)", "typed in". */
  label: string;
}

/** A region the plan would write, as far as the check needs it. */
export interface PlannedRegion {
  name: string;
  address: number;
  size: number;
}

/** One region that touches one kept range. */
export interface KeepConflict {
  region: PlannedRegion;
  keep: KeepRange;
  /** The bytes the region would erase or write (widened to the erase block). */
  touched: { start: number; end: number };
}

/** Flash sector the ESP loader erases at a time (esptool `FLASH_SECTOR_SIZE`). */
export const ESP_ERASE_BLOCK = 0x1000;

/** The highest address a range may end at (4 GiB address space). */
const ADDRESS_LIMIT = 0x1_0000_0000;

const NUMBER = /^(0x[0-9a-f]+|\d+)$/i;

function parseNumber(text: string, what: string): number {
  const t = text.trim();
  if (!NUMBER.test(t)) {
    throw new UsageError(`${what} "${t}" is not a number (write 0x9000 or 36864).`);
  }
  return Number(t);
}

/**
 * Reads a range typed by the technician: "0x9000-0xF000" (start to end, end exclusive) or
 * "0x9000+0x6000" (start and length).
 * @throws {UsageError} when the text is not such a range, is empty, or ends past 4 GiB.
 * @example parseKeepRange('0x9000+0x6000') // { start: 0x9000, end: 0xf000, label: 'typed in' }
 */
export function parseKeepRange(text: string, label = 'typed in'): KeepRange {
  const m = /^\s*([^+\-–\s]+)\s*([+\-–])\s*([^\s]+)\s*$/.exec(text);
  if (!m) {
    throw new UsageError(`"${text}" is not a range. Write start-end or start+length in hex.`, {
      hints: ['Example: 0x9000-0xF000 keeps the default ESP-IDF NVS partition.'],
    });
  }
  const start = parseNumber(m[1]!, 'Start');
  const second = parseNumber(m[3]!, m[2] === '+' ? 'Length' : 'End');
  const end = m[2] === '+' ? start + second : second;
  if (end <= start)
    throw new UsageError(`The range ${text} is empty: its end is not after its start.`);
  if (end > ADDRESS_LIMIT) throw new UsageError(`The range ${text} ends past 4 GiB.`);
  return { start, end, label };
}

/** "0x00009000–0x0000F000". */
export function formatRange(r: { start: number; end: number }): string {
  const end = r.end >= ADDRESS_LIMIT ? `0x${r.end.toString(16)}` : hex32(r.end);
  return `${hex32(r.start)}–${end}`;
}

/**
 * Data partitions of an ESP partition table image (ESP-IDF "Partition Tables"), as ranges a
 * technician may want to keep; NVS first. Empty when `table` is not a partition table.
 * @example keepSuggestions(tableImage)[0] // { start: 0x9000, end: 0xf000, label: 'nvs (partition table)' }
 */
export function keepSuggestions(table: Uint8Array): KeepRange[] {
  let entries;
  try {
    entries = parsePartitionTable(table);
  } catch {
    return [];
  }
  const NVS = 0x02;
  return entries
    .filter((e) => e.type === 0x01 && e.size > 0)
    .sort((a, b) => Number(b.subtype === NVS) - Number(a.subtype === NVS) || a.offset - b.offset)
    .map((e) => ({
      start: e.offset,
      end: e.offset + e.size,
      label: `${e.label || 'data'} (partition table)`,
    }));
}

/**
 * Suggestions from a verified bundle: the data partitions of the partition table image an ESP
 * target writes at 0x8000, if it has one (deduplicated across targets).
 */
export function bundleKeepSuggestions(
  bundle: Pick<VerifiedBundle, 'manifest' | 'imageBytes'>,
): KeepRange[] {
  const seen = new Map<string, KeepRange>();
  for (const t of bundle.manifest.targets) {
    if (t.protocol !== 'esp-serial') continue;
    for (const im of t.images) {
      if (im.address !== PARTITION_TABLE_OFFSET) continue;
      for (const r of keepSuggestions(bundle.imageBytes(im.name))) {
        seen.set(`${r.start}-${r.end}`, r);
      }
    }
  }
  return [...seen.values()];
}

/**
 * Every (region, kept range) pair that overlaps, with regions widened to `eraseBlock`.
 * @throws {RangeError} for an `eraseBlock` that is not a positive integer.
 * @example keepConflicts({ regions: [{ name: 'app', address: 0x10000, size: 5 }], keep: [], eraseBlock: 1 }) // []
 */
export function keepConflicts(options: {
  regions: readonly PlannedRegion[];
  keep: readonly KeepRange[];
  eraseBlock: number;
}): KeepConflict[] {
  const { regions, keep, eraseBlock } = options;
  if (!Number.isSafeInteger(eraseBlock) || eraseBlock < 1) {
    throw new RangeError(`eraseBlock must be a positive integer, got ${eraseBlock}`);
  }
  const out: KeepConflict[] = [];
  for (const region of regions) {
    const start = Math.floor(region.address / eraseBlock) * eraseBlock;
    const end = Math.ceil((region.address + region.size) / eraseBlock) * eraseBlock;
    if (end <= start) continue;
    for (const k of keep) {
      if (start < k.end && k.start < end) out.push({ region, keep: k, touched: { start, end } });
    }
  }
  return out;
}

/**
 * Refuses a plan that would erase or write a kept range: whole-chip erase with any range kept,
 * or any region that overlaps one. Does nothing when no range is kept.
 * @throws {WebflashError} 'plan.keep-range', naming the region and the range, before anything
 *   is written.
 * @example assertKeepRanges({ regions, keep: [nvs], eraseMode: 'regions', eraseBlock: ESP_ERASE_BLOCK })
 */
export function assertKeepRanges(options: {
  regions: readonly PlannedRegion[];
  keep: readonly KeepRange[];
  eraseMode: EraseMode;
  eraseBlock: number;
}): void {
  const { keep, eraseMode } = options;
  if (keep.length === 0) return;
  if (eraseMode === 'all') {
    throw new WebflashError(
      'plan.keep-range',
      `Erasing the whole chip would also erase the kept range ${formatRange(keep[0]!)} (${keep[0]!.label}). Nothing was written.`,
      { hints: ['Choose "Erase only what is written", or remove the kept ranges.'] },
    );
  }
  const [first] = keepConflicts(options);
  if (!first) return;
  throw new WebflashError(
    'plan.keep-range',
    `Image "${first.region.name}" at ${formatRange(first.touched)} would overwrite the kept range ${formatRange(first.keep)} (${first.keep.label}). Nothing was written.`,
    {
      hints: [
        'Remove the kept range if this release must replace that data, or use a bundle whose images leave it alone.',
      ],
    },
  );
}
