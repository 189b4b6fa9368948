import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.ts';
import { crc32Mpeg2, stm32Crc } from './crc.ts';

/** Bit-by-bit reference of stm32flash's `stm32_sw_crc` (stm32.c), independent of the table. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i += 4) {
    const word =
      (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    crc = (crc ^ word) >>> 0;
    for (let k = 0; k < 32; k++)
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc;
}

describe('STM32 CRC', () => {
  it('CRC-32/MPEG-2 check value (CRC RevEng catalogue: "123456789" → 0x0376E6E7)', () => {
    expect(crc32Mpeg2(new TextEncoder().encode('123456789'))).toBe(0x0376e6e7);
  });

  it('agrees with the bitwise word algorithm of stm32flash', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.uint8Array({ minLength: 256, maxLength: 256 }),
        (words, b) => {
          const data = b.subarray(0, words * 4);
          expect(stm32Crc(data)).toBe(reference(data));
        },
      ),
    );
  });

  it('is MPEG-2 over byte-reversed words', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    expect(stm32Crc(data)).toBe(crc32Mpeg2(Uint8Array.of(4, 3, 2, 1, 8, 7, 6, 5)));
  });

  it('continues from a previous value', () => {
    const a = Uint8Array.of(1, 2, 3, 4);
    const b = Uint8Array.of(9, 8, 7, 6);
    expect(stm32Crc(b, stm32Crc(a))).toBe(stm32Crc(Uint8Array.of(1, 2, 3, 4, 9, 8, 7, 6)));
  });

  it.each([1, 2, 3, 5])('refuses a length of %i', (n) => {
    expect(() => stm32Crc(new Uint8Array(n))).toThrow(UsageError);
  });
});
