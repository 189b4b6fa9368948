/**
 * Placement policy, checked by the engine for every driver once the plan is known and before
 * anything is erased: each address-placed region must lie wholly inside one range of the memory
 * the board reported (`FlashSession.flashRanges`: the ESP flash id, the STM32 chip table, the
 * DfuSe memory layout of DFU 1.1 §4.2 / ST UM0424 §4.3.2). Slot-addressed regions (DFU 1.1 alt
 * settings) have no address to check.
 */
import { hex32 } from '../core/bytes.ts';
import { WebflashError } from '../core/errors.ts';
import type { FlashRange } from '../protocols/driver.ts';

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
  if (!ranges?.length) return;
  for (const r of regions) {
    const end = r.address + r.data.length;
    if (r.slot !== undefined || ranges.some((m) => r.address >= m.start && end <= m.end)) continue;
    const reported = ranges.map((m) => `${m.name} ${hex32(m.start)}…${hex32(m.end)}`).join(', ');
    throw new WebflashError(
      'plan.out-of-flash',
      `"${r.name}" (${r.data.length} bytes at ${hex32(r.address)}) ends at ${hex32(end)}, ` +
        `outside the memory the board reported: ${reported}. Nothing was erased or written.`,
    );
  }
}
