import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type CanonicalValue } from '../../src/audit/canonical.ts';
import vectors from './vectors/jcs.json' with { type: 'json' };

describe('canonicalJson', () => {
  it('matches the RFC 8785 escaping example', () => {
    const c = vectors.cases[0]!;
    expect(canonicalJson(JSON.parse(c.input) as CanonicalValue)).toBe(c.canonical);
  });

  it('sorts names by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const c = vectors.cases[1]!;
    const out = canonicalJson(JSON.parse(c.input) as CanonicalValue);
    expect(Object.keys(JSON.parse(out) as object)).toEqual(
      // JSON.parse gives integer-like names first; compare by position in the text instead.
      expect.arrayContaining(c.keyOrder!),
    );
    const positions = c.keyOrder!.map((k) => out.indexOf(JSON.stringify(k) + ':'));
    expect(positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1]!))).toBe(true);
  });

  it.each([
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 53],
    ['minus zero', -0],
    ['NaN', Number.NaN],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', 'x\udc00'],
    ['a lone surrogate in a name', { '\ud800': 1 }],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a bigint', 1n],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson(value as CanonicalValue)).toThrow(/canonicalJson/);
  });

  it('round-trips through JSON.parse and is idempotent (property)', () => {
    const json = fc.letrec<{ value: CanonicalValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string({ unit: 'grapheme' }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'grapheme' }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalJson(v);
        const back = JSON.parse(text) as CanonicalValue;
        expect(back).toEqual(v);
        expect(canonicalJson(back)).toBe(text);
      }),
    );
  });
});
