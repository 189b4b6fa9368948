/**
 * Flash-log entries: their fields and the schema check (docs/flash-log.md, "Entries"). Every
 * field, including `prev`, is covered by the entry's `hash`; only `hash` itself is not.
 */
import { isWellFormed } from './canonical.ts';

/** Format version written into every entry. */
export const AUDIT_VERSION = 1;

/** `prev` of the genesis entry: 64 zeros. */
export const ZERO_HASH = '0'.repeat(64);

/** Who was flashing: a technician at a desk, a production bench, or a customer at home. */
export type AuditMode = 'technician' | 'bench' | 'customer';
const AUDIT_MODES: readonly AuditMode[] = ['technician', 'bench', 'customer'];

/** Outcome of one flash. */
type AuditResult = 'ok' | 'failed';

/** The release that was written: product and version from its manifest, hash of its bytes. */
interface AuditBundle {
  product: string;
  version: string;
  /** SHA-256 of the whole bundle file, 64 lower-case hex digits. */
  sha256: string;
}

/** What the caller records about one flash; the log adds `time`, `seq`, `prev` and `hash`. */
export interface FlashRecord {
  /** Free text from the operator ("replaced U3", "ticket 4411"); may be empty. */
  note: string;
  /** The port the board was on ("USB serial 303a:1001", "Virtual ESP32-S3"). */
  port: string;
  /** The board's unique id (MAC address, STM32 UID) when it told us; empty when it did not. */
  deviceId: string;
  /** Chip id as in bundle targets: "esp32s3", "stm32f4". */
  chip: string;
  bundle: AuditBundle;
  result: AuditResult;
  /** Stable error code (`ErrorCode`, e.g. "protocol.no-sync") when failed; null when ok. */
  errorCode: string | null;
  /** Wall time of the flash, in whole milliseconds. */
  durationMs: number;
  mode: AuditMode;
  /**
   * Delta update: erase units the board already held and were skipped, of all units compared.
   * Optional (entries written before delta updates have none, and still verify); absent when
   * nothing was compared (delta off, a protocol that cannot compare, a failed job).
   */
  delta?: { unchanged: number; total: number };
}

interface EntryBase {
  /** Format version, `AUDIT_VERSION`. */
  v: number;
  /** Position in the chain; the genesis entry is 0. */
  seq: number;
  /** When the entry was written: `Date.toISOString()` form, UTC, e.g. "2026-03-01T09:30:00.000Z". */
  time: string;
  /** `hash` of the entry before; `ZERO_HASH` for the genesis entry. */
  prev: string;
  /** SHA-256 of the canonical encoding of every other field (`entryHash`). */
  hash: string;
}

/** The first entry of every log: it names the log. */
export interface GenesisEntry extends EntryBase {
  kind: 'genesis';
  /** Random id of this log, 32 hex digits, so entries cannot be spliced from another log. */
  logId: string;
}

/** One flash. */
export interface FlashEntry extends EntryBase, FlashRecord {
  kind: 'flash';
}

export type AuditEntry = GenesisEntry | FlashEntry;

/** An entry before its hash is known. */
export type UnhashedEntry = Omit<GenesisEntry, 'hash'> | Omit<FlashEntry, 'hash'>;

/** Longest allowed operator note, in UTF-16 units. */
export const MAX_NOTE = 2000;
/** Longest allowed other text field. */
export const MAX_TEXT = 200;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ERROR_CODE = /^[a-z][a-z0-9.-]{0,63}$/;

const BASE_KEYS = ['v', 'seq', 'kind', 'time', 'prev', 'hash'];
const GENESIS_KEYS = new Set([...BASE_KEYS, 'logId']);
const FLASH_KEYS = new Set([
  ...BASE_KEYS,
  'delta',
  'note',
  'port',
  'deviceId',
  'chip',
  'bundle',
  'result',
  'errorCode',
  'durationMs',
  'mode',
]);
/** Flash fields an entry may leave out (added after version 1 entries were first written). */
const OPTIONAL_FLASH_KEYS = new Set(['delta']);
const BUNDLE_KEYS = new Set(['product', 'version', 'sha256']);
const DELTA_KEYS = new Set(['unchanged', 'total']);

/** True for a `Date.toISOString()` time that names a real instant. */
function isIsoTime(s: unknown): s is string {
  if (typeof s !== 'string' || !ISO_TIME.test(s)) return false;
  const t = new Date(s);
  return !Number.isNaN(t.getTime()) && t.toISOString() === s;
}

/**
 * Checks the shape of one entry read from storage or a file. Returns undefined when it is an
 * `AuditEntry` (hash not yet checked), else what is wrong, naming the field.
 * @example entryProblem({ kind: 'flash' }) // 'unknown or missing field "v"…'
 */
export function entryProblem(
  value: unknown,
  options: { hashed?: boolean } = {},
): string | undefined {
  if (!isPlainObject(value)) return 'not a JSON object';
  const hashed = options.hashed ?? true;
  const kind = value['kind'];
  if (kind !== 'genesis' && kind !== 'flash') return 'field "kind" must be "genesis" or "flash"';
  const allowed = kind === 'genesis' ? GENESIS_KEYS : FLASH_KEYS;
  for (const key of Object.keys(value)) {
    if (!allowed.has(key) || (key === 'hash' && !hashed)) return `unexpected field "${key}"`;
  }
  for (const key of allowed) {
    if ((key === 'hash' && !hashed) || OPTIONAL_FLASH_KEYS.has(key)) continue;
    if (!(key in value)) return `missing field "${key}"`;
  }
  if (value['v'] !== AUDIT_VERSION) return `field "v" must be ${AUDIT_VERSION}`;
  if (!Number.isSafeInteger(value['seq']) || (value['seq'] as number) < 0) {
    return 'field "seq" must be a whole number ≥ 0';
  }
  if (!isIsoTime(value['time'])) return 'field "time" must be an ISO 8601 UTC time';
  if (!isHex64(value['prev'])) return 'field "prev" must be 64 lower-case hex digits';
  if (hashed && !isHex64(value['hash'])) return 'field "hash" must be 64 lower-case hex digits';
  if (kind === 'genesis') {
    const id = value['logId'];
    return typeof id === 'string' && HEX32.test(id)
      ? undefined
      : 'field "logId" must be 32 lower-case hex digits';
  }
  return flashProblem(value);
}

/** What is wrong with the caller-supplied fields of a flash, or undefined. */
export function flashRecordProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'not an object';
  for (const key of FLASH_KEYS) {
    if (BASE_KEYS.includes(key) || OPTIONAL_FLASH_KEYS.has(key)) continue;
    if (!(key in value)) return `missing field "${key}"`;
  }
  return flashProblem(value);
}

function flashProblem(value: Record<string, unknown>): string | undefined {
  const note = value['note'];
  if (typeof note !== 'string' || note.length > MAX_NOTE || !isWellFormed(note)) {
    return `field "note" must be text of at most ${MAX_NOTE} characters`;
  }
  for (const key of ['port', 'deviceId', 'chip'] as const) {
    if (!isText(value[key])) return `field "${key}" must be text of at most ${MAX_TEXT} characters`;
  }
  const bundle = value['bundle'];
  if (!isPlainObject(bundle)) return 'field "bundle" must be an object';
  for (const key of Object.keys(bundle)) {
    if (!BUNDLE_KEYS.has(key)) return `unexpected field "bundle.${key}"`;
  }
  if (!isText(bundle['product'])) return 'field "bundle.product" must be text';
  if (!isText(bundle['version'])) return 'field "bundle.version" must be text';
  if (!isHex64(bundle['sha256'])) return 'field "bundle.sha256" must be 64 lower-case hex digits';
  const result = value['result'];
  if (result !== 'ok' && result !== 'failed') return 'field "result" must be "ok" or "failed"';
  const code = value['errorCode'];
  if (result === 'ok' && code !== null) return 'field "errorCode" must be null when result is "ok"';
  if (result === 'failed' && !(typeof code === 'string' && ERROR_CODE.test(code))) {
    return 'field "errorCode" must be an error code such as "protocol.no-sync" when result is "failed"';
  }
  const ms = value['durationMs'];
  if (!Number.isSafeInteger(ms) || (ms as number) < 0) {
    return 'field "durationMs" must be a whole number ≥ 0';
  }
  if (!(AUDIT_MODES as readonly unknown[]).includes(value['mode'])) {
    return `field "mode" must be one of ${AUDIT_MODES.join(', ')}`;
  }
  return 'delta' in value ? deltaProblem(value['delta']) : undefined;
}

function deltaProblem(delta: unknown): string | undefined {
  const bad = 'field "delta" must be { unchanged, total }, whole numbers with unchanged ≤ total';
  if (!isPlainObject(delta) || Object.keys(delta).some((k) => !DELTA_KEYS.has(k))) return bad;
  const { unchanged, total } = delta;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return whole(unchanged) && whole(total) && unchanged <= total ? undefined : bad;
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_TEXT && isWellFormed(v);
}

function isHex64(v: unknown): v is string {
  return typeof v === 'string' && HEX64.test(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
