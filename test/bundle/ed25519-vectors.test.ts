/**
 * Our ed25519 wrapper against published vectors (sources in test/vectors/crypto/README.md).
 * Strict RFC 8032: every Wycheproof result must match and no ZIP-215 small-order case verifies.
 */
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.ts';
import { publicKeyOf, signMessage, verifySignature } from '../../src/bundle/ed25519.ts';
import rfc8032 from '../vectors/crypto/rfc8032-ed25519.json';
import speccheck from '../vectors/crypto/ed25519-speccheck-cases.json';
import wycheproof from '../vectors/crypto/wycheproof-ed25519_test.json';
import zip215 from '../vectors/crypto/zip215-small-order.json';

describe('RFC 8032 §7.1 vectors', () => {
  it.each(rfc8032.map((v, i) => [i + 1, v] as const))(
    'test %i: key, signature and verification',
    (_, v) => {
      const secret = fromHex(v.priv);
      const msg = fromHex(v.msg);
      expect(publicKeyOf(secret)).toEqual(fromHex(v.pub));
      expect(signMessage(msg, secret)).toEqual(fromHex(v.sig));
      expect(
        verifySignature({ signature: fromHex(v.sig), message: msg, publicKey: fromHex(v.pub) }),
      ).toBe(true);
    },
  );
});

describe('Wycheproof ed25519_test.json', () => {
  const tests = wycheproof.testGroups.flatMap((g) =>
    g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })),
  );

  it('has all 151 tests', () => expect(tests).toHaveLength(wycheproof.numberOfTests));

  it.each(tests.map((t) => [t.tcId, t.comment, t] as const))('tcId %i (%s)', (_, __, t) => {
    expect(t.result === 'valid' || t.result === 'invalid').toBe(true);
    const ok = verifySignature({
      signature: fromHex(t.sig),
      message: fromHex(t.msg),
      publicKey: fromHex(t.pk),
    });
    expect(ok).toBe(t.result === 'valid');
  });
});

describe('ZIP-215 small-order set', () => {
  const message = new TextEncoder().encode('Zcash');
  it('every case is valid under ZIP-215 rules, and none verifies strictly', () => {
    expect(zip215).toHaveLength(196);
    const accepted = zip215.filter((c) =>
      verifySignature({ signature: fromHex(c.sig_bytes), message, publicKey: fromHex(c.vk_bytes) }),
    );
    expect(zip215.every((c) => c.valid_zip215)).toBe(true);
    expect(accepted).toEqual([]);
  });
});

describe('ed25519-speccheck edge cases', () => {
  // Our expected outcome per case, following RFC 8032 §5.1.7 (cofactored equation allowed,
  // S < L required), §5.1.3 (canonical point encodings) and our extra rule: small-order public
  // keys are refused (as libsodium does).
  const expected: [boolean, string][] = [
    [false, '0: S = 0, small-order A and R — small-order key refused'],
    [false, '1: small-order A, mixed-order R — small-order key refused'],
    [true, '2: mixed-order A, small-order R — valid under RFC 8032'],
    [true, '3: mixed-order A and R, passes both equations'],
    [true, '4: passes the cofactored equation only (RFC 8032 allows it)'],
    [true, '5: passes the cofactored equation only, pre-reduced scalar'],
    [false, '6: S > L'],
    [false, '7: S much larger than L'],
    [false, '8: non-canonical R'],
    [false, '9: non-canonical R'],
    [false, '10: non-canonical A'],
    [false, '11: non-canonical A'],
  ];
  it.each(speccheck.map((c, i) => [expected[i]![1], c, expected[i]![0]] as const))(
    'case %s',
    (_, c, valid) => {
      const ok = verifySignature({
        signature: fromHex(c.signature),
        message: fromHex(c.message),
        publicKey: fromHex(c.pub_key),
      });
      expect(ok).toBe(valid);
    },
  );
});

describe('misuse never throws', () => {
  const good = rfc8032[1]!;
  it.each([
    ['short signature', fromHex(good.sig).slice(0, 63), fromHex(good.pub)],
    ['long signature', new Uint8Array(65), fromHex(good.pub)],
    ['short key', fromHex(good.sig), new Uint8Array(31)],
    ['all-zero key', fromHex(good.sig), new Uint8Array(32)],
    ['all-ones key', fromHex(good.sig), new Uint8Array(32).fill(0xff)],
  ])('%s → false', (_, signature, publicKey) => {
    expect(verifySignature({ signature, message: fromHex(good.msg), publicKey })).toBe(false);
  });

  it('leaves its inputs unmodified', () => {
    const sig = fromHex(good.sig);
    const msg = fromHex(good.msg);
    const pub = fromHex(good.pub);
    verifySignature({ signature: sig, message: msg, publicKey: pub });
    expect([sig, msg, pub]).toEqual([fromHex(good.sig), fromHex(good.msg), fromHex(good.pub)]);
  });
});
