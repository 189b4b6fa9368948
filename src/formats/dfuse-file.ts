/**
 * The ST DfuSe file format (ST UM0391 "DfuSe File Format Specification", §2–§3): one image per
 * alternate setting, each a list of elements placed at absolute addresses.
 *
 *   DfuSe prefix (11 bytes): "DfuSe", bVersion = 1, DFUImageSize u32 (file length without the
 *     suffix), bTargets u8.
 *   Target prefix (274 bytes) × bTargets: "Target", bAlternateSetting u8, bTargetNamed u32,
 *     szTargetName[255] (NUL padded), dwTargetSize u32 (bytes of all its elements, headers
 *     included), dwNbElements u32.
 *   Image element × dwNbElements: dwElementAddress u32, dwElementSize u32, data.
 *   DFU suffix (DFU 1.1 Appendix B) with bcdDFU = 0x011A.
 * Little-endian throughout. Pure.
 */
import { FramingError } from '../core/errors.ts';
import { BCD_DFUSE, addDfuSuffix, parseDfuSuffix } from './dfu-suffix.ts';

const DFUSE_PREFIX_LENGTH = 11;
const DFUSE_TARGET_PREFIX_LENGTH = 274;
const DFUSE_ELEMENT_HEADER_LENGTH = 8;
const NAME_FIELD = 255;

export interface DfuseElement {
  address: number;
  data: Uint8Array;
}

interface DfuseTarget {
  alternateSetting: number;
  /** Target name (at most 254 ASCII characters), when bTargetNamed is set. */
  name?: string;
  elements: DfuseElement[];
}

export interface DfuseFile {
  targets: DfuseTarget[];
  /** Vendor id, product id and device release of the suffix (0xFFFF: any). */
  idVendor: number;
  idProduct: number;
  bcdDevice: number;
}

/** True when the bytes start with the "DfuSe" signature. */
export function isDfuseFile(file: Uint8Array): boolean {
  return (
    file.length >= 5 &&
    file[0] === 0x44 &&
    file[1] === 0x66 &&
    file[2] === 0x75 &&
    file[3] === 0x53 &&
    file[4] === 0x65
  );
}

function bad(message: string): FramingError {
  return new FramingError('framing.invalid', `Not a valid DfuSe file: ${message}.`, {
    hints: ['Download the firmware file again, or rebuild it with the vendor tool.'],
  });
}

function ascii(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Parses a DfuSe file, checking every length, signature and the suffix CRC.
 * @throws {FramingError} on any inconsistency.
 */
export function parseDfuseFile(file: Uint8Array): DfuseFile {
  const split = parseDfuSuffix(file);
  if (!split) throw bad('it has no DFU suffix');
  const { suffix, payload } = split;
  if (suffix.bcdDFU !== BCD_DFUSE) {
    throw bad(`its suffix says DFU version 0x${suffix.bcdDFU.toString(16)}, DfuSe files say 0x11a`);
  }
  if (!isDfuseFile(payload)) throw bad('the "DfuSe" signature is missing');
  if (payload.length < DFUSE_PREFIX_LENGTH) throw bad('the prefix is cut short');
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload[5] !== 0x01) throw bad(`format version ${payload[5]} is not supported (only 1)`);
  const imageSize = dv.getUint32(6, true);
  if (imageSize !== payload.length) {
    throw bad(`DFUImageSize says ${imageSize} bytes but there are ${payload.length}`);
  }
  const count = payload[10]!;
  let at = DFUSE_PREFIX_LENGTH;
  const targets: DfuseTarget[] = [];
  for (let t = 0; t < count; t++) {
    if (at + DFUSE_TARGET_PREFIX_LENGTH > payload.length) throw bad(`target ${t} is cut short`);
    if (ascii(payload.subarray(at, at + 6)) !== 'Target')
      throw bad(`target ${t} has no "Target" signature`);
    const alternateSetting = payload[at + 6]!;
    const named = dv.getUint32(at + 7, true) !== 0;
    const name = ascii(payload.subarray(at + 11, at + 11 + NAME_FIELD));
    const targetSize = dv.getUint32(at + 266, true);
    const nElements = dv.getUint32(at + 270, true);
    at += DFUSE_TARGET_PREFIX_LENGTH;
    const start = at;
    if (start + targetSize > payload.length)
      throw bad(`target ${t} claims more bytes than the file has`);
    const elements: DfuseElement[] = [];
    for (let e = 0; e < nElements; e++) {
      if (at + DFUSE_ELEMENT_HEADER_LENGTH > start + targetSize)
        throw bad(`element ${e} of target ${t} is cut short`);
      const address = dv.getUint32(at, true);
      const size = dv.getUint32(at + 4, true);
      at += DFUSE_ELEMENT_HEADER_LENGTH;
      if (at + size > start + targetSize)
        throw bad(`element ${e} of target ${t} runs past its target`);
      if (address + size > 0x1_0000_0000)
        throw bad(`element ${e} of target ${t} runs past the 4 GiB address space`);
      elements.push({ address, data: payload.slice(at, at + size) });
      at += size;
    }
    if (at !== start + targetSize)
      throw bad(`target ${t} says ${targetSize} bytes but its elements fill ${at - start}`);
    targets.push({ alternateSetting, ...(named ? { name } : {}), elements });
  }
  if (at !== payload.length) throw bad(`${payload.length - at} stray bytes follow the last target`);
  return {
    targets,
    idVendor: suffix.idVendor,
    idProduct: suffix.idProduct,
    bcdDevice: suffix.bcdDevice,
  };
}

/**
 * Writes a DfuSe file with its suffix (bcdDFU 0x011A). The output is accepted by
 * `dfu-suffix -c` and `dfu-util -D`.
 * @throws {FramingError} on more than 255 targets, a name longer than 254 characters or
 *   non-ASCII, or an element beyond the 32-bit address space.
 */
export function encodeDfuseFile(file: DfuseFile): Uint8Array {
  if (file.targets.length > 255) throw bad('more than 255 targets');
  let total = DFUSE_PREFIX_LENGTH;
  for (const t of file.targets) {
    total += DFUSE_TARGET_PREFIX_LENGTH;
    for (const e of t.elements) total += DFUSE_ELEMENT_HEADER_LENGTH + e.data.length;
  }
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x44, 0x66, 0x75, 0x53, 0x65, 0x01]);
  dv.setUint32(6, total, true);
  out[10] = file.targets.length;
  let at = DFUSE_PREFIX_LENGTH;
  for (const t of file.targets) {
    if (
      !Number.isInteger(t.alternateSetting) ||
      t.alternateSetting < 0 ||
      t.alternateSetting > 255
    ) {
      throw bad('an alternate setting must be 0..255');
    }
    const name = t.name ?? '';
    if (name.length > NAME_FIELD - 1 || !/^[\x20-\x7e]*$/.test(name)) {
      throw bad('a target name must be printable ASCII of at most 254 characters');
    }
    out.set([0x54, 0x61, 0x72, 0x67, 0x65, 0x74], at); // "Target"
    out[at + 6] = t.alternateSetting;
    dv.setUint32(at + 7, t.name === undefined ? 0 : 1, true);
    for (let i = 0; i < name.length; i++) out[at + 11 + i] = name.charCodeAt(i);
    let size = 0;
    for (const e of t.elements) size += DFUSE_ELEMENT_HEADER_LENGTH + e.data.length;
    dv.setUint32(at + 266, size, true);
    dv.setUint32(at + 270, t.elements.length, true);
    at += DFUSE_TARGET_PREFIX_LENGTH;
    for (const e of t.elements) {
      if (
        !Number.isInteger(e.address) ||
        e.address < 0 ||
        e.address + e.data.length > 0x1_0000_0000
      ) {
        throw bad('an element must lie within the 32-bit address space');
      }
      dv.setUint32(at, e.address, true);
      dv.setUint32(at + 4, e.data.length, true);
      out.set(e.data, at + DFUSE_ELEMENT_HEADER_LENGTH);
      at += DFUSE_ELEMENT_HEADER_LENGTH + e.data.length;
    }
  }
  return addDfuSuffix(out, {
    idVendor: file.idVendor,
    idProduct: file.idProduct,
    bcdDevice: file.bcdDevice,
    bcdDFU: BCD_DFUSE,
  });
}
