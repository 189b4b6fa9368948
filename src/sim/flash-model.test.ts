import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FlashModel,
  INSTANT_TIMING,
  STM32F4_1M_SECTORS,
  STM32F4_TIMING,
  W25Q32_TIMING,
} from './flash-model.ts';

/** Index of the first differing byte, or -1 (cheaper than a deep equality on 30 KB). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('FlashModel', () => {
  it('starts erased (0xFF)', () => {
    const flash = new FlashModel({ size: 16384 });
    expect(flash.snapshot().every((b) => b === 0xff)).toBe(true);
    expect(flash.sectors).toHaveLength(4);
  });

  it('programming only clears bits (old AND new), as NOR flash does', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(4096 - 64),
        (first, second, addr) => {
          const flash = new FlashModel({ size: 4096, timing: INSTANT_TIMING });
          flash.program(addr, first);
          const before = flash.read(addr, second.length);
          const r = flash.program(addr, second);
          const after = flash.read(addr, second.length);
          for (let i = 0; i < second.length; i++) {
            expect(after[i]).toBe(before[i]! & second[i]!);
            // no bit goes from 0 to 1
            expect(after[i]! & ~before[i]! & 0xff).toBe(0);
          }
          const overlap = [...second].some((b, i) => b !== 0xff && before[i] !== 0xff);
          expect(r.overNonErased).toBe(overlap);
        },
      ),
    );
  });

  it('erase brings whole sectors back to 0xFF and leaves the neighbours alone', () => {
    fc.assert(
      fc.property(fc.nat(8 * 4096 - 1), fc.integer({ min: 1, max: 4096 }), (addr, len) => {
        const flash = new FlashModel({ size: 8 * 4096 });
        flash.load(0, new Uint8Array(8 * 4096).fill(0x5a));
        const length = Math.min(len, 8 * 4096 - addr);
        const { sectors } = flash.eraseRange(addr, length);
        const first = Math.floor(addr / 4096);
        const last = Math.floor((addr + length - 1) / 4096);
        expect(sectors.map((s) => s.index)).toEqual(
          Array.from({ length: last - first + 1 }, (_, i) => first + i),
        );
        const expected = new Uint8Array(8 * 4096).fill(0x5a);
        expected.fill(0xff, first * 4096, (last + 1) * 4096);
        expect(Buffer.from(flash.snapshot()).equals(Buffer.from(expected))).toBe(true);
      }),
    );
  });

  it('uses the STM32F4 layout and datasheet timings', () => {
    const flash = new FlashModel({
      sectors: STM32F4_1M_SECTORS,
      baseAddress: 0x0800_0000,
      timing: STM32F4_TIMING,
    });
    expect(flash.size).toBe(1024 * 1024);
    expect(flash.sectorAt(0x0800_0000).size).toBe(16384);
    expect(flash.sectorAt(0x0801_0000).index).toBe(4);
    expect(flash.sectorAt(0x0802_0000).index).toBe(5);
    expect(flash.sectorAt(0x080f_ffff).index).toBe(11);
    expect(flash.eraseSector(0)).toBe(250);
    expect(flash.eraseSector(4)).toBe(550);
    expect(flash.eraseSector(5)).toBe(1000);
    expect(flash.program(0x0800_0000, new Uint8Array(1024)).ms).toBeCloseTo(256 * 0.016);
  });

  it('W25Q32 timings: 45 ms per 4 KiB sector, 0.7 ms per 256-byte page', () => {
    const flash = new FlashModel({ size: 1 << 20, timing: W25Q32_TIMING });
    expect(flash.eraseRange(0x1000, 0x3000).ms).toBe(3 * 45);
    expect(flash.program(0, new Uint8Array(1024)).ms).toBeCloseTo(4 * 0.7);
    expect(flash.eraseAll()).toBe(10_000);
  });

  it('counts operations', () => {
    const flash = new FlashModel({ size: 8192 });
    flash.eraseSector(1);
    flash.eraseSector(1);
    flash.program(0, new Uint8Array([0]));
    flash.program(0, new Uint8Array([0]));
    expect(flash.counters.sectorErases).toEqual([0, 2]);
    expect(flash.counters.programOps).toBe(2);
    expect(flash.counters.programmedBytes).toBe(2);
    expect(flash.counters.programsOverNonErased).toBe(1);
    expect(flash.isErased(4096, 4096)).toBe(true);
    expect(flash.isErased(0, 1)).toBe(false);
  });

  it.each([
    ['read before start', (f: FlashModel) => f.read(-1, 1)],
    ['read past end', (f: FlashModel) => f.read(4095, 2)],
    ['program past end', (f: FlashModel) => f.program(4096, new Uint8Array(1))],
    ['fractional address', (f: FlashModel) => f.read(0.5, 1)],
    ['negative length', (f: FlashModel) => f.read(0, -1)],
    ['missing sector', (f: FlashModel) => f.eraseSector(1)],
    ['erase past end', (f: FlashModel) => f.eraseRange(4000, 200)],
  ])('rejects %s with RangeError', (_name, op) => {
    const flash = new FlashModel({ size: 4096 });
    expect(() => op(flash)).toThrow(RangeError);
  });

  it.each([
    ['size not a multiple of the sector', { size: 5000 }],
    ['no sectors', { sectors: [] }],
    ['zero-size sector', { sectors: [0] }],
    ['no size', {}],
  ])('rejects a layout with %s', (_name, options) => {
    expect(() => new FlashModel(options)).toThrow(/FlashModel/);
  });

  it('behaves like a plain byte array across storage chunks (seeded model check)', () => {
    // Sector sizes that do not line up with the 4 KiB storage chunks, and an STM32-style base.
    const sectors = [1024, 1024, 2048, 6144, 16384, 3072];
    const base = 0x0800_0000;
    const size = sectors.reduce((a, b) => a + b, 0);
    const range = fc
      .tuple(fc.nat(size - 1), fc.nat(9000))
      .map(([off, len]) => [off, Math.min(len, size - off)] as const);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('program' as const),
        at: fc.nat(size - 1),
        data: fc.uint8Array({ maxLength: 9000 }),
      }),
      fc.record({
        kind: fc.constant('load' as const),
        at: fc.nat(size - 1),
        data: fc.uint8Array({ maxLength: 9000 }),
      }),
      fc.record({ kind: fc.constant('erase' as const), index: fc.nat(sectors.length - 1) }),
      fc.record({ kind: fc.constant('eraseAll' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), range, (ops, [off, len]) => {
        const flash = new FlashModel({ sectors, baseAddress: base, timing: INSTANT_TIMING });
        const model = new Uint8Array(size).fill(0xff);
        for (const o of ops) {
          if (o.kind === 'program' || o.kind === 'load') {
            const data = o.data.subarray(0, size - o.at);
            const expectOver = data.some((v, i) => v !== 0xff && model[o.at + i] !== 0xff);
            if (o.kind === 'program') {
              expect(flash.program(base + o.at, data).overNonErased).toBe(expectOver);
              data.forEach((v, i) => (model[o.at + i]! &= v));
            } else {
              flash.load(base + o.at, data);
              model.set(data, o.at);
            }
          } else if (o.kind === 'erase') {
            const start = sectors.slice(0, o.index).reduce((a, b) => a + b, 0);
            flash.eraseSector(o.index);
            model.fill(0xff, start, start + sectors[o.index]!);
          } else {
            flash.eraseAll();
            model.fill(0xff);
          }
        }
        expect(firstDifference(flash.snapshot(), model)).toBe(-1);
        expect(firstDifference(flash.read(base + off, len), model.subarray(off, off + len))).toBe(
          -1,
        );
        expect(flash.isErased(base + off, len)).toBe(
          model.subarray(off, off + len).every((b) => b === 0xff),
        );
      }),
      { seed: 20260311, numRuns: 150 },
    );
  });

  it('does not modify the data it programs', () => {
    const flash = new FlashModel({ size: 4096 });
    const data = new Uint8Array([1, 2, 3]);
    flash.program(0, data);
    expect([...data]).toEqual([1, 2, 3]);
  });
});
