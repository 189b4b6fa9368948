/** The strict JSON reader: a table of refused inputs, fast-check round trips and random input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { parseStrictJson, type JsonValue } from '../../src/bundle/strict-json.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function reasonOf(input: Uint8Array | string, options = {}): string | undefined {
  try {
    parseStrictJson(input, options);
    return undefined;
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
}

describe('accepts RFC 8259 JSON within our limits', () => {
  it.each([
    ['{"a":1,"b":[true,false,null],"c":"x"}', { a: 1, b: [true, false, null], c: 'x' }],
    [' \t\r\n[ ] ', []],
    ['"\\u00e9\\ud83d\\ude00\\n\\/"', 'é😀\n/'],
    ['-9007199254740991', -9007199254740991],
    ['9007199254740991', 9007199254740991],
    ['0', 0],
    ['{"constructorx":1,"toString":2}', { constructorx: 1, toString: 2 }],
  ])('%s', (text, value) => {
    expect(parseStrictJson(enc(text))).toEqual(value);
  });

  it('decodes UTF-8 text', () => expect(parseStrictJson(enc('"Grüße ✓"'))).toBe('Grüße ✓'));
});

describe('refuses', () => {
  it.each([
    ['duplicate key', '{"a":1,"a":1}', 'json.duplicate-key'],
    ['duplicate key, nested', '{"a":{"b":1,"b":2}}', 'json.duplicate-key'],
    ['duplicate key via escape', '{"a":1,"\\u0061":2}', 'json.duplicate-key'],
    ['__proto__', '{"__proto__":{}}', 'json.forbidden-key'],
    ['escaped __proto__', '{"\\u005f_proto__":{}}', 'json.forbidden-key'],
    ['constructor', '{"constructor":1}', 'json.forbidden-key'],
    ['prototype', '{"prototype":1}', 'json.forbidden-key'],
    ['2^53', '9007199254740992', 'json.number'],
    ['2^53 + 1', '9007199254740993', 'json.number'],
    ['-(2^53)', '-9007199254740992', 'json.number'],
    ['huge', '1'.repeat(400), 'json.number'],
    ['fraction', '1.5', 'json.number'],
    ['1.0', '1.0', 'json.number'],
    ['exponent', '1e3', 'json.number'],
    ['-0', '-0', 'json.number'],
    ['leading zero', '01', 'json.malformed'],
    ['plus sign', '+1', 'json.malformed'],
    ['bare minus', '-', 'json.malformed'],
    ['NaN', 'NaN', 'json.malformed'],
    ['trailing comma in object', '{"a":1,}', 'json.malformed'],
    ['trailing comma in array', '[1,]', 'json.malformed'],
    ['comment', '{"a":1 /* x */}', 'json.malformed'],
    ['single quotes', "{'a':1}", 'json.malformed'],
    ['unquoted key', '{a:1}', 'json.malformed'],
    ['two documents', '{} {}', 'json.malformed'],
    ['empty', '', 'json.malformed'],
    ['raw newline in string', '"a\nb"', 'json.malformed'],
    ['raw tab in string', '"a\tb"', 'json.malformed'],
    ['bad escape', '"\\x41"', 'json.malformed'],
    ['short \\u', '"\\u12"', 'json.malformed'],
    ['lone high surrogate', '"\\ud800"', 'json.malformed'],
    ['lone low surrogate', '"\\udc00"', 'json.malformed'],
    ['reversed surrogates', '"\\udc00\\ud800"', 'json.malformed'],
    ['unterminated string', '"abc', 'json.malformed'],
    ['unterminated object', '{"a":1', 'json.malformed'],
    ['truncated literal', 'tru', 'json.malformed'],
    ['capital literal', 'True', 'json.malformed'],
    ['missing colon', '{"a" 1}', 'json.malformed'],
    ['vertical tab whitespace', '\u000b1', 'json.malformed'],
    ['non-breaking space whitespace', '\u00a01', 'json.malformed'],
    ['too deep', '['.repeat(33) + ']'.repeat(33), 'json.limits'],
  ])('%s', (_, text, reason) => {
    expect(reasonOf(enc(text))).toBe(reason);
  });

  it.each([
    ['byte order mark', Uint8Array.of(0xef, 0xbb, 0xbf, 0x31), 'json.malformed'],
    ['invalid UTF-8', Uint8Array.of(0x22, 0xff, 0x22), 'json.malformed'],
    ['overlong UTF-8 "/"', Uint8Array.of(0x22, 0xc0, 0xaf, 0x22), 'json.malformed'],
    ['UTF-8 encoded surrogate', Uint8Array.of(0x22, 0xed, 0xa0, 0x80, 0x22), 'json.malformed'],
  ])('%s', (_, bytes, reason) => {
    expect(reasonOf(bytes)).toBe(reason);
  });

  it('documents over maxBytes', () => {
    expect(reasonOf(enc('[1,2,3]'), { maxBytes: 6 })).toBe('json.limits');
    expect(reasonOf('[1,2,3]', { maxBytes: 6 })).toBe('json.limits');
  });

  it('lone surrogates in string input', () => expect(reasonOf('"\ud800"')).toBe('json.malformed'));
});

/** JSON values inside our rules: safe integers, no forbidden keys, bounded depth. */
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc
      .integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })
      .filter((n) => !Object.is(n, -0)),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string().filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

describe('properties', () => {
  it('round-trips JSON.stringify output, compact and indented', () => {
    fc.assert(
      fc.property(jsonValue, fc.boolean(), (v, pretty) => {
        const text = pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
        expect(parseStrictJson(enc(text))).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with JSON.parse wherever it accepts', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'small' }), (text) => {
        let ours: unknown;
        try {
          ours = parseStrictJson(enc(text));
        } catch (err) {
          expect(err).toBeInstanceOf(BundleError);
          return;
        }
        expect(ours).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes either parse or throw BundleError with a json.* reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseStrictJson(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(BundleError);
          expect((err as BundleError).reason).toMatch(/^json\./);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random JSON-ish text either parses or throws BundleError', () => {
    const alphabet = fc.constantFrom(...'{}[]",:0123456789-.eE truefalsn\\u'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), (chars) => {
        try {
          parseStrictJson(chars.join(''));
        } catch (err) {
          expect(err).toBeInstanceOf(BundleError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
