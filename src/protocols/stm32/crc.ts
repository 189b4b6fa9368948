/**
 * The CRC the STM32 CRC unit computes, which GET_CHECKSUM returns: CRC-32 with polynomial
 * 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR, fed one 32-bit word at a
 * time, each word read little-endian from memory (RM0090 §4 "CRC calculation unit"; the same
 * algorithm as stm32flash's `stm32_sw_crc`). Byte-wise this is CRC-32/MPEG-2 over every word
 * with its bytes reversed.
 */
import { UsageError } from '../../core/errors.ts';

/** Initial value of the STM32 CRC unit after reset. */
const STM32_CRC_INIT = 0xffffffff;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 over bytes in order (CRC catalogue: check value of "123456789" is 0x0376E6E7). */
export function crc32Mpeg2(bytes: Uint8Array, crc = STM32_CRC_INIT): number {
  let c = crc >>> 0;
  for (const b of bytes) c = ((c << 8) ^ TABLE[((c >>> 24) ^ b) & 0xff]!) >>> 0;
  return c;
}

/**
 * The STM32 hardware CRC over `data`, whose length must be a multiple of 4.
 * @throws {UsageError} if the length is not a multiple of 4.
 * @example stm32Crc(new Uint8Array(4)) // CRC of one zero word
 */
export function stm32Crc(data: Uint8Array, crc = STM32_CRC_INIT): number {
  if (data.length % 4 !== 0) {
    throw new UsageError(`data.length must be a multiple of 4, got ${data.length}`);
  }
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i += 4) {
    for (let k = 3; k >= 0; k--) c = ((c << 8) ^ TABLE[((c >>> 24) ^ data[i + k]!) & 0xff]!) >>> 0;
  }
  return c;
}
