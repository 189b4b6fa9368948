/**
 * Placement policy, checked by the engine for every driver once the plan is known and before
 * anything is erased: each address-placed region must lie wholly inside one range of the memory
 * the board reported (`FlashSession.flashRanges`: the ESP flash id, the STM32 chip table, the
 * DfuSe memory layout of DFU 1.1 §4.2 / ST UM0424 §4.3.2). Slot-addressed regions (DFU 1.1 alt
 * settings) have no address to check.
 */
import { WebflashError } from '../core/errors.ts';
import type { FlashRange } from '../protocols/driver.ts';

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * @throws {WebflashError} `plan.out-of-flash` naming the region, its range and the memory the
 *   board reported, for the first region that does not fit.
 * @example checkPlacement([{ name: 'app', address: 0x10000, data }], [{ start: 0, end: 0x400000, name: 'SPI flash' }])
 */
export function checkPlacement(
  regions: readonly {
    name: string;
    address: number;
    data: { length: number };
    slot?: number | undefined;
  }[],
  ranges: readonly FlashRange[] | undefined,
): void {
  if (!ranges || ranges.length === 0) return;
  for (const r of regions) {
    if (r.slot !== undefined) continue;
    const end = r.address + r.data.length;
    if (ranges.some((m) => r.address >= m.start && end <= m.end)) continue;
    const reported = ranges
      .map((m) => `${m.name} ${hex(m.start)}…${hex(m.end)} (${m.end - m.start} bytes)`)
      .join(', ');
    throw new WebflashError(
      'plan.out-of-flash',
      `"${r.name}" (${r.data.length} bytes at ${hex(r.address)}, ending at ${hex(end)}) does not fit ` +
        `the memory this board reported: ${reported}. Nothing was erased or written.`,
      { hints: ['Check that the release was built for this board.'] },
    );
  }
}
