import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FramingError, UsageError } from '../../core/errors.ts';
import { fromHex, toHex } from '../../core/bytes.ts';
import {
  decodeAddress,
  decodeCommand,
  decodeErase,
  decodeExtendedErase,
  decodeGetReply,
  decodeIdReply,
  decodeReadLength,
  decodeVersionReply,
  decodeWriteData,
  decodeWriteProtect,
  encodeAddress,
  encodeCommand,
  encodeErase,
  encodeExtendedErase,
  encodeGetReply,
  encodeIdReply,
  encodeReadLength,
  encodeVersionReply,
  encodeWriteData,
  encodeWriteProtect,
  eraseRemainder,
  extendedEraseRemainder,
  type EraseRequest,
} from './commands.ts';

interface Vectors {
  commands: { name: string; op: number; hex: string }[];
  addresses: { address: number; hex: string }[];
  readLengths: { length: number; hex: string }[];
  writeBlocks: { data: string; hex: string }[];
  erase: { request: EraseRequest; hex: string }[];
  extendedErase: { request: EraseRequest; hex: string }[];
  replies: {
    get: { version: number; commands: number[]; hex: string };
    getId: { productId: number; hex: string };
    getVersion: { version: number; option1: number; option2: number; hex: string };
  };
}

// Source of the vectors: see the "source" field of the file (AN3155, stm32flash, stm32loader).
const v = JSON.parse(
  readFileSync(new URL('../../../test/vectors/stm32/an3155-frames.json', import.meta.url), 'utf8'),
) as Vectors;

describe('AN3155 frame vectors', () => {
  it.each(v.commands)('command $name', ({ op, hex }) => {
    expect(toHex(encodeCommand(op))).toBe(hex);
    expect(decodeCommand(fromHex(hex))).toBe(op);
  });
  it.each(v.addresses)('address $address', ({ address, hex }) => {
    expect(toHex(encodeAddress(address))).toBe(hex);
    expect(decodeAddress(fromHex(hex))).toBe(address);
  });
  it.each(v.readLengths)('read length $length', ({ length, hex }) => {
    expect(toHex(encodeReadLength(length))).toBe(hex);
    expect(decodeReadLength(fromHex(hex))).toBe(length);
  });
  it.each(v.writeBlocks)('write block $data', ({ data, hex }) => {
    expect(toHex(encodeWriteData(fromHex(data)))).toBe(hex);
    expect(toHex(decodeWriteData(fromHex(hex)))).toBe(data);
  });
  it.each(v.erase)('erase $hex', ({ request, hex }) => {
    expect(toHex(encodeErase(request))).toBe(hex);
    expect(decodeErase(fromHex(hex))).toEqual(request);
  });
  it.each(v.extendedErase)('extended erase $hex', ({ request, hex }) => {
    expect(toHex(encodeExtendedErase(request))).toBe(hex);
    expect(decodeExtendedErase(fromHex(hex))).toEqual(request);
  });
  it('replies', () => {
    const { get, getId, getVersion } = v.replies;
    expect(toHex(encodeGetReply(get))).toBe(get.hex);
    expect(decodeGetReply(fromHex(get.hex))).toEqual({
      version: get.version,
      commands: get.commands,
    });
    expect(toHex(encodeIdReply(getId.productId))).toBe(getId.hex);
    expect(decodeIdReply(fromHex(getId.hex))).toBe(getId.productId);
    expect(toHex(encodeVersionReply(getVersion))).toBe(getVersion.hex);
    expect(decodeVersionReply(fromHex(getVersion.hex))).toEqual({
      version: 49,
      option1: 0,
      option2: 0,
    });
  });
});

describe('round trips (fast-check)', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
  it('command', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        (op) => decodeCommand(encodeCommand(op)) === op,
      ),
    );
  });
  it('address', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        (a) => decodeAddress(encodeAddress(a)) === a,
      ),
    );
  });
  it('read length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }),
        (n) => decodeReadLength(encodeReadLength(n)) === n,
      ),
    );
  });
  it('write block, input unmodified', () => {
    fc.assert(
      fc.property(bytes(1, 256), (data) => {
        const copy = data.slice();
        const out = decodeWriteData(encodeWriteData(data));
        return toHex(out) === toHex(copy) && toHex(data) === toHex(copy);
      }),
    );
  });
  it('erase pages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 255 }),
        (pages) => {
          const frame = encodeErase({ kind: 'pages', pages });
          expect(eraseRemainder(frame[0]!)).toBe(frame.length - 1);
          expect(decodeErase(frame)).toEqual({ kind: 'pages', pages });
        },
      ),
    );
  });
  it('extended erase pages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 600 }),
        (pages) => {
          const frame = encodeExtendedErase({ kind: 'pages', pages });
          expect(extendedEraseRemainder((frame[0]! << 8) | frame[1]!)).toBe(frame.length - 2);
          expect(decodeExtendedErase(frame)).toEqual({ kind: 'pages', pages });
        },
      ),
    );
  });
  it('write protect', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 255 }),
        (s) => {
          expect(decodeWriteProtect(encodeWriteProtect(s))).toEqual(s);
        },
      ),
    );
  });
  it('GET, GET_ID and GET_VERSION replies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        (version, commands, pid) => {
          expect(decodeGetReply(encodeGetReply({ version, commands }))).toEqual({
            version,
            commands,
          });
          expect(decodeIdReply(encodeIdReply(pid))).toBe(pid);
          const r = { version, option1: commands[0] ?? 0, option2: 0 };
          expect(decodeVersionReply(encodeVersionReply(r))).toEqual(r);
        },
      ),
    );
  });
  it('any single flipped bit is caught by the checksum of a data frame', () => {
    fc.assert(
      fc.property(bytes(1, 256), fc.nat(), fc.integer({ min: 0, max: 7 }), (data, at, bit) => {
        const frame = encodeWriteData(data);
        const i = at % frame.length;
        if (i === 0) return; // the length byte changes the frame size instead
        frame[i] = frame[i]! ^ (1 << bit);
        expect(() => decodeWriteData(frame)).toThrow(FramingError);
      }),
    );
  });
});

describe('bad input', () => {
  const framing: [string, () => unknown][] = [
    ['command without complement', () => decodeCommand(fromHex('0000'))],
    ['command of 3 bytes', () => decodeCommand(fromHex('00ff00'))],
    ['address checksum', () => decodeAddress(fromHex('0800000009'))],
    ['address of 4 bytes', () => decodeAddress(fromHex('08000000'))],
    ['read length complement', () => decodeReadLength(fromHex('ff01'))],
    ['write block too short', () => decodeWriteData(fromHex('0001'))],
    ['write block length mismatch', () => decodeWriteData(fromHex('0301020307'))],
    ['write block checksum', () => decodeWriteData(fromHex('030102030408'))],
    ['erase 0xFF without 0x00', () => decodeErase(fromHex('ff01'))],
    ['erase count 0xFF with pages', () => decodeErase(fromHex('ff0000'))],
    ['erase length mismatch', () => decodeErase(fromHex('02000102'))],
    ['erase checksum', () => decodeErase(fromHex('0200010200'))],
    ['extended erase too short', () => decodeExtendedErase(fromHex('ffff'))],
    ['extended erase reserved code', () => decodeExtendedErase(fromHex('fff00f'))],
    ['extended erase special checksum', () => decodeExtendedErase(fromHex('ffff01'))],
    ['extended erase special with extra bytes', () => decodeExtendedErase(fromHex('ffff0000'))],
    ['extended erase length mismatch', () => decodeExtendedErase(fromHex('0001000000'))],
    ['extended erase checksum', () => decodeExtendedErase(fromHex('00010000000101'))],
    ['GET reply length byte', () => decodeGetReply(fromHex('0531'))],
    ['GET_ID reply too short', () => decodeIdReply(fromHex('0004'))],
    ['GET_ID reply length byte', () => decodeIdReply(fromHex('020413'))],
    ['GET_VERSION reply of 1 byte', () => decodeVersionReply(fromHex('31'))],
  ];
  it.each(framing)('%s → FramingError', (_name, f) => {
    expect(f).toThrow(FramingError);
  });

  const usage: [string, () => unknown][] = [
    ['opcode 256', () => encodeCommand(256)],
    ['opcode -1', () => encodeCommand(-1)],
    ['opcode 1.5', () => encodeCommand(1.5)],
    ['address negative', () => encodeAddress(-1)],
    ['address above 32 bits', () => encodeAddress(2 ** 32)],
    ['read length 0', () => encodeReadLength(0)],
    ['read length 257', () => encodeReadLength(257)],
    ['empty write', () => encodeWriteData(new Uint8Array(0))],
    ['write of 257 bytes', () => encodeWriteData(new Uint8Array(257))],
    ['ERASE bank code', () => encodeErase({ kind: 'mass', code: 0xfffe })],
    ['ERASE no pages', () => encodeErase({ kind: 'pages', pages: [] })],
    [
      'ERASE 256 pages',
      () => encodeErase({ kind: 'pages', pages: new Array<number>(256).fill(0) }),
    ],
    ['ERASE page 256', () => encodeErase({ kind: 'pages', pages: [256] })],
    ['EXTENDED_ERASE no pages', () => encodeExtendedErase({ kind: 'pages', pages: [] })],
    ['EXTENDED_ERASE page 65536', () => encodeExtendedErase({ kind: 'pages', pages: [65536] })],
    ['GET reply version 300', () => encodeGetReply({ version: 300, commands: [] })],
    ['GET_ID product id 0x10000', () => encodeIdReply(0x10000)],
    [
      'GET_VERSION option 256',
      () => encodeVersionReply({ version: 0x31, option1: 256, option2: 0 }),
    ],
  ];
  it.each(usage)('%s → UsageError', (_name, f) => {
    expect(f).toThrow(UsageError);
  });
});
