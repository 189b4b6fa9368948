/**
 * The simulated MCUboot's ECDSA P-256 verifier against signatures made by imgtool (Python
 * `cryptography`, i.e. OpenSSL) on the fixture images, and against every way of breaking them.
 */
import { describe, expect, it } from 'vitest';
import { parseMcubootImage } from '../../src/protocols/mcuboot/image.ts';
import { parseDerSignature, verifyP256 } from '../../src/sim/mcuboot/p256.ts';
import { validateSlot } from '../../src/sim/mcuboot/image-tools.ts';
import { fixture, publicKeyDer } from '../mcuboot/fixtures.ts';

const spki = publicKeyDer('ecdsa-p256');
const images = ['app-a-ecdsa-p256-2.0.1.bin', 'app-b-ecdsa-p256-seccnt3.bin'];

function signed(name: string) {
  const image = parseMcubootImage(fixture(name));
  return { digest: image.hash, signature: image.signatures[0]!.value };
}

describe('verifyP256', () => {
  it.each(images)('accepts imgtool’s signature on %s', (name) => {
    expect(verifyP256({ spki, ...signed(name) })).toBe(true);
  });

  it('refuses another digest, a changed r or s, another key, and malformed input', () => {
    const { digest, signature } = signed(images[0]!);
    const otherDigest = digest.slice();
    otherDigest[0]! ^= 1;
    expect(verifyP256({ spki, digest: otherDigest, signature })).toBe(false);
    const der = parseDerSignature(signature)!;
    expect(der.r > 0n && der.s > 0n).toBe(true);
    const badSig = signature.slice();
    badSig[signature.length - 1]! ^= 1; // last byte of s
    expect(verifyP256({ spki, digest, signature: badSig })).toBe(false);
    const badR = signature.slice();
    badR[6]! ^= 1;
    expect(verifyP256({ spki, digest, signature: badR })).toBe(false);
    const otherKey = spki.slice();
    otherKey[otherKey.length - 1]! ^= 1; // no longer on the curve
    expect(verifyP256({ spki: otherKey, digest, signature })).toBe(false);
    expect(verifyP256({ spki, digest: digest.subarray(0, 31), signature })).toBe(false);
    expect(verifyP256({ spki, digest, signature: signature.subarray(1) })).toBe(false);
    expect(verifyP256({ spki, digest, signature: new Uint8Array([0x30, 0x02, 0x02, 0x00]) })).toBe(
      false,
    );
  });

  it('the simulated MCUboot boots ECDSA images only with the right key', () => {
    const bytes = fixture(images[1]!);
    const slot = new Uint8Array(0x10000).fill(0xff);
    slot.set(bytes);
    const read = (off: number, len: number) => slot.slice(off, off + len);
    expect(validateSlot(read, slot.length, { keys: [{ kind: 'ecdsa-p256', spki }] }).ok).toBe(true);
    slot[bytes.length - 3]! ^= 0x40; // inside the signature TLV
    expect(validateSlot(read, slot.length, { keys: [{ kind: 'ecdsa-p256', spki }] })).toEqual({
      ok: false,
      reason: 'the signature does not verify',
    });
  });
});
