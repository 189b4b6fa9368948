/**
 * A strict JSON reader for signed documents. It accepts the RFC 8259 grammar with the I-JSON
 * restrictions of RFC 7493 and a few of our own, so that one byte sequence has exactly one
 * meaning in every JSON implementation a verifier or a publisher might use:
 *
 * - UTF-8 only, no byte order mark, no invalid sequences (RFC 7493 §2.1); `\u` escapes that
 *   leave a lone surrogate are refused (RFC 7493 §2.1).
 * - Object member names are unique (RFC 7493 §2.3) → `json.duplicate-key`.
 * - `__proto__`, `constructor` and `prototype` are refused as member names → `json.forbidden-key`.
 * - Numbers are integers within ±(2^53 − 1) (RFC 7493 §2.2); fractions, exponents and `-0` are
 *   refused → `json.number`. Our schemas have no other numbers.
 * - Nesting depth and document size are bounded → `json.limits`.
 * - Anything else outside RFC 8259 §2–§7 (comments, trailing commas, single quotes, leading
 *   zeros, raw control characters, trailing text) → `json.malformed`.
 *
 * The reader is iterative over a byte index and allocates nothing per character, so random input
 * cannot make it recurse without bound or hang.
 */
import { reject } from './errors.ts';

/** A JSON value as produced by `parseStrictJson`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object: plain, with own enumerable members only. */
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface StrictJsonOptions {
  /** Deepest allowed nesting of arrays and objects. Default 32. */
  maxDepth?: number;
  /** Longest allowed document in bytes. Default 1 MiB. */
  maxBytes?: number;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses UTF-8 JSON bytes (or a string) under the strict rules above.
 * @throws {BundleError} with reason `json.*` for any violation.
 * @example parseStrictJson(new TextEncoder().encode('{"a":1}')) // { a: 1 }
 */
export function parseStrictJson(
  input: Uint8Array | string,
  options: StrictJsonOptions = {},
): JsonValue {
  const maxDepth = options.maxDepth ?? 32;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  let text: string;
  if (typeof input === 'string') {
    text = input;
    if (text.length > maxBytes) throw reject('json.limits', `longer than ${maxBytes} bytes`);
  } else {
    if (input.length > maxBytes) throw reject('json.limits', `longer than ${maxBytes} bytes`);
    try {
      text = utf8.decode(input);
    } catch (err) {
      throw reject('json.malformed', 'not valid UTF-8', err);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) throw reject('json.malformed', 'byte order mark');
  return new Parser(text, maxDepth).document();
}

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  document(): JsonValue {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected text after the document');
    return v;
  }

  private fail(what: string): never {
    throw reject('json.malformed', `${what} at offset ${this.i}`);
  }

  // RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
  private ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else return;
    }
  }

  private value(depth: number): JsonValue {
    this.ws();
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end' : 'unexpected character');
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('unknown literal');
  }

  // RFC 8259 §4
  private object(depth: number): JsonObject {
    if (depth > this.maxDepth) throw reject('json.limits', `nested deeper than ${this.maxDepth}`);
    this.i++; // {
    const out: JsonObject = {};
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a member name');
      const key = this.string();
      if (seen.has(key)) throw reject('json.duplicate-key', `"${key}"`);
      if (FORBIDDEN_KEYS.has(key)) throw reject('json.forbidden-key', `"${key}"`);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected ":"');
      this.i++;
      out[key] = this.value(depth);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  // RFC 8259 §5
  private array(depth: number): JsonValue[] {
    if (depth > this.maxDepth) throw reject('json.limits', `nested deeper than ${this.maxDepth}`);
    this.i++; // [
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  // RFC 8259 §6, restricted to integers (RFC 7493 §2.2)
  private number(): number {
    const start = this.i;
    if (this.s[this.i] === '-') this.i++;
    const first = this.s[this.i];
    if (first === undefined || first < '0' || first > '9') this.fail('expected a digit');
    if (first === '0' && this.isDigit(this.s[this.i + 1])) this.fail('leading zero');
    while (this.isDigit(this.s[this.i])) this.i++;
    const next = this.s[this.i];
    if (next === '.' || next === 'e' || next === 'E') {
      throw reject('json.number', `only integers are allowed (offset ${start})`);
    }
    const digits = this.s.slice(start, this.i);
    if (digits === '-0') throw reject('json.number', `-0 (offset ${start})`);
    // 17 or more digits always exceed 2^53; shorter runs convert exactly enough for the check.
    const n = digits.replace('-', '').length > 16 ? Infinity : Number(digits);
    if (!Number.isSafeInteger(n)) {
      throw reject('json.number', `${digits.slice(0, 24)} is beyond ±(2^53 − 1)`);
    }
    return n;
  }

  private isDigit(c: string | undefined): boolean {
    return c !== undefined && c >= '0' && c <= '9';
  }

  // RFC 8259 §7
  private string(): string {
    this.i++; // opening quote
    let out = '';
    let runStart = this.i;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) {
        out += this.s.slice(runStart, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('raw control character in a string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // Only reachable from string input (decoded UTF-8 never holds lone surrogates).
        const pair = c <= 0xdbff && this.isLow(this.s.charCodeAt(this.i + 1));
        if (!pair) this.fail('lone surrogate');
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(runStart, this.i);
      this.i++; // backslash
      const e = this.s[this.i++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = this.hex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone low surrogate escape');
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') {
              this.fail('lone high surrogate escape');
            }
            this.i += 2;
            const low = this.hex4();
            if (!this.isLow(low)) this.fail('lone high surrogate escape');
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.i--;
          this.fail('invalid escape');
      }
      runStart = this.i;
    }
  }

  private isLow(unit: number): boolean {
    return unit >= 0xdc00 && unit <= 0xdfff;
  }

  private hex4(): number {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }
}
