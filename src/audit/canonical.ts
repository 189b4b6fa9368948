/**
 * Canonical JSON for flash-log entries (docs/flash-log.md, "Canonical encoding"): the subset of
 * RFC 8785 (JSON Canonicalization Scheme) our entries need, so one entry has exactly one byte
 * sequence and any other JSON implementation can recompute its hash.
 *
 * - Object members sorted by their names as UTF-16 code units (RFC 8785 §3.2.3); no whitespace.
 * - Strings as ECMAScript `JSON.stringify` writes them, which is RFC 8785 §3.2.2.2: only `"`, `\`
 *   and control characters are escaped; everything else is literal UTF-8. Lone surrogates are
 *   refused (RFC 7493 §2.1), so the UTF-8 is always well formed.
 * - Numbers are integers within ±(2^53 − 1) (RFC 7493 §2.2), written in decimal; that is what
 *   RFC 8785 §3.2.2.3 yields for them.
 * - `null`, `true`, `false`; arrays keep their order.
 */
import { UsageError } from '../core/errors.ts';

/** A value the canonical encoding accepts. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` is well-formed UTF-16 (no lone surrogates), so it has a UTF-8 encoding. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * The canonical JSON text of `value`.
 * @throws {UsageError} for fractions, unsafe integers, `-0`, lone surrogates, `undefined`,
 *   functions or other values JSON cannot carry.
 * @example canonicalJson({ b: 1, a: 'x' }) // '{"a":"x","b":1}'
 */
export function canonicalJson(value: CanonicalValue): string {
  return encode(value, 0);
}

function encode(value: unknown, depth: number): string {
  if (depth > 16) throw new UsageError('canonicalJson: nested too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
        throw new UsageError(`canonicalJson: ${value} is not a safe integer`);
      }
      return String(value);
    case 'string':
      if (!isWellFormed(value)) throw new UsageError('canonicalJson: string has a lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => encode(v, depth + 1)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        if (!isWellFormed(k)) throw new UsageError('canonicalJson: name has a lone surrogate');
        parts.push(`${JSON.stringify(k)}:${encode(obj[k], depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new UsageError(`canonicalJson: a ${typeof value} cannot be encoded`);
  }
}
