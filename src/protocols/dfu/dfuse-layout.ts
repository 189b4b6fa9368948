/**
 * The DfuSe memory map carried in each alternate setting's interface string (ST UM0424 §4.3.2,
 * as parsed by dfu-util `parse_memory_layout`):
 *
 *   @Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg
 *   @<name>/<start>/<count>*<size><unit><type>[,...][/<start>/...]
 *
 * unit: ' ' or 'B' bytes, 'K' KiB, 'M' MiB. type letter a..g is a 3-bit mask:
 * bit 0 readable, bit 1 erasable, bit 2 writable (a = r, b = e, c = re, d = w, e = rw, f = ew,
 * g = rew). Pure.
 */
import { FramingError } from '../../core/errors.ts';

export interface MemorySegment {
  /** First address of the segment. */
  start: number;
  /** One past the last address. */
  end: number;
  /** Size of each sector (page) in the segment. */
  sectorSize: number;
  sectorCount: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

export interface MemoryLayout {
  name: string;
  segments: MemorySegment[];
}

export interface MemorySector {
  start: number;
  size: number;
  segment: MemorySegment;
}

function bad(text: string, why: string): FramingError {
  return new FramingError(
    'framing.invalid',
    `DfuSe memory description "${text}" is not valid: ${why}.`,
  );
}

const UNIT: Readonly<Record<string, number>> = { ' ': 1, B: 1, K: 1024, M: 1024 * 1024 };

/**
 * Parses a DfuSe interface string.
 * @throws {FramingError} when it does not follow the format.
 * @example parseMemoryLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg').segments.length // 3
 */
export function parseMemoryLayout(text: string): MemoryLayout {
  if (!text.startsWith('@')) throw bad(text, 'it must start with "@"');
  const parts = text.slice(1).split('/');
  const name = parts[0]!.trim();
  if (name === '') throw bad(text, 'the memory has no name');
  if (parts.length < 3 || parts.length % 2 !== 1)
    throw bad(text, 'expected /address/sectors pairs');
  const segments: MemorySegment[] = [];
  for (let p = 1; p < parts.length; p += 2) {
    const addrText = parts[p]!.trim();
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(addrText))
      throw bad(text, `"${addrText}" is not a hex address`);
    let address = parseInt(addrText.slice(2), 16);
    const groups = parts[p + 1]!.split(',');
    for (const g of groups) {
      const m = /^\s*(\d+)\*(\d+)([ BKM])([a-g])\s*$/.exec(g);
      if (!m) throw bad(text, `"${g}" is not <count>*<size><unit><type>`);
      const count = parseInt(m[1]!, 10);
      const size = parseInt(m[2]!, 10) * UNIT[m[3]!]!;
      if (count === 0 || size === 0) throw bad(text, `"${g}" describes no memory`);
      const mask = m[4]!.charCodeAt(0) - 0x60;
      const end = address + count * size;
      if (end > 0x1_0000_0000) throw bad(text, `"${g}" runs past the 32-bit address space`);
      segments.push({
        start: address,
        end,
        sectorSize: size,
        sectorCount: count,
        readable: (mask & 1) !== 0,
        erasable: (mask & 2) !== 0,
        writable: (mask & 4) !== 0,
      });
      address = end;
    }
  }
  return { name, segments };
}

/** Encodes a layout back to the interface string form (for simulators). */
export function formatMemoryLayout(layout: MemoryLayout): string {
  let s = `@${layout.name}`;
  let next = -1;
  for (const seg of layout.segments) {
    const letter = String.fromCharCode(
      0x60 + ((seg.readable ? 1 : 0) | (seg.erasable ? 2 : 0) | (seg.writable ? 4 : 0)),
    );
    const [n, unit] =
      seg.sectorSize % (1024 * 1024) === 0
        ? [seg.sectorSize / (1024 * 1024), 'M']
        : seg.sectorSize % 1024 === 0
          ? [seg.sectorSize / 1024, 'K']
          : [seg.sectorSize, ' '];
    const group = `${String(seg.sectorCount).padStart(2, '0')}*${String(n).padStart(3, '0')}${unit}${letter}`;
    s +=
      seg.start === next
        ? `,${group}`
        : `/0x${seg.start.toString(16).padStart(8, '0').toUpperCase()}/${group}`;
    next = seg.end;
  }
  return s;
}

/** The segment holding `address`, if any. */
function segmentAt(layout: MemoryLayout, address: number): MemorySegment | undefined {
  return layout.segments.find((s) => address >= s.start && address < s.end);
}

/** The sector holding `address`, if any. */
function sectorAt(layout: MemoryLayout, address: number): MemorySector | undefined {
  const segment = segmentAt(layout, address);
  if (!segment) return undefined;
  const start =
    segment.start + Math.floor((address - segment.start) / segment.sectorSize) * segment.sectorSize;
  return { start, size: segment.sectorSize, segment };
}

/**
 * The sectors that `[address, address + length)` touches, in order.
 * @throws {FramingError} when part of the range lies outside the layout.
 */
export function sectorsTouched(
  layout: MemoryLayout,
  address: number,
  length: number,
): MemorySector[] {
  const out: MemorySector[] = [];
  let at = address;
  const end = address + length;
  while (at < end) {
    const sector = sectorAt(layout, at);
    if (!sector) {
      throw new FramingError(
        'framing.invalid',
        `Address 0x${at.toString(16)} is outside the memory "${layout.name}".`,
      );
    }
    out.push(sector);
    at = sector.start + sector.size;
  }
  return out;
}
