/**
 * CBOR for SMP bodies: RFC 8949 Appendix A vectors for the types SMP uses (data file in
 * test/vectors/cbor), round trips of arbitrary SMP-like values in both the definite form the
 * client sends and the indefinite form zcbor servers send, the reply readers, and what is refused.
 */
import { readFileSync } from 'node:fs';
import { decode } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { ProtocolError } from '../../src/core/errors.ts';
import {
  decodeCborMap,
  encodeCbor,
  encodeCborIndefinite,
  flag,
  optBytes,
  optInt,
  optString,
  optUint,
  reqArray,
  reqString,
  reqUint,
  type CborMap,
  type CborValue,
} from '../../src/protocols/mcuboot/cbor.ts';

interface Vector {
  hex: string;
  value?: CborValue;
  bytes?: string;
  decodeOnly?: boolean;
  refused?: boolean;
}
const { vectors } = JSON.parse(
  readFileSync(new URL('../vectors/cbor/rfc8949-appendix-a.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };
const valueOf = (v: Vector): CborValue => (v.bytes !== undefined ? fromHex(v.bytes) : v.value!);

describe('RFC 8949 Appendix A', () => {
  it.each(vectors.filter((v) => !v.decodeOnly && !v.refused))('encodes $hex', (v) => {
    expect(toHex(encodeCbor(valueOf(v)))).toBe(v.hex);
  });

  it.each(vectors.filter((v) => !v.refused))('decodes $hex', (v) => {
    expect(decode(fromHex(v.hex))).toEqual(valueOf(v));
  });

  // zcbor writes strings with definite lengths; indefinite strings in a reply are refused.
  it.each(vectors.filter((v) => v.refused))(
    'refuses the indefinite string $hex in a reply',
    (v) => {
      expect(() => decodeCborMap(fromHex(`a16178${v.hex}`))).toThrow(ProtocolError);
    },
  );
});

const key = fc.string({ maxLength: 12 });
const leaf = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 64 }),
);
const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }).map((o) => ({ ...o })),
  ),
}));
const map = fc.dictionary(key, value, { maxKeys: 6 }).map((o) => ({ ...o }));

describe('round trips (property)', () => {
  it('definite encoding decodes to the same map', () => {
    fc.assert(
      fc.property(map, (m) => {
        expect(decodeCborMap(encodeCbor(m))).toEqual(m);
      }),
    );
  });

  it('indefinite (zcbor) encoding decodes to the same map, keys in order', () => {
    fc.assert(
      fc.property(map, (m) => {
        const bytes = encodeCborIndefinite(m);
        expect(bytes[0]).toBe(0xbf);
        expect(bytes.at(-1)).toBe(0xff);
        const back = decodeCborMap(bytes);
        expect(back).toEqual(m);
        expect(Object.keys(back)).toEqual(Object.keys(m));
      }),
    );
  });

  it('an SMP reply as zcbor writes it: {"rc": 0, "off": 512}', () => {
    expect(toHex(encodeCborIndefinite({ rc: 0, off: 512 }))).toBe('bf62726300636f6666190200ff');
  });
});

describe('decodeCborMap refuses', () => {
  const refuse = (hex: string) => () => decodeCborMap(fromHex(hex));
  it.each([
    ['not a map', '83010203'],
    ['a duplicate key', 'a2616101616102'],
    ['a tag', 'a16161c11a514b67b0'],
    ['undefined', 'a16161f7'],
    ['bytes after the map', 'a0a0'],
    ['a truncated map', 'a26161'],
    ['an integer beyond 2^53', 'a161611b0020000000000001'],
  ])('%s', (_, hex) => {
    expect(refuse(hex)).toThrow(ProtocolError);
  });
});

describe('reply readers', () => {
  const m: CborMap = { u: 5, n: -3, s: 'x', b: new Uint8Array([1]), t: true, a: [1], f: 1.5 };
  it('read members of the right type, undefined when absent', () => {
    expect(optUint(m, 'u')).toBe(5);
    expect(optInt(m, 'n')).toBe(-3);
    expect(optString(m, 's')).toBe('x');
    expect(optBytes(m, 'b')).toEqual(new Uint8Array([1]));
    expect(flag(m, 't')).toBe(true);
    expect(flag(m, 'missing')).toBe(false);
    expect(reqArray(m, 'a')).toEqual([1]);
    expect(reqUint(m, 'u')).toBe(5);
    expect(reqString(m, 's')).toBe('x');
    expect(optUint(m, 'missing')).toBeUndefined();
  });

  it.each([
    () => optUint(m, 'n'),
    () => optUint(m, 'f'),
    () => optInt(m, 's'),
    () => optString(m, 'u'),
    () => optBytes(m, 's'),
    () => flag(m, 'u'),
    () => reqArray(m, 'u'),
    () => reqUint(m, 'missing'),
    () => reqString(m, 'missing'),
  ])('throw protocol.bad-reply for a wrong type or a missing member (%#)', (read) => {
    expect(read).toThrow(expect.objectContaining({ code: 'protocol.bad-reply' }));
  });
});
