/**
 * The DFU file suffix (USB DFU 1.1 Appendix B, "DFU File Suffix"): 16 bytes at the end of a
 * firmware file naming the device it is for and protecting the whole file with a CRC.
 *
 * Layout, from the end of the file backwards (all little-endian):
 *   bcdDevice u16, idProduct u16, idVendor u16, bcdDFU u16, ucDfuSignature "UFD", bLength u8,
 *   dwCRC u32.
 * dwCRC is the CRC-32 register over every byte of the file except dwCRC itself, started at
 * 0xFFFFFFFF and NOT inverted at the end (Appendix B.2; dfu-util `generate_dfu_suffix`), i.e.
 * the bitwise complement of the usual CRC-32.
 */
import { FramingError } from '../core/errors.ts';
import { crc32Update } from './crc32.ts';

/** The suffix's own length (bLength) for DFU 1.0/1.1 and DfuSe. */
const DFU_SUFFIX_LENGTH = 16;
/** bcdDFU of a plain DFU 1.0 file, as `dfu-suffix -a` writes it. */
const BCD_DFU_1_0 = 0x0100;
/** bcdDFU of a DfuSe file (ST UM0391 §3). */
export const BCD_DFUSE = 0x011a;
/** The "any" value of idVendor/idProduct/bcdDevice. */
const DFU_WILDCARD = 0xffff;

export interface DfuSuffix {
  bcdDevice: number;
  idProduct: number;
  idVendor: number;
  bcdDFU: number;
  /** bLength: 16, or more when the suffix carries extra bytes before bcdDevice. */
  length: number;
  crc: number;
}

export interface DfuSuffixFields {
  bcdDevice?: number;
  idProduct?: number;
  idVendor?: number;
  bcdDFU?: number;
}

/** The dwCRC value for a file whose bytes before dwCRC are `bytesWithoutCrc`. */
function dfuSuffixCrc(bytesWithoutCrc: Uint8Array): number {
  return crc32Update(0xffffffff, bytesWithoutCrc);
}

/** True when the file ends with the "UFD" signature of a DFU suffix. */
function hasDfuSuffix(file: Uint8Array): boolean {
  const n = file.length;
  return (
    n >= DFU_SUFFIX_LENGTH && file[n - 6] === 0x44 && file[n - 7] === 0x46 && file[n - 8] === 0x55
  );
}

/**
 * Splits a file into its payload and its DFU suffix; `undefined` when there is no "UFD"
 * signature.
 * @throws {FramingError} when the signature is there but the CRC or bLength is wrong.
 */
export function parseDfuSuffix(
  file: Uint8Array,
): { suffix: DfuSuffix; payload: Uint8Array } | undefined {
  if (!hasDfuSuffix(file)) return undefined;
  const n = file.length;
  const dv = new DataView(file.buffer, file.byteOffset + n - DFU_SUFFIX_LENGTH, DFU_SUFFIX_LENGTH);
  const suffix: DfuSuffix = {
    bcdDevice: dv.getUint16(0, true),
    idProduct: dv.getUint16(2, true),
    idVendor: dv.getUint16(4, true),
    bcdDFU: dv.getUint16(6, true),
    length: dv.getUint8(11),
    crc: dv.getUint32(12, true),
  };
  const expected = dfuSuffixCrc(file.subarray(0, n - 4));
  if (expected !== suffix.crc) {
    throw new FramingError(
      'framing.invalid',
      `The DFU suffix CRC is 0x${suffix.crc.toString(16)} but the file's is 0x${expected.toString(16)}: the file is damaged.`,
      { hints: ['Download the firmware file again.'] },
    );
  }
  if (suffix.length < DFU_SUFFIX_LENGTH || suffix.length > n) {
    throw new FramingError(
      'framing.invalid',
      `The DFU suffix length ${suffix.length} is not possible.`,
    );
  }
  return { suffix, payload: file.subarray(0, n - suffix.length) };
}

function u16(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff)
    throw new RangeError(`${name} must be 0..0xFFFF`);
  return v;
}

/**
 * Appends a 16-byte DFU suffix, as `dfu-suffix -a` does (wildcards 0xFFFF, bcdDFU 0x0100 by
 * default). Returns a new array.
 * @throws {RangeError} on a field outside 0..0xFFFF.
 * @example addDfuSuffix(firmware, { idVendor: 0x0483, idProduct: 0xdf11, bcdDFU: 0x011a })
 */
export function addDfuSuffix(payload: Uint8Array, fields: DfuSuffixFields = {}): Uint8Array {
  const out = new Uint8Array(payload.length + DFU_SUFFIX_LENGTH);
  out.set(payload);
  const dv = new DataView(out.buffer, payload.length, DFU_SUFFIX_LENGTH);
  dv.setUint16(0, u16('bcdDevice', fields.bcdDevice ?? DFU_WILDCARD), true);
  dv.setUint16(2, u16('idProduct', fields.idProduct ?? DFU_WILDCARD), true);
  dv.setUint16(4, u16('idVendor', fields.idVendor ?? DFU_WILDCARD), true);
  dv.setUint16(6, u16('bcdDFU', fields.bcdDFU ?? BCD_DFU_1_0), true);
  dv.setUint8(8, 0x55); // 'U'
  dv.setUint8(9, 0x46); // 'F'
  dv.setUint8(10, 0x44); // 'D'
  dv.setUint8(11, DFU_SUFFIX_LENGTH);
  dv.setUint32(12, dfuSuffixCrc(out.subarray(0, out.length - 4)), true);
  return out;
}
