import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebflashError } from '../core/errors.ts';
import {
  assertKeepRanges,
  ESP_ERASE_BLOCK,
  formatRange,
  keepConflicts,
  keepSuggestions,
  parseKeepRange,
  type KeepRange,
} from './keep-ranges.ts';

const nvs: KeepRange = { start: 0x9000, end: 0xf000, label: 'nvs' };

describe('parseKeepRange', () => {
  it.each([
    ['0x9000-0xF000', 0x9000, 0xf000],
    ['0x9000+0x6000', 0x9000, 0xf000],
    [' 36864 - 61440 ', 0x9000, 0xf000],
    ['0x9000–0xf000', 0x9000, 0xf000],
  ])('reads %j', (text, start, end) => {
    expect(parseKeepRange(text)).toEqual({ start, end, label: 'typed in' });
  });

  it.each([
    ['', 'not a range'],
    ['0x9000', 'not a range'],
    ['nvs-0xF000', 'not a number'],
    ['0x9000-0x9000', 'empty'],
    ['0xF000-0x9000', 'empty'],
    ['0x9000+0', 'empty'],
    ['0x0-0x100000001', 'past 4 GiB'],
    ['0x10-0x20-0x30', 'not a number'],
  ])('refuses %j', (text, words) => {
    expect(() => parseKeepRange(text)).toThrow(words);
  });

  it('round-trips every range through its printed form', () => {
    fc.assert(
      fc.property(fc.nat(0xffff_fffe), fc.integer({ min: 1, max: 0xffff_ffff }), (a, len) => {
        const end = Math.min(a + len, 0x1_0000_0000);
        fc.pre(end > a);
        const r = parseKeepRange(`0x${a.toString(16)}-0x${end.toString(16)}`);
        expect(r).toMatchObject({ start: a, end });
        expect(parseKeepRange(formatRange(r).replace('–', '-'))).toMatchObject(r);
      }),
    );
  });
});

describe('keepConflicts / assertKeepRanges', () => {
  const regions = [
    { name: 'partition-table', address: 0x8000, size: 0xc00 },
    { name: 'app', address: 0x10000, size: 0x2_0000 },
  ];

  it('lets regions that stay clear of the kept range through', () => {
    expect(keepConflicts({ regions, keep: [nvs], eraseBlock: ESP_ERASE_BLOCK })).toEqual([]);
    expect(() =>
      assertKeepRanges({ regions, keep: [nvs], eraseMode: 'regions', eraseBlock: ESP_ERASE_BLOCK }),
    ).not.toThrow();
  });

  it('widens a region to whole erase sectors', () => {
    const table = [{ name: 'table', address: 0x8000, size: 0xc00 }];
    const keep = [{ start: 0x8c00, end: 0x9000, label: 'after the table' }];
    expect(keepConflicts({ regions: table, keep, eraseBlock: 1 })).toEqual([]);
    const [c] = keepConflicts({ regions: table, keep, eraseBlock: ESP_ERASE_BLOCK });
    expect(c?.touched).toEqual({ start: 0x8000, end: 0x9000 });
  });

  it('refuses an overlapping region with a typed error that names both', () => {
    const keep = [{ start: 0x20000, end: 0x21000, label: 'calibration' }];
    let err: unknown;
    try {
      assertKeepRanges({ regions, keep, eraseMode: 'regions', eraseBlock: ESP_ERASE_BLOCK });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebflashError);
    expect((err as WebflashError).code).toBe('plan.keep-range');
    expect((err as WebflashError).message).toContain('"app"');
    expect((err as WebflashError).message).toContain('calibration');
    expect((err as WebflashError).message).toContain('Nothing was written');
  });

  it('refuses whole-chip erase whenever a range is kept, and allows it when none is', () => {
    expect(() =>
      assertKeepRanges({ regions: [], keep: [nvs], eraseMode: 'all', eraseBlock: 1 }),
    ).toThrow(/whole chip/);
    expect(() =>
      assertKeepRanges({ regions, keep: [], eraseMode: 'all', eraseBlock: 1 }),
    ).not.toThrow();
  });

  it('agrees with a byte-by-byte overlap check', () => {
    fc.assert(
      fc.property(
        fc.nat(0x4000),
        fc.integer({ min: 1, max: 0x3000 }),
        fc.nat(0x4000),
        fc.integer({ min: 1, max: 0x3000 }),
        fc.constantFrom(1, 0x100, ESP_ERASE_BLOCK),
        (address, size, start, len, block) => {
          const keep = [{ start, end: start + len, label: 'k' }];
          const region = { name: 'r', address, size };
          const lo = Math.floor(address / block) * block;
          const hi = Math.ceil((address + size) / block) * block;
          let overlap = false;
          for (let b = lo; b < hi && !overlap; b++) overlap = b >= start && b < start + len;
          expect(keepConflicts({ regions: [region], keep, eraseBlock: block }).length > 0).toBe(
            overlap,
          );
        },
      ),
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses erase block %d', (block) => {
    expect(() => keepConflicts({ regions, keep: [nvs], eraseBlock: block })).toThrow(RangeError);
  });
});

describe('keepSuggestions', () => {
  // esptool's test/images/partitions_singleapp.bin at bb72741 (test/fixtures/firmware): factory app
  // at 0x10000 (1 MiB), "rfdata" (data/phy) at 0x110000 and "wifidata" (data/nvs) at 0x150000,
  // 256 KiB each.
  const table = new Uint8Array(
    readFileSync(
      join(import.meta.dirname, '../../test/fixtures/firmware/partitions_singleapp.bin'),
    ),
  );

  it('offers the data partitions, NVS first', () => {
    const s = keepSuggestions(table);
    expect(s).toEqual([
      { start: 0x150000, end: 0x190000, label: 'wifidata (partition table)' },
      { start: 0x110000, end: 0x150000, label: 'rfdata (partition table)' },
    ]);
    expect(s.some((r) => r.start === 0x10000)).toBe(false);
  });

  it('offers nothing for bytes that are not a partition table', () => {
    expect(keepSuggestions(new Uint8Array(64).fill(0xff))).toEqual([]);
    expect(keepSuggestions(new Uint8Array(0))).toEqual([]);
  });
});
