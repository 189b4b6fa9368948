/**
 * Intel HEX ("Hexadecimal Object File Format Specification", Intel, rev A, 1988): parser and
 * writer for all six record types.
 *
 *   :LLAAAATT<data>CC   LL byte count, AAAA 16-bit offset, TT type, CC two's-complement checksum
 *   00 data   01 end of file   02 extended segment address (base = USBA × 16)
 *   03 start segment address (CS:IP)   04 extended linear address (base = ULBA << 16)
 *   05 start linear address (EIP)
 * With a segment base the offset wraps within 64 KiB: address = SBA + ((DRLO + DRI) mod 64K);
 * with a linear base it does not: address = (LBA + DRLO + DRI) mod 4G (spec, "Data Record").
 * Pure.
 */
import { FramingError } from '../core/errors.ts';

/** A contiguous run of bytes at an absolute address. */
interface HexSegment {
  address: number;
  data: Uint8Array;
}

export interface IntelHex {
  /** Sorted by address, non-overlapping, adjacent runs merged. */
  segments: HexSegment[];
  /** From a type 03 record (8086 CS:IP). */
  startSegment?: { cs: number; ip: number };
  /** From a type 05 record (EIP, e.g. the reset handler of an ARM image). */
  startLinear?: number;
}

export interface HexWriteOptions {
  /** Data bytes per record, 1..255 (default 16, as most toolchains write). */
  recordSize?: number;
  /** 'linear' (type 04, default) or 'segment' (type 02; addresses below 1 MiB only). */
  addressing?: 'linear' | 'segment';
  /** Line ending (default "\n"). */
  eol?: '\n' | '\r\n';
}

function fail(line: number, message: string): FramingError {
  return new FramingError('framing.invalid', `Intel HEX line ${line}: ${message}.`, {
    hints: ['Check that the file is an Intel HEX file and was not changed by an editor.'],
  });
}

const HEX_RE = /^[0-9A-Fa-f]+$/;

/**
 * Parses Intel HEX text (or its bytes as ASCII).
 * @throws {FramingError} on a bad character, length, checksum, record, overlap, a missing
 *   end-of-file record or anything after it.
 * @example parseIntelHex(':0100000055AA\n:00000001FF\n').segments[0].data // Uint8Array [0x55]
 */
export function parseIntelHex(input: string | Uint8Array): IntelHex {
  const text = typeof input === 'string' ? input : new TextDecoder('latin1').decode(input);
  const lines = text.split('\n');
  const pieces: HexSegment[] = [];
  let base = 0;
  let segmentMode = false;
  let ended = false;
  const result: IntelHex = { segments: [] };
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (ended) throw fail(n, 'there are records after the end-of-file record');
    if (line[0] !== ':') throw fail(n, 'a record must start with ":"');
    const body = line.slice(1);
    if (!HEX_RE.test(body) || body.length % 2 !== 0)
      throw fail(n, 'a record must be an even number of hex digits');
    if (body.length < 10) throw fail(n, 'the record is too short');
    const bytes = new Uint8Array(body.length / 2);
    for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(body.slice(k * 2, k * 2 + 2), 16);
    const count = bytes[0]!;
    if (bytes.length !== count + 5)
      throw fail(n, `the byte count says ${count} but the record holds ${bytes.length - 5}`);
    let sum = 0;
    for (const b of bytes) sum = (sum + b) & 0xff;
    if (sum !== 0) throw fail(n, 'the checksum does not match');
    const offset = (bytes[1]! << 8) | bytes[2]!;
    const type = bytes[3]!;
    const data = bytes.subarray(4, 4 + count);
    const word = (): number => (data[0]! << 8) | data[1]!;
    switch (type) {
      case 0x00:
        if (segmentMode && offset + count > 0x10000) {
          // The offset wraps to the start of the segment.
          const first = 0x10000 - offset;
          pieces.push({ address: base + offset, data: data.slice(0, first) });
          pieces.push({ address: base, data: data.slice(first) });
        } else {
          pieces.push({ address: (base + offset) % 0x1_0000_0000, data: data.slice() });
        }
        break;
      case 0x01:
        if (count !== 0) throw fail(n, 'an end-of-file record carries no data');
        ended = true;
        break;
      case 0x02:
        if (count !== 2) throw fail(n, 'an extended segment address record has 2 data bytes');
        base = word() * 16;
        segmentMode = true;
        break;
      case 0x03:
        if (count !== 4) throw fail(n, 'a start segment address record has 4 data bytes');
        result.startSegment = { cs: word(), ip: (data[2]! << 8) | data[3]! };
        break;
      case 0x04:
        if (count !== 2) throw fail(n, 'an extended linear address record has 2 data bytes');
        base = word() * 0x10000;
        segmentMode = false;
        break;
      case 0x05:
        if (count !== 4) throw fail(n, 'a start linear address record has 4 data bytes');
        result.startLinear =
          ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
        break;
      default:
        throw fail(n, `record type ${type.toString(16).padStart(2, '0')} does not exist`);
    }
  }
  if (!ended) throw fail(lines.length, 'the end-of-file record (:00000001FF) is missing');
  result.segments = mergeSegments(pieces);
  return result;
}

/**
 * Sorts runs by address and merges adjacent ones.
 * @throws {FramingError} when two runs overlap.
 */
function mergeSegments(pieces: readonly HexSegment[]): HexSegment[] {
  const sorted = pieces.filter((p) => p.data.length > 0).sort((a, b) => a.address - b.address);
  const out: { address: number; parts: Uint8Array[]; end: number }[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p.address < last.end) {
      throw new FramingError(
        'framing.invalid',
        `Intel HEX data overlaps at address 0x${p.address.toString(16)}: two records write the same bytes.`,
      );
    }
    if (last && p.address === last.end) {
      last.parts.push(p.data);
      last.end += p.data.length;
    } else {
      out.push({ address: p.address, parts: [p.data], end: p.address + p.data.length });
    }
  }
  return out.map((s) => {
    const data = new Uint8Array(s.end - s.address);
    let at = 0;
    for (const part of s.parts) {
      data.set(part, at);
      at += part.length;
    }
    return { address: s.address, data };
  });
}

function record(type: number, offset: number, data: readonly number[] | Uint8Array): string {
  const bytes = [data.length, (offset >> 8) & 0xff, offset & 0xff, type, ...data];
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  bytes.push((0x100 - sum) & 0xff);
  return ':' + bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

/**
 * Writes Intel HEX. Records never cross a 64 KiB boundary, so every reader agrees on the
 * addresses whatever its wrap-around rule.
 * @throws {RangeError} on a bad record size, overlapping segments, or (segment addressing) an
 *   address at or above 1 MiB.
 */
export function encodeIntelHex(hex: IntelHex, options: HexWriteOptions = {}): string {
  const size = options.recordSize ?? 16;
  if (!Number.isInteger(size) || size < 1 || size > 255)
    throw new RangeError('recordSize must be 1..255');
  const segmentMode = options.addressing === 'segment';
  const eol = options.eol ?? '\n';
  const lines: string[] = [];
  let currentBase = segmentMode ? 0 : -1;
  let merged: HexSegment[];
  try {
    merged = mergeSegments(hex.segments);
  } catch (err) {
    throw new RangeError('encodeIntelHex: segments overlap', { cause: err });
  }
  for (const seg of merged) {
    if (seg.address + seg.data.length > (segmentMode ? 0x100000 : 0x1_0000_0000)) {
      throw new RangeError('encodeIntelHex: data beyond the addressable range');
    }
    let at = 0;
    while (at < seg.data.length) {
      const address = seg.address + at;
      const upper = Math.floor(address / 0x10000);
      if (upper !== currentBase) {
        lines.push(
          segmentMode
            ? record(0x02, 0, [(upper << 4) & 0xff, 0]) // USBA = upper × 0x1000
            : record(0x04, 0, [upper >> 8, upper & 0xff]),
        );
        currentBase = upper;
      }
      const offset = address % 0x10000;
      const n = Math.min(size, seg.data.length - at, 0x10000 - offset);
      lines.push(record(0x00, offset, seg.data.subarray(at, at + n)));
      at += n;
    }
  }
  if (hex.startSegment) {
    const { cs, ip } = hex.startSegment;
    lines.push(record(0x03, 0, [cs >> 8, cs & 0xff, ip >> 8, ip & 0xff]));
  }
  if (hex.startLinear !== undefined) {
    const e = hex.startLinear >>> 0;
    lines.push(record(0x05, 0, [e >>> 24, (e >> 16) & 0xff, (e >> 8) & 0xff, e & 0xff]));
  }
  lines.push(record(0x01, 0, []));
  return lines.join(eol) + eol;
}
