/**
 * DSSE envelopes (secure-systems-lab/dsse, "envelope.md" and "protocol.md", v1.0.0) carrying the
 * release manifest and trust roots. Signatures are ed25519 over the pre-authentication encoding
 *
 *     PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where LEN is the byte length in ASCII decimal (protocol.md, "Signature definition"). The
 * verifier checks signatures over the exact payload bytes first and only then hands those bytes
 * to the strict JSON reader; nothing in the payload is looked at before that.
 *
 * Our envelope JSON is strict: exactly `payloadType`, `payload` (canonical padded base64) and
 * `signatures` (each exactly `keyid` and `sig`), nothing else.
 */
import { concatBytes } from '../core/bytes.ts';
import { decodeBase64, encodeBase64 } from '../formats/base64.ts';
import { hexPattern, readArray, readObject, readString } from './_schema.ts';
import { keyIdOf, publicKeyOf, signMessage, SIGNATURE_BYTES, verifySignature } from './ed25519.ts';
import { BundleError, reject, rejectAs } from './errors.ts';
import { parseStrictJson } from './strict-json.ts';

/** DSSE payloadType of a release manifest. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.webflash.manifest+json';
/** DSSE payloadType of a trust root. */
export const ROOT_PAYLOAD_TYPE = 'application/vnd.webflash.root+json';
/** Most signatures an envelope may carry (each costs one ed25519 verification). */
const MAX_SIGNATURES = 16;

/** One DSSE signature: the signing key's id (a hint, never trusted by itself) and 64 bytes. */
interface EnvelopeSignature {
  readonly keyid: string;
  readonly sig: Uint8Array;
}

/** A decoded DSSE envelope. */
export interface Envelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly EnvelopeSignature[];
}

const encoder = new TextEncoder();

/**
 * DSSE pre-authentication encoding (protocol.md, "Signature definition").
 * @example pae('http://example.com/HelloWorld', utf8('hello world'))
 *   // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  return concatBytes(
    encoder.encode(`DSSEv1 ${type.length} `),
    type,
    encoder.encode(` ${payload.length} `),
    payload,
  );
}

/**
 * Parses envelope JSON bytes strictly. Does not verify anything.
 * @throws {BundleError} `json.*` for malformed or ill-typed envelopes, worded as faults of the
 *   envelope, which nothing signs, not of the signed document inside it.
 */
export function parseEnvelope(bytes: Uint8Array, maxBytes: number): Envelope {
  try {
    return readEnvelope(bytes, maxBytes);
  } catch (err) {
    if (!(err instanceof BundleError) || !err.reason.startsWith('json.')) throw err;
    throw rejectAs(
      err.reason,
      'The unsigned signature envelope around the document is malformed.',
      err.detail,
      err,
    );
  }
}

function readEnvelope(bytes: Uint8Array, maxBytes: number): Envelope {
  const o = readObject(parseStrictJson(bytes, { maxBytes, maxDepth: 4 }), 'envelope', {
    required: ['payloadType', 'payload', 'signatures'],
  });
  const payloadType = readString(o, 'payloadType', 'envelope', { maxLength: 128 });
  const payloadText = readString(o, 'payload', 'envelope', { maxLength: maxBytes });
  let payload: Uint8Array;
  try {
    payload = decodeBase64(payloadText);
  } catch (err) {
    throw reject('json.schema', 'envelope.payload is not canonical base64', err);
  }
  const signatures = readArray(o, 'signatures', 'envelope', 0, MAX_SIGNATURES).map((v, i) => {
    const path = `envelope.signatures[${i}]`;
    const s = readObject(v, path, { required: ['keyid', 'sig'] });
    const keyid = readString(s, 'keyid', path, { pattern: hexPattern(32), what: '64 hex digits' });
    let sig: Uint8Array;
    try {
      sig = decodeBase64(readString(s, 'sig', path, { maxLength: 100 }));
    } catch (err) {
      throw reject('json.schema', `${path}.sig is not canonical base64`, err);
    }
    if (sig.length !== SIGNATURE_BYTES) throw reject('json.schema', `${path}.sig is not 64 bytes`);
    return Object.freeze({ keyid, sig });
  });
  return Object.freeze({ payloadType, payload, signatures: Object.freeze(signatures) });
}

/** Serialises an envelope as compact JSON bytes (member order: payloadType, payload, signatures). */
export function encodeEnvelope(env: Envelope): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      payloadType: env.payloadType,
      payload: encodeBase64(env.payload),
      signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: encodeBase64(s.sig) })),
    }),
  );
}

/**
 * Returns a copy of `env` with one more signature by `secretKey`.
 * @throws {RangeError} when that key has already signed, or the envelope is full.
 */
export function addSignature(env: Envelope, secretKey: Uint8Array): Envelope {
  const keyid = keyIdOf(publicKeyOf(secretKey));
  if (env.signatures.some((s) => s.keyid === keyid)) {
    throw new RangeError(`key ${keyid.slice(0, 16)}… has already signed this document`);
  }
  if (env.signatures.length >= MAX_SIGNATURES) {
    throw new RangeError(`a document carries at most ${MAX_SIGNATURES} signatures`);
  }
  const sig = signMessage(pae(env.payloadType, env.payload), secretKey);
  return Object.freeze({
    payloadType: env.payloadType,
    payload: env.payload,
    signatures: Object.freeze([...env.signatures, Object.freeze({ keyid, sig })]),
  });
}

/** How the signatures on an envelope fared against a set of trusted keys. */
export interface SignatureTally {
  /** Distinct trusted key ids with a valid signature; each key counts once. */
  readonly valid: ReadonlySet<string>;
  /** Signatures naming a trusted key that did not verify. */
  readonly invalid: number;
  /** Signatures naming a key outside the trusted set (never verified, never counted). */
  readonly unknown: number;
}

/**
 * Verifies each signature whose key id names one of `keys` (id → 32-byte public key) over
 * PAE(payloadType, payload). The key id is only a lookup hint: the key bytes come from `keys`.
 */
export function tallySignatures(
  env: Envelope,
  keys: ReadonlyMap<string, Uint8Array>,
): SignatureTally {
  const message = pae(env.payloadType, env.payload);
  const valid = new Set<string>();
  let invalid = 0;
  let unknown = 0;
  for (const s of env.signatures) {
    const publicKey = keys.get(s.keyid);
    if (!publicKey) unknown++;
    else if (valid.has(s.keyid)) continue;
    else if (verifySignature({ signature: s.sig, message, publicKey })) valid.add(s.keyid);
    else invalid++;
  }
  return { valid, invalid, unknown };
}
