/**
 * Tiny typed readers over parsed strict JSON, shared by the manifest, trust-root and envelope
 * schemas. Every missing, unknown or wrongly typed member is a `json.schema` rejection whose
 * detail names the JSON path ("targets[0].images[1].sha256").
 */
import { BundleError } from './errors.ts';
import type { JsonObject, JsonValue } from './strict-json.ts';

/** A `json.schema` rejection of the member at JSON path `at` (kept as `field` for tools). */
function fieldFault(at: string, problem: string): BundleError {
  return new BundleError('json.schema', `${at} ${problem}`, { field: at });
}

/** Checks that `v` is an object with exactly the `required` members plus any of `optional`. */
export function readObject(
  v: JsonValue | undefined,
  path: string,
  members: { required: readonly string[]; optional?: readonly string[] },
): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw fieldFault(path, 'must be an object');
  }
  for (const key of members.required) {
    if (!Object.hasOwn(v, key)) throw fieldFault(join(path, key), 'is missing');
  }
  const optional = members.optional ?? [];
  for (const key of Object.keys(v)) {
    if (!members.required.includes(key) && !optional.includes(key)) {
      throw fieldFault(join(path, key), 'is not a known field');
    }
  }
  return v;
}

/** A string member, optionally matching `pattern` and at most `maxLength` characters long. */
export function readString(
  o: JsonObject,
  key: string,
  path: string,
  rule: { pattern?: RegExp; maxLength?: number; what?: string } = {},
): string {
  const v = o[key];
  const at = join(path, key);
  if (typeof v !== 'string') throw fieldFault(at, 'must be a string');
  if (v.length > (rule.maxLength ?? 256)) throw fieldFault(at, 'is too long');
  if (rule.pattern && !rule.pattern.test(v)) {
    throw fieldFault(at, `must be ${rule.what ?? `like ${String(rule.pattern)}`}`);
  }
  return v;
}

/** An integer member within [min, max]. */
export function readInt(
  o: JsonObject,
  key: string,
  path: string,
  min: number,
  max: number,
): number {
  const v = o[key];
  const at = join(path, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw fieldFault(at, 'must be an integer');
  }
  if (v < min || v > max) throw fieldFault(at, `must be within ${min}…${max}`);
  return v;
}

/** An array member with between `min` and `max` elements. */
export function readArray(
  o: JsonObject,
  key: string,
  path: string,
  min: number,
  max: number,
): JsonValue[] {
  const v = o[key];
  const at = join(path, key);
  if (!Array.isArray(v)) throw fieldFault(at, 'must be an array');
  if (v.length < min || v.length > max) {
    throw fieldFault(at, `must have ${min}…${max} elements`);
  }
  return v;
}

/** `join("targets[0]", "chip")` → `"targets[0].chip"`. */
function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** RFC 3339 §5.6 `date-time`, restricted to UTC with whole seconds: `2026-05-01T12:00:00Z`. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * Reads an RFC 3339 UTC timestamp member and returns it in milliseconds since the epoch.
 * Impossible dates (Feb 30) are refused: the value must print back to itself.
 */
export function readTimestamp(o: JsonObject, key: string, path: string): number {
  const s = readString(o, key, path, {
    pattern: TIMESTAMP,
    what: 'a UTC time like 2026-05-01T12:00:00Z',
  });
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().replace('.000Z', 'Z') !== s) {
    throw fieldFault(join(path, key), 'is not a real date');
  }
  return ms;
}

/** Lower-case hex of exactly `bytes` bytes. */
export function hexPattern(bytes: number): RegExp {
  return new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
}
