/**
 * Trust roots in the style of TUF's root.json (The Update Framework specification v1.0,
 * §4.3 "root.json" and §5.3 "Update the root role"): a versioned, expiring list of ed25519
 * release keys with a signature threshold, carried in a DSSE envelope of type
 * `application/vnd.webflash.root+json` and signed by its own keys.
 *
 * The app pins one root at build time (`pinned-root.ts`). A bundle may carry newer roots; each
 * root N+1 is trusted only when a threshold of root N's keys AND a threshold of its own keys
 * signed it (TUF §5.3.4), and its version is exactly N+1 (TUF §5.3.5). Keys that arrive only
 * inside a bundle are never trusted by themselves. Only the final root's expiry matters
 * (TUF §5.3.10, freeze attack).
 */
import { equalBytes, fromHex, toHex } from '../core/bytes.ts';
import {
  hexPattern,
  readArray,
  readInt,
  readObject,
  readString,
  readTimestamp,
  TIMESTAMP,
} from './_schema.ts';
import {
  encodeEnvelope,
  MANIFEST_PAYLOAD_TYPE,
  parseEnvelope,
  ROOT_PAYLOAD_TYPE,
  tallySignatures,
  type Envelope,
} from './dsse.ts';
import { keyIdOf, publicKeyProblem } from './ed25519.ts';
import { BundleError, reject, rejectAs } from './errors.ts';
import { parseStrictJson } from './strict-json.ts';

/** Largest root envelope accepted, in bytes. */
export const MAX_ROOT_BYTES = 64 * 1024;
/** Most keys one root may list. */
const MAX_ROOT_KEYS = 32;

/** One trusted key: its id and its 32 raw bytes as lower-case hex. */
interface RootKey {
  readonly keyid: string;
  readonly publicKey: string;
}

/** A verified trust root. Immutable. */
export interface TrustRoot {
  readonly version: number;
  /** RFC 3339 UTC expiry, as signed. */
  readonly expires: string;
  readonly expiresMs: number;
  readonly threshold: number;
  readonly keys: readonly RootKey[];
  /** The envelope bytes this root was read from (to embed in bundles or save to disk). */
  readonly envelope: Uint8Array;
}

/** What a root says, before anyone signs it. */
export interface RootContent {
  version: number;
  /** RFC 3339 UTC, e.g. "2027-01-01T00:00:00Z". */
  expires: string;
  threshold: number;
  /** 32-byte ed25519 public keys. */
  publicKeys: readonly Uint8Array[];
}

/**
 * The canonical payload bytes of a root: `{"schema":1,"version":…,"expires":…,"threshold":…,
 * "keys":[{"keyid":…,"keytype":"ed25519","public":…}]}`.
 * @throws {RangeError} for a threshold outside 1…keys or a bad date.
 * @throws {BundleError} `root.invalid` for a duplicate, small-order or non-canonical key (the
 *   writer checks with the reader, `parseRootPayload`).
 */
function encodeRootPayload(content: RootContent): Uint8Array {
  const keys = content.publicKeys.map((k) => ({
    keyid: keyIdOf(k),
    keytype: 'ed25519',
    public: toHex(k),
  }));
  if (
    !Number.isSafeInteger(content.threshold) ||
    content.threshold < 1 ||
    content.threshold > keys.length
  ) {
    throw new RangeError(`root: threshold must be within 1…${keys.length}`);
  }
  if (!TIMESTAMP.test(content.expires)) {
    throw new RangeError('root: expires must be a UTC time like 2027-01-01T00:00:00Z');
  }
  const payload = {
    schema: 1,
    version: content.version,
    expires: content.expires,
    threshold: content.threshold,
    keys,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  parseRootPayload(bytes); // the writer must produce what the reader accepts
  return bytes;
}

/** An unsigned root envelope for `content`; sign it with `addSignature` (dsse.ts). */
export function createRootEnvelope(content: RootContent): Envelope {
  return { payloadType: ROOT_PAYLOAD_TYPE, payload: encodeRootPayload(content), signatures: [] };
}

interface ParsedRoot {
  version: number;
  expires: string;
  expiresMs: number;
  threshold: number;
  keys: RootKey[];
}

/** Reads a root payload strictly. Only ever called on bytes whose signatures were checked. */
function parseRootPayload(payload: Uint8Array): ParsedRoot {
  const o = readObject(parseStrictJson(payload, { maxBytes: MAX_ROOT_BYTES, maxDepth: 4 }), '', {
    required: ['schema', 'version', 'expires', 'threshold', 'keys'],
  });
  readInt(o, 'schema', '', 1, 1);
  const version = readInt(o, 'version', '', 1, 0xffff_ffff);
  const expiresMs = readTimestamp(o, 'expires', '');
  const expires = o['expires'] as string;
  const keyList = readArray(o, 'keys', '', 1, MAX_ROOT_KEYS);
  const threshold = readInt(o, 'threshold', '', 1, keyList.length);
  const seen = new Set<string>();
  const keys = keyList.map((v, i) => {
    const path = `keys[${i}]`;
    const k = readObject(v, path, { required: ['keyid', 'keytype', 'public'] });
    readString(k, 'keytype', path, { pattern: /^ed25519$/, what: '"ed25519"' });
    const publicKey = readString(k, 'public', path, {
      pattern: hexPattern(32),
      what: '64 hex digits',
    });
    const keyid = readString(k, 'keyid', path, { pattern: hexPattern(32), what: '64 hex digits' });
    if (keyid !== keyIdOf(fromHex(publicKey))) {
      throw reject('root.invalid', `${path}.keyid is not the SHA-256 of the key`);
    }
    if (seen.has(keyid)) throw reject('root.invalid', `${path} is a duplicate of another key`);
    const problem = publicKeyProblem(fromHex(publicKey));
    if (problem !== undefined) throw reject('root.invalid', `${path}.public is ${problem}`);
    seen.add(keyid);
    return Object.freeze({ keyid, publicKey });
  });
  return { version, expires, expiresMs, threshold, keys };
}

function keyMap(keys: readonly RootKey[]): Map<string, Uint8Array> {
  return new Map(keys.map((k) => [k.keyid, fromHex(k.publicKey)]));
}

/** Rewrites a json.* rejection of a root as root.invalid, keeping the detail and cause. */
function asRootError(err: unknown): unknown {
  if (err instanceof BundleError && err.reason.startsWith('json.')) {
    return reject('root.invalid', err.detail ?? err.reason, err);
  }
  return err;
}

function decodeRootEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length > MAX_ROOT_BYTES)
    throw reject('size.exceeded', `a trust root over ${MAX_ROOT_BYTES} bytes`);
  let env: Envelope;
  try {
    env = parseEnvelope(bytes, MAX_ROOT_BYTES);
  } catch (err) {
    throw asRootError(err);
  }
  if (env.payloadType === MANIFEST_PAYLOAD_TYPE) {
    throw rejectAs('envelope.payload-type', 'This is a release manifest, not a trust root.');
  }
  if (env.payloadType !== ROOT_PAYLOAD_TYPE) {
    throw reject(
      'envelope.payload-type',
      `expected ${ROOT_PAYLOAD_TYPE}, found "${env.payloadType}"`,
    );
  }
  return env;
}

function requireThreshold(
  env: Envelope,
  keys: readonly RootKey[],
  threshold: number,
  whose: string,
): void {
  const tally = tallySignatures(env, keyMap(keys));
  if (tally.valid.size < threshold) {
    throw reject(
      'root.signature',
      `${tally.valid.size} of ${threshold} required signatures by ${whose}`,
    );
  }
}

function freezeRoot(parsed: ParsedRoot, env: Envelope): TrustRoot {
  return Object.freeze({
    version: parsed.version,
    expires: parsed.expires,
    expiresMs: parsed.expiresMs,
    threshold: parsed.threshold,
    keys: Object.freeze(parsed.keys),
    envelope: encodeEnvelope(env),
  });
}

/**
 * Loads the app's pinned root (or a root file in the CLI): checks that a threshold of its own
 * keys signed it. Expiry is checked later, against the final root of a chain.
 * @throws {BundleError} `root.invalid`, `root.signature`, `envelope.payload-type`, `size.exceeded`.
 */
export function loadTrustRoot(envelopeBytes: Uint8Array | string): TrustRoot {
  const bytes =
    typeof envelopeBytes === 'string' ? new TextEncoder().encode(envelopeBytes) : envelopeBytes;
  const env = decodeRootEnvelope(bytes);
  // The threshold is inside the payload: read it, then insist the signatures meet it before
  // the root is used for anything. Nothing from this root is trusted unless that holds.
  let parsed: ParsedRoot;
  try {
    parsed = parseRootPayload(env.payload);
  } catch (err) {
    throw asRootError(err);
  }
  requireThreshold(env, parsed.keys, parsed.threshold, `root ${parsed.version}'s own keys`);
  return freezeRoot(parsed, env);
}

/**
 * Accepts root N+1 after `current` (root N): a threshold of N's keys must have signed it
 * (checked before its payload is read), then its version must be N+1 and a threshold of its own
 * keys must have signed it too.
 * @throws {BundleError} `root.signature`, `root.version`, `root.invalid`, `envelope.payload-type`.
 */
export function rotateTrustRoot(current: TrustRoot, nextEnvelope: Uint8Array): TrustRoot {
  const env = decodeRootEnvelope(nextEnvelope);
  requireThreshold(env, current.keys, current.threshold, `root ${current.version}'s keys`);
  let parsed: ParsedRoot;
  try {
    parsed = parseRootPayload(env.payload);
  } catch (err) {
    throw asRootError(err);
  }
  if (parsed.version !== current.version + 1) {
    throw reject(
      'root.version',
      `root ${current.version} may be followed only by ${current.version + 1}, not ${parsed.version}`,
    );
  }
  requireThreshold(env, parsed.keys, parsed.threshold, `root ${parsed.version}'s own keys`);
  return freezeRoot(parsed, env);
}

/** One root carried in a bundle: the version its container record names, and its envelope. */
export interface ChainedRoot {
  readonly version: number;
  readonly envelope: Uint8Array;
}

/**
 * Walks the roots a bundle carries, starting from the pinned root. Entries the app already has
 * (version ≤ the pinned one, carried for older updaters) are verified too, so that no unchecked
 * bytes are part of a bundle that verifies (`checkOlderRoots`); the rest must continue the chain
 * one version at a time. The container guarantees the entries are consecutive.
 * @throws {BundleError} `root.version` for a gap (a fast-forward), or any `rotateTrustRoot`
 *   or `checkOlderRoots` error.
 */
export function resolveRootChain(pinned: TrustRoot, chain: readonly ChainedRoot[]): TrustRoot {
  const older = chain.filter((e) => e.version <= pinned.version);
  if (older.length > 0) checkOlderRoots(pinned, older);
  let current = pinned;
  for (const entry of chain) {
    if (entry.version <= current.version) continue;
    if (entry.version !== current.version + 1) {
      throw reject(
        'root.version',
        `the bundle skips from root ${current.version} to ${entry.version}`,
      );
    }
    current = rotateTrustRoot(current, entry.envelope);
  }
  return current;
}

/**
 * Root records at or below the pinned version must form a valid chain by the rotation rules
 * (TUF §5.3.4–5.3.5: the first signed by a threshold of its own keys, each next one by a
 * threshold of the previous root's keys and of its own) that ends in a root with exactly the
 * pinned root's content. Their expiry does not matter (only the final root's does).
 * @throws {BundleError} `root.version` when the records stop short of the pinned version,
 *   `root.invalid` when they end in other content than the pinned root, or any
 *   `loadTrustRoot`/`rotateTrustRoot` error.
 */
function checkOlderRoots(pinned: TrustRoot, older: readonly ChainedRoot[]): void {
  const first = older[0]!;
  const last = older[older.length - 1]!;
  if (last.version !== pinned.version) {
    throw reject(
      'root.version',
      `carried roots end at ${last.version}, not at the pinned ${pinned.version}`,
    );
  }
  let current = loadTrustRoot(first.envelope);
  if (current.version !== first.version) {
    throw reject('root.version', `record ${first.version} holds root ${current.version}`);
  }
  for (const entry of older.slice(1)) current = rotateTrustRoot(current, entry.envelope);
  const payloadOf = (root: TrustRoot): Uint8Array =>
    parseEnvelope(root.envelope, MAX_ROOT_BYTES).payload;
  if (!equalBytes(payloadOf(current), payloadOf(pinned))) {
    throw reject('root.invalid', `carried root ${pinned.version} is not the pinned one`);
  }
}

/** Default longest validity of a root, counted from now: 10 years (3653 days). */
export const DEFAULT_MAX_ROOT_VALIDITY_MS = 3653 * 24 * 60 * 60 * 1000;

/**
 * Rejects an expired root: `now − skew` past its expiry (TUF §5.3.10); and a root valid for
 * longer than `maxValidityMs` from `now + skew`, which would defeat the freeze protection.
 * @throws {BundleError} `root.expired`, `root.invalid`.
 */
export function checkRootExpiry(
  root: TrustRoot,
  nowMs: number,
  clockSkewMs: number,
  maxValidityMs = DEFAULT_MAX_ROOT_VALIDITY_MS,
): void {
  if (nowMs - clockSkewMs > root.expiresMs) {
    throw reject('root.expired', `root ${root.version} expired ${root.expires}`);
  }
  if (root.expiresMs - (nowMs + clockSkewMs) > maxValidityMs) {
    const days = Math.floor(maxValidityMs / 86_400_000);
    throw reject(
      'root.invalid',
      `root ${root.version} expires ${root.expires}, more than ${days} days from now`,
    );
  }
}
