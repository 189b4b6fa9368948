/**
 * Keys a trust root may list (RFC 8032 §5.1.3 decoding; small-order and mixed-order points as in
 * Chalkias et al., "Taming the many EdDSAs", 2020, Table 1) and the longest validity of a root.
 */
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { addSignature, encodeEnvelope, ROOT_PAYLOAD_TYPE } from '../../src/bundle/dsse.ts';
import { keyIdOf, publicKeyOf, publicKeyProblem } from '../../src/bundle/ed25519.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import {
  checkRootExpiry,
  createRootEnvelope,
  DEFAULT_MAX_ROOT_VALIDITY_MS,
  loadTrustRoot,
} from '../../src/bundle/trust-root.ts';
import { toHex } from '../../src/core/bytes.ts';
import { goodBundle, key, NOW, pinnedTestRoot, rootBytes } from './fixtures.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));

/** The identity (y = 1): order 1. */
const IDENTITY = hex('01' + '00'.repeat(31));
/** y = 0: a point of order 4. */
const ORDER_4 = new Uint8Array(32);
/** y = p = 2^255 − 19, not reduced: non-canonical. */
const Y_EQUALS_P = hex('ed' + 'ff'.repeat(30) + '7f');
/** The identity written as y = p + 1: non-canonical. */
const IDENTITY_NON_CANONICAL = hex('ee' + 'ff'.repeat(30) + '7f');
/** Key 1 plus a point of order 4: on the curve, outside the prime-order subgroup. */
const MIXED_ORDER = ed.Point.fromBytes(publicKeyOf(key(1)))
  .add(ed.Point.fromBytes(ORDER_4))
  .toBytes();

/** A root envelope listing `publicKeys` as raw hex, self-signed by key 1. */
function rootListing(publicKeys: Uint8Array[]): Uint8Array {
  const payload = JSON.stringify({
    schema: 1,
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    threshold: 1,
    keys: publicKeys.map((k) => ({ keyid: keyIdOf(k), keytype: 'ed25519', public: toHex(k) })),
  });
  const env = {
    payloadType: ROOT_PAYLOAD_TYPE,
    payload: new TextEncoder().encode(payload),
    signatures: [],
  };
  return encodeEnvelope(addSignature(env, key(1)));
}

function rootError(f: () => unknown): BundleError {
  try {
    f();
  } catch (err) {
    if (err instanceof BundleError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('root keys', () => {
  it.each([
    ['the identity', IDENTITY, /small-order/],
    ['a point of order 4', ORDER_4, /small-order/],
    ['y = p', Y_EQUALS_P, /canonical/],
    ['the identity encoded as y = p + 1', IDENTITY_NON_CANONICAL, /canonical/],
    ['a mixed-order point', MIXED_ORDER, /prime-order subgroup/],
  ])('the parser refuses %s (root.invalid)', (_name, bad, message) => {
    expect(publicKeyProblem(bad)).toMatch(message);
    const err = rootError(() => loadTrustRoot(rootListing([publicKeyOf(key(1)), bad])));
    expect(err.reason).toBe('root.invalid');
    expect(err.detail).toMatch(message);
    expect(err.detail).toContain('keys[1].public');
  });

  it('the writer refuses them too, and a duplicate key says "duplicate"', () => {
    const content = { version: 1, expires: '2030-01-01T00:00:00Z', threshold: 1 };
    for (const bad of [IDENTITY, ORDER_4, MIXED_ORDER]) {
      const err = rootError(() =>
        createRootEnvelope({ ...content, publicKeys: [publicKeyOf(key(1)), bad] }),
      );
      expect(err.reason).toBe('root.invalid');
    }
    const pk = publicKeyOf(key(2));
    const dup = rootError(() => createRootEnvelope({ ...content, publicKeys: [pk, pk] }));
    expect(dup.reason).toBe('root.invalid');
    expect(dup.detail).toBe('keys[1] is a duplicate of another key');
  });

  it('accepts ordinary keys', () => {
    for (let n = 1; n < 20; n++) expect(publicKeyProblem(publicKeyOf(key(n)))).toBeUndefined();
    expect(loadTrustRoot(rootBytes({ keys: [1, 2, 3] }, [1, 2, 3])).keys).toHaveLength(3);
  });
});

describe('root validity window', () => {
  const year = 365.25 * 86_400_000;

  it('refuses a root valid for more than 10 years from now, configurably', () => {
    const root = pinnedTestRoot(); // expires 2030-01-01
    const now = Date.parse('2026-06-01T00:00:00Z');
    expect(() => checkRootExpiry(root, now, 0)).not.toThrow();
    expect(DEFAULT_MAX_ROOT_VALIDITY_MS).toBe(3653 * 86_400_000);
    const err = rootError(() => checkRootExpiry(root, now, 0, 3 * year));
    expect(err.reason).toBe('root.invalid');
    expect(err.detail).toMatch(/expires 2030-01-01T00:00:00Z, more than 1095 days from now/);
  });

  it('verifyBundle applies the window to the final root', async () => {
    await expect(
      verifyBundle(goodBundle(), { trustRoot: pinnedTestRoot(), now: NOW }),
    ).resolves.toBeDefined();
    await expect(
      verifyBundle(goodBundle(), {
        trustRoot: pinnedTestRoot(),
        now: NOW,
        maxRootValidityMs: year,
      }),
    ).rejects.toMatchObject({ reason: 'root.invalid' });
    const farRoot = loadTrustRoot(
      rootBytes({ keys: [1, 2, 3], threshold: 2, expires: '2040-01-01T00:00:00Z' }, [1, 2, 3]),
    );
    await expect(
      verifyBundle(goodBundle(), { trustRoot: farRoot, now: NOW }),
    ).rejects.toMatchObject({ reason: 'root.invalid' });
  });
});
