/** Canonical base64 (src/formats/base64.ts): RFC 4648 §10 vectors, bad input, round trips. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/formats/base64.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('RFC 4648 §10 test vectors', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('"%s" ↔ "%s"', (plain, coded) => {
    expect(encodeBase64(enc(plain))).toBe(coded);
    expect(decodeBase64(coded)).toEqual(enc(plain));
  });
});

describe('refuses non-canonical text', () => {
  it.each([
    ['missing padding', 'Zg'],
    ['extra padding', 'Zg==='],
    ['padding in the middle', 'Zg==Zm8='],
    ['whitespace', 'Zm9v Zm9v'],
    ['line break', 'Zm9v\nZm9v'],
    ['URL-safe alphabet', 'Zm9-'],
    ['non-zero pad bits (1 byte)', 'Zh=='],
    ['non-zero pad bits (2 bytes)', 'Zm9='],
    ['only padding', '===='],
    ['three pads', 'Z==='],
    ['non-ASCII', 'Zm9é'],
  ])('%s', (_, text) => {
    expect(() => decodeBase64(text)).toThrow(TypeError);
  });
});

describe('properties', () => {
  it('decode(encode(x)) = x, and agrees with btoa', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(decodeBase64(text)).toEqual(bytes);
        expect(text).toBe(btoa(String.fromCharCode(...bytes)));
      }),
    );
  });

  it('random text decodes only when it is the encoding of its result', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ABCDZabz09+/=-_ '.split('')), maxLength: 16 }),
        (text) => {
          let bytes: Uint8Array;
          try {
            bytes = decodeBase64(text);
          } catch (err) {
            expect(err).toBeInstanceOf(TypeError);
            return;
          }
          expect(encodeBase64(bytes)).toBe(text);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
