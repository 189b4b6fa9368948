/**
 * CBOR (RFC 8949) for SMP bodies, through `cborg`. Requests are encoded with definite lengths
 * (RFC 8949 §4.2.1 preferred serialisation, as cborg does); replies are decoded whatever their
 * form, since zcbor-based servers (Zephyr, MCUboot) send maps and arrays with indefinite
 * lengths (RFC 8949 §3.2.2). `encodeCborIndefinite` produces that zcbor form, for the
 * simulators. Typed readers turn a reply map into fields or a 'protocol.bad-reply' error.
 */
import { decode, encode } from 'cborg';
import { concatBytes } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** The values SMP bodies carry. */
export type CborValue = number | string | boolean | null | Uint8Array | CborValue[] | CborMap;
export interface CborMap {
  [key: string]: CborValue;
}

/**
 * Encodes a value with definite lengths.
 * @example encodeCbor({ d: 'hi' }) // a1 61 64 62 68 69
 */
export function encodeCbor(value: CborValue): Uint8Array {
  return encode(value);
}

/**
 * Encodes maps and arrays with indefinite lengths (0xBF … 0xFF, 0x9F … 0xFF), keys in the
 * given order, the way zcbor's `zcbor_map_start_encode` does without ZCBOR_CANONICAL.
 */
export function encodeCborIndefinite(value: CborValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const walk = (v: CborValue): void => {
    if (Array.isArray(v)) {
      parts.push(Uint8Array.of(0x9f));
      for (const item of v) walk(item);
      parts.push(Uint8Array.of(0xff));
    } else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      parts.push(Uint8Array.of(0xbf));
      for (const [k, item] of Object.entries(v)) {
        parts.push(encode(k));
        walk(item);
      }
      parts.push(Uint8Array.of(0xff));
    } else {
      parts.push(encode(v));
    }
  };
  walk(value);
  return concatBytes(...parts);
}

/**
 * Decodes one CBOR item that must be a map with text keys. Duplicate keys, tags, undefined
 * and trailing bytes are refused.
 * @throws {ProtocolError} 'protocol.bad-reply'.
 */
export function decodeCborMap(bytes: Uint8Array, what = 'SMP body'): CborMap {
  let value: unknown;
  try {
    value = decode(bytes, {
      rejectDuplicateMapKeys: true,
      allowUndefined: false,
      allowBigInt: false,
    });
  } catch (err) {
    throw new ProtocolError(
      'protocol.bad-reply',
      `The ${what} is not valid CBOR: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!isMap(value))
    throw new ProtocolError('protocol.bad-reply', `The ${what} is not a CBOR map.`);
  return value;
}

export function isMap(v: unknown): v is CborMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function bad(key: string, what: string): ProtocolError {
  return new ProtocolError('protocol.bad-reply', `The reply's "${key}" is not ${what}.`);
}

/** An unsigned integer member; `undefined` when absent. */
export function optUint(m: CborMap, key: string): number | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad(key, 'an unsigned integer');
  return v;
}

/** An integer member (may be negative); `undefined` when absent. */
export function optInt(m: CborMap, key: string): number | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(key, 'an integer');
  return v;
}

export function optString(m: CborMap, key: string): string | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(key, 'a text string');
  return v;
}

export function optBytes(m: CborMap, key: string): Uint8Array | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw bad(key, 'a byte string');
  return v;
}

/** A boolean member; absent is false (the image state flags "do not have to be present if false"). */
export function flag(m: CborMap, key: string): boolean {
  const v = m[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(key, 'a boolean');
  return v;
}

export function reqUint(m: CborMap, key: string): number {
  const v = optUint(m, key);
  if (v === undefined) throw bad(key, 'present');
  return v;
}

export function reqString(m: CborMap, key: string): string {
  const v = optString(m, key);
  if (v === undefined) throw bad(key, 'present');
  return v;
}

export function reqArray(m: CborMap, key: string): CborValue[] {
  const v = m[key];
  if (!Array.isArray(v)) throw bad(key, 'an array');
  return v;
}
