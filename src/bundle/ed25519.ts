/**
 * The one place webflash touches ed25519. Verification is strict RFC 8032 (§5.1.7 with the
 * decoding rules of §5.1.3): noble-ed25519's `verify` defaults to ZIP-215 rules, which accept
 * small-order public keys and non-canonical point encodings, so we always pass
 * `{ zip215: false }`. That branch also refuses small-order public keys outright (as libsodium
 * does). Any exception from the library counts as "not valid".
 *
 * Key ids are the lower-case hex SHA-256 of the 32 raw public-key bytes, so an id can always be
 * recomputed from the key it names (docs/bundle-format.md, "Trust root").
 */
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex } from '../core/bytes.ts';

// noble-ed25519 ships without a synchronous SHA-512; the synchronous API needs one.
ed.hashes.sha512 = sha512;

/** Length of an ed25519 public key, secret key (seed) and key id in bytes. */
const KEY_BYTES = 32;
/** Length of an ed25519 signature in bytes. */
export const SIGNATURE_BYTES = 64;

/**
 * Strict RFC 8032 ed25519 verification. Never throws: wrong lengths, undecodable points,
 * small-order keys and S ≥ L all return false.
 * @example verifySignature({ signature, message, publicKey }) // true or false
 */
export function verifySignature(args: {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}): boolean {
  if (args.signature.length !== SIGNATURE_BYTES || args.publicKey.length !== KEY_BYTES)
    return false;
  try {
    return ed.verify(args.signature, args.message, args.publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Signs `message` with a 32-byte secret key (RFC 8032 §5.1.6; deterministic).
 * @throws {RangeError} if the secret key is not 32 bytes.
 */
export function signMessage(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== KEY_BYTES)
    throw new RangeError('signMessage: secretKey must be 32 bytes');
  return ed.sign(message, secretKey);
}

/**
 * The public key of a 32-byte secret key.
 * @throws {RangeError} if the secret key is not 32 bytes.
 */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== KEY_BYTES)
    throw new RangeError('publicKeyOf: secretKey must be 32 bytes');
  return ed.getPublicKey(secretKey);
}

/**
 * A new random secret key from the platform's CSPRNG (`crypto.getRandomValues`), or derived
 * from a 32-byte `seed` (tests and vectors only).
 */
export function newSecretKey(seed?: Uint8Array): Uint8Array {
  return ed.utils.randomSecretKey(seed);
}

/**
 * Why `publicKey` cannot be a release key, or undefined when it can. A key must be the canonical
 * encoding (RFC 8032 §5.1.3: y < p, no "negative zero" x) of a point of the prime-order subgroup:
 * small-order keys (the identity and the other torsion points, which "verify" signatures for
 * many messages) and keys with a torsion component are refused, as is a non-canonical encoding,
 * which would give one key two key ids (RFC 8032 §5.1.7; Chalkias et al., "Taming the many
 * EdDSAs", 2020, §3).
 * @example publicKeyProblem(new Uint8Array(32)) // 'a small-order point'
 */
export function publicKeyProblem(publicKey: Uint8Array): string | undefined {
  let point: ed.Point | undefined;
  try {
    point = ed.Point.fromBytes(publicKey, false); // RFC 8032 §5.1.3 decoding, lengths included
  } catch {
    // not a point at all
  }
  if (!point || !equalBytes(point.toBytes(), publicKey)) return 'not a canonical curve point';
  if (point.isSmallOrder()) return 'a small-order point';
  if (!point.isTorsionFree()) return 'outside the prime-order subgroup';
  return undefined;
}

/** Key id: lower-case hex SHA-256 of the raw 32-byte public key. */
export function keyIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== KEY_BYTES) throw new RangeError('keyIdOf: publicKey must be 32 bytes');
  return toHex(sha256(publicKey));
}
