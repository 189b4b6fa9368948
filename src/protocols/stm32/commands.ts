/**
 * Frames of the STM32 system-memory bootloader's USART protocol (ST AN3155), both directions,
 * as pure functions. The client encodes what the host sends and decodes what the device
 * answers; the simulator does the opposite with the same functions.
 *
 * Safety rules of the protocol (AN3155 §2, "Communication safety"):
 * - a command is one byte followed by its complement (XOR of the two is 0xFF);
 * - every other block ends with a checksum byte: the XOR of all bytes of the block, so that
 *   XOR-ing the block and its checksum gives 0x00;
 * - a single byte (read length, for example) is sent with its complement like a command;
 * - lengths travel as N-1 (0 means one byte or one page).
 */
import { FramingError, UsageError } from '../../core/errors.ts';

/** Byte the host sends first so the bootloader can measure the baud rate (AN3155 §2). */
export const SYNC = 0x7f;
/** Acknowledge (AN3155 §2). */
export const ACK = 0x79;
/** Not acknowledge: unknown command, bad checksum, denied by read protection (AN3155 §2). */
export const NACK = 0x1f;
/** Busy byte some bootloaders send while a long operation runs (AN3155 §3, I2C/USART "busy"). */
export const BUSY = 0x76;

/** Command opcodes (AN3155 Table 2, "USART bootloader commands"). */
export const Command = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
  WRITE_PROTECT: 0x63,
  WRITE_UNPROTECT: 0x73,
  READOUT_PROTECT: 0x82,
  READOUT_UNPROTECT: 0x92,
  /** Get Checksum: CRC-32 of a memory area, on bootloaders that list it in GET (AN4221, AN3155 rev 15+). */
  GET_CHECKSUM: 0xa1,
} as const;

/** Names for logs and error messages. */
export const commandNames: Readonly<Record<number, string>> = {
  0x00: 'GET',
  0x01: 'GET_VERSION',
  0x02: 'GET_ID',
  0x11: 'READ_MEMORY',
  0x21: 'GO',
  0x31: 'WRITE_MEMORY',
  0x43: 'ERASE',
  0x44: 'EXTENDED_ERASE',
  0x63: 'WRITE_PROTECT',
  0x73: 'WRITE_UNPROTECT',
  0x82: 'READOUT_PROTECT',
  0x92: 'READOUT_UNPROTECT',
  0xa1: 'GET_CHECKSUM',
};

/** Special codes of Extended Erase instead of a page count (AN3155 §3.8). */
export const MassErase = {
  /** Global mass erase. */
  ALL: 0xffff,
  /** Bank 1 mass erase (dual-bank parts only). */
  BANK1: 0xfffe,
  /** Bank 2 mass erase (dual-bank parts only). */
  BANK2: 0xfffd,
} as const;
type MassEraseCode = (typeof MassErase)[keyof typeof MassErase];

/** Largest block READ_MEMORY and WRITE_MEMORY move at once (AN3155 §3.4, §3.6). */
export const MAX_BLOCK = 256;

/** XOR of all bytes (AN3155 §2: the checksum byte of a block). */
export function xorChecksum(bytes: Uint8Array, initial = 0): number {
  let x = initial;
  for (const b of bytes) x ^= b;
  return x & 0xff;
}

function assertByte(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xff) {
    throw new UsageError(`${name} must be an integer 0..255, got ${String(n)}`);
  }
}

function assertLength(name: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be ${min}..${max}, got ${String(n)}`);
  }
}

function bad(message: string): FramingError {
  return new FramingError('framing.invalid', message);
}

/** A command byte and its complement: `[op, op ^ 0xFF]` (AN3155 §2). */
export function encodeCommand(op: number): Uint8Array {
  assertByte('op', op);
  return Uint8Array.of(op, op ^ 0xff);
}

/**
 * Checks a command frame and returns the opcode.
 * @throws {FramingError} when the second byte is not the complement of the first.
 */
export function decodeCommand(frame: Uint8Array): number {
  if (frame.length !== 2) throw bad(`a command frame is 2 bytes, got ${frame.length}`);
  const [op, complement] = frame as unknown as [number, number];
  if ((op ^ complement) !== 0xff) throw bad(`command byte 0x${hex2(op)} without its complement`);
  return op;
}

/** A 32-bit address, most significant byte first, and its XOR checksum (AN3155 §3.4). */
export function encodeAddress(address: number): Uint8Array {
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) {
    throw new UsageError(`address must be a 32-bit unsigned integer, got ${String(address)}`);
  }
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, address, false);
  out[4] = xorChecksum(out.subarray(0, 4));
  return out;
}

/**
 * Checks an address frame and returns the address.
 * @throws {FramingError} on a wrong length or checksum.
 */
export function decodeAddress(frame: Uint8Array): number {
  if (frame.length !== 5) throw bad(`an address frame is 5 bytes, got ${frame.length}`);
  if (xorChecksum(frame) !== 0) throw bad('address checksum mismatch');
  return new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, false);
}

/** The byte count of READ_MEMORY: `[n-1, complement]` (AN3155 §3.4). */
export function encodeReadLength(n: number): Uint8Array {
  assertLength('length', n, 1, MAX_BLOCK);
  return encodeCommand(n - 1);
}

/**
 * Returns the byte count (1..256) of a READ_MEMORY length frame.
 * @throws {FramingError} when the complement is wrong.
 */
export function decodeReadLength(frame: Uint8Array): number {
  return decodeCommand(frame) + 1;
}

/** WRITE_MEMORY data block: `[n-1, data…, XOR of n-1 and data]` (AN3155 §3.6). */
export function encodeWriteData(data: Uint8Array): Uint8Array {
  assertLength('data.length', data.length, 1, MAX_BLOCK);
  const out = new Uint8Array(data.length + 2);
  out[0] = data.length - 1;
  out.set(data, 1);
  out[out.length - 1] = xorChecksum(out.subarray(0, out.length - 1));
  return out;
}

/**
 * Returns the data of a WRITE_MEMORY block (a copy).
 * @throws {FramingError} on a length or checksum mismatch.
 */
export function decodeWriteData(frame: Uint8Array): Uint8Array {
  if (frame.length < 3) throw bad(`a write block is at least 3 bytes, got ${frame.length}`);
  const n = frame[0]! + 1;
  if (frame.length !== n + 2)
    throw bad(`write block announces ${n} bytes but holds ${frame.length - 2}`);
  if (xorChecksum(frame) !== 0) throw bad('write block checksum mismatch');
  return frame.slice(1, 1 + n);
}

/** What an ERASE or EXTENDED_ERASE frame asks for. */
export type EraseRequest =
  { kind: 'pages'; pages: readonly number[] } | { kind: 'mass'; code: MassEraseCode };

/**
 * ERASE (0x43) parameters: `[0xFF, 0x00]` for a global erase, else
 * `[n-1, page…, checksum]` with one byte per page, at most 255 pages (AN3155 §3.7).
 */
export function encodeErase(request: EraseRequest): Uint8Array {
  if (request.kind === 'mass') {
    if (request.code !== MassErase.ALL) {
      throw new UsageError(
        'ERASE (0x43) knows only the global erase; bank erase needs EXTENDED_ERASE',
      );
    }
    return Uint8Array.of(0xff, 0x00);
  }
  const { pages } = request;
  assertLength('pages.length', pages.length, 1, 255);
  const out = new Uint8Array(pages.length + 2);
  out[0] = pages.length - 1;
  pages.forEach((p, i) => {
    assertByte(`pages[${i}]`, p);
    out[i + 1] = p;
  });
  out[out.length - 1] = xorChecksum(out.subarray(0, out.length - 1));
  return out;
}

/**
 * Parses ERASE (0x43) parameters.
 * @throws {FramingError} on a length or checksum mismatch.
 */
export function decodeErase(frame: Uint8Array): EraseRequest {
  if (frame.length === 2 && frame[0] === 0xff && frame[1] === 0x00) {
    return { kind: 'mass', code: MassErase.ALL };
  }
  if (frame.length < 3) throw bad(`erase parameters are at least 3 bytes, got ${frame.length}`);
  const n = frame[0]! + 1;
  if (n === 256) throw bad('0xFF as page count must be followed by 0x00 (global erase)');
  if (frame.length !== n + 2)
    throw bad(`erase announces ${n} pages but holds ${frame.length - 2} bytes`);
  if (xorChecksum(frame) !== 0) throw bad('erase checksum mismatch');
  return { kind: 'pages', pages: Array.from(frame.subarray(1, 1 + n)) };
}

/** Bytes of ERASE (0x43) parameters that follow the first byte `first`. */
export function eraseRemainder(first: number): number {
  return first === 0xff ? 1 : first + 2;
}

/**
 * EXTENDED_ERASE (0x44) parameters (AN3155 §3.8): a special code and its checksum
 * `[hi, lo, hi ^ lo]`, or `[n-1 (2 bytes), page (2 bytes)…, checksum]`, all MSB first;
 * at most 0xFFF0 pages.
 */
export function encodeExtendedErase(request: EraseRequest): Uint8Array {
  if (request.kind === 'mass') {
    const c = request.code;
    return Uint8Array.of(c >> 8, c & 0xff, (c >> 8) ^ (c & 0xff));
  }
  const { pages } = request;
  assertLength('pages.length', pages.length, 1, 0xfff0);
  const out = new Uint8Array(2 + pages.length * 2 + 1);
  const v = new DataView(out.buffer);
  v.setUint16(0, pages.length - 1, false);
  pages.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p > 0xffff) {
      throw new UsageError(`pages[${i}] must be 0..65535, got ${String(p)}`);
    }
    v.setUint16(2 + i * 2, p, false);
  });
  out[out.length - 1] = xorChecksum(out.subarray(0, out.length - 1));
  return out;
}

/** Bytes of EXTENDED_ERASE parameters that follow the first two bytes `n` (big-endian). */
export function extendedEraseRemainder(n: number): number {
  return n >= 0xfff0 ? 1 : (n + 1) * 2 + 1;
}

/**
 * Parses EXTENDED_ERASE (0x44) parameters.
 * @throws {FramingError} on a reserved code (0xFFF0..0xFFFC), wrong length or checksum.
 */
export function decodeExtendedErase(frame: Uint8Array): EraseRequest {
  if (frame.length < 3)
    throw bad(`extended erase parameters are at least 3 bytes, got ${frame.length}`);
  const n = (frame[0]! << 8) | frame[1]!;
  if (n >= 0xfff0) {
    if (frame.length !== 3) throw bad('a special erase code is followed by its checksum only');
    if (xorChecksum(frame) !== 0) throw bad('extended erase checksum mismatch');
    if (n < MassErase.BANK2) throw bad(`reserved extended erase code 0x${n.toString(16)}`);
    return { kind: 'mass', code: n as MassEraseCode };
  }
  if (frame.length !== extendedEraseRemainder(n) + 2) {
    throw bad(`extended erase announces ${n + 1} pages but holds ${frame.length - 3} bytes`);
  }
  if (xorChecksum(frame) !== 0) throw bad('extended erase checksum mismatch');
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const pages: number[] = [];
  for (let i = 0; i <= n; i++) pages.push(v.getUint16(2 + i * 2, false));
  return { kind: 'pages', pages };
}

/** WRITE_PROTECT parameters: `[n-1, sector…, checksum]` (AN3155 §3.9). */
export function encodeWriteProtect(sectors: readonly number[]): Uint8Array {
  return encodeErase({ kind: 'pages', pages: sectors });
}

/**
 * Parses WRITE_PROTECT parameters into sector numbers.
 * @throws {FramingError} on a length or checksum mismatch.
 */
export function decodeWriteProtect(frame: Uint8Array): number[] {
  const r = decodeErase(frame);
  if (r.kind !== 'pages') throw bad('write protect needs a sector list');
  return [...r.pages];
}

/** A 32-bit length for GET_CHECKSUM, MSB first, with its XOR checksum (AN4221 "Get Checksum"). */
export const encodeChecksumLength = encodeAddress;

/** The device's answer to GET, between the two ACKs (AN3155 §3.1). */
export interface GetReply {
  /** Protocol version: 0x31 means 3.1. */
  version: number;
  /** Opcodes the bootloader accepts, in the order it lists them. */
  commands: readonly number[];
}

/** `[n, version, command…]` where n is the number of bytes that follow minus one. */
export function encodeGetReply(reply: GetReply): Uint8Array {
  assertByte('version', reply.version);
  assertLength('commands.length', reply.commands.length, 0, 255);
  return Uint8Array.of(reply.commands.length, reply.version, ...reply.commands);
}

/**
 * Parses GET's reply (without the ACKs).
 * @throws {FramingError} if the length byte disagrees with the bytes given.
 */
export function decodeGetReply(frame: Uint8Array): GetReply {
  if (frame.length < 2 || frame.length !== frame[0]! + 2) {
    throw bad(`GET reply length byte disagrees with its ${frame.length} bytes`);
  }
  return { version: frame[1]!, commands: Array.from(frame.subarray(2)) };
}

/** The device's answer to GET_VERSION, between the two ACKs (AN3155 §3.2). */
export interface VersionReply {
  version: number;
  /** Two option bytes, 0x00 on current USART bootloaders ("kept for compatibility"). */
  option1: number;
  option2: number;
}

/** `[version, option1, option2]`. */
export function encodeVersionReply(reply: VersionReply): Uint8Array {
  assertByte('version', reply.version);
  assertByte('option1', reply.option1);
  assertByte('option2', reply.option2);
  return Uint8Array.of(reply.version, reply.option1, reply.option2);
}

/**
 * Parses GET_VERSION's reply.
 * @throws {FramingError} if it is not 3 bytes.
 */
export function decodeVersionReply(frame: Uint8Array): VersionReply {
  if (frame.length !== 3) throw bad(`GET_VERSION reply is 3 bytes, got ${frame.length}`);
  return { version: frame[0]!, option1: frame[1]!, option2: frame[2]! };
}

/** GET_ID's reply: `[n = 1, PID MSB, PID LSB]` (AN3155 §3.3). */
export function encodeIdReply(productId: number): Uint8Array {
  if (!Number.isInteger(productId) || productId < 0 || productId > 0xffff) {
    throw new UsageError(`productId must be 0..0xFFFF, got ${String(productId)}`);
  }
  return Uint8Array.of(1, productId >> 8, productId & 0xff);
}

/**
 * Parses GET_ID's reply into the product id (the first two id bytes).
 * @throws {FramingError} if the length byte disagrees or fewer than two id bytes come.
 */
export function decodeIdReply(frame: Uint8Array): number {
  if (frame.length < 3 || frame.length !== frame[0]! + 2) {
    throw bad(`GET_ID reply length byte disagrees with its ${frame.length} bytes`);
  }
  return (frame[1]! << 8) | frame[2]!;
}

/** GET_CHECKSUM's result: the CRC, MSB first, and its XOR checksum. */
export const encodeCrcReply = encodeAddress;
/** Parses GET_CHECKSUM's result. */
export const decodeCrcReply = decodeAddress;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
