/**
 * The MCUboot image parser against images made by MCUboot's own imgtool (2.4.0): every field
 * imgtool reports (version, digest) must come out the same, and every way of breaking an image
 * is refused with its reason.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import {
  McubootImageError,
  parseMcubootImage,
  Tlv,
  type ImageProblem,
} from '../../src/protocols/mcuboot/image.ts';
import { expected, fixture, publicKeyDer, SIGNED_IMAGES } from './fixtures.ts';

function problemOf(bytes: Uint8Array): ImageProblem | undefined {
  try {
    parseMcubootImage(bytes);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(McubootImageError);
    return (err as McubootImageError).problem;
  }
}

function setU16(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);
}
function setU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
}

describe('parseMcubootImage on imgtool images', () => {
  it.each(SIGNED_IMAGES)('%s: version and hash as imgtool reads them', (name) => {
    const bytes = fixture(name);
    const before = bytes.slice();
    const image = parseMcubootImage(bytes);
    const want = expected[name]!;
    const [core, build] = want.version.split('+');
    expect(image.versionText).toBe(build === '0' ? core : `${core}.${build}`);
    expect(toHex(image.hash)).toBe(want.digest);
    expect(image.headerSize).toBe(0x200);
    expect(image.totalLength).toBe(bytes.length);
    expect(bytes).toEqual(before); // input left unmodified
  });

  it('reads the ed25519 signature, key hash and no security counter', () => {
    const image = parseMcubootImage(fixture('app-a-ed25519-1.2.3.bin'));
    expect(image.version).toEqual({ major: 1, minor: 2, revision: 3, build: 4 });
    expect(image.signatures.map((s) => s.kind)).toEqual(['ed25519']);
    expect(image.keyHash).toEqual(sha256(publicKeyDer('ed25519')));
    expect(image.securityCounter).toBeUndefined();
    expect(image.protectedTlvSize).toBe(0);
    expect(image.imageSize).toBe(3000);
  });

  it('reads the security counter from the protected TLV area', () => {
    expect(parseMcubootImage(fixture('app-b-ed25519-seccnt7.bin')).securityCounter).toBe(7);
    const ecdsa = parseMcubootImage(fixture('app-b-ecdsa-p256-seccnt3.bin'));
    expect(ecdsa.securityCounter).toBe(3);
    expect(ecdsa.signatures.map((s) => s.kind)).toEqual(['ecdsa']);
    expect(ecdsa.keyHash).toEqual(sha256(publicKeyDer('ecdsa-p256')));
    expect(ecdsa.tlvs.filter((t) => t.protected).map((t) => t.type)).toEqual([Tlv.SEC_CNT]);
  });

  it('reads a dependency of a multi-image pair', () => {
    const app = parseMcubootImage(fixture('multi-app-1.0.0.bin'));
    expect(app.dependencies).toEqual([
      { image: 1, version: { major: 1, minor: 0, revision: 0, build: 0 } },
    ]);
    expect(parseMcubootImage(fixture('multi-net-1.0.0.bin')).dependencies).toEqual([]);
  });

  it('reads a full public key and an image without signature', () => {
    expect(parseMcubootImage(fixture('app-a-ed25519-fullkey.bin')).publicKey).toEqual(
      publicKeyDer('ed25519'),
    );
    const unsigned = parseMcubootImage(fixture('app-a-unsigned-0.9.0.bin'));
    expect(unsigned.signatures).toEqual([]);
    expect(unsigned.keyHash).toBeUndefined();
  });
});

describe('parseMcubootImage refuses broken images', () => {
  const good = (): Uint8Array => fixture('app-b-ed25519-seccnt7.bin');

  it('a raw binary (wrong magic) and a short file', () => {
    expect(problemOf(fixture('app-a.bin'))).toBe('magic');
    expect(problemOf(good().subarray(0, 20))).toBe('header');
  });

  it('one flipped byte anywhere in the signed part: hash mismatch', () => {
    for (const at of [0x30, 0x200, 0x1000, 0x1587]) {
      const b = good();
      b[at]! ^= 0x01;
      expect(problemOf(b), `byte ${at}`).toBe('hash-mismatch');
    }
  });

  it('header sizes that do not add up', () => {
    const small = good();
    setU16(small, 8, 16);
    expect(problemOf(small)).toBe('header');
    const big = good();
    setU32(big, 12, 0x10000);
    expect(problemOf(big)).toBe('header');
  });

  it('protected TLV area size mismatch, missing area, wrong magic', () => {
    const b = good();
    setU16(b, 10, 0); // header no longer counts the protected area
    expect(problemOf(b)).toBe('tlv');
    const c = good();
    setU16(c, 0x1588, 0x6907);
    expect(problemOf(c)).toBe('tlv');
  });

  it('unknown and encrypted flags', () => {
    const b = good();
    setU32(b, 16, 0x8000);
    expect(problemOf(b)).toBe('flags');
    const e = good();
    setU32(e, 16, 0x04);
    expect(problemOf(e)).toBe('encrypted');
  });

  it('trailing bytes (a padded image) and a truncated TLV area', () => {
    const b = good();
    const padded = new Uint8Array(b.length + 16).fill(0xff);
    padded.set(b);
    expect(problemOf(padded)).toBe('trailing-bytes');
    expect(problemOf(b.subarray(0, b.length - 1))).toBe('tlv');
  });

  it('an unknown TLV type, a TLV of the wrong length, no hash, two hashes', () => {
    // The unprotected area of app-a-ed25519-1.2.3.bin: SHA256 at 0xdbc, KEYHASH, ED25519.
    const base = fixture('app-a-ed25519-1.2.3.bin');
    const at = 0x200 + 3000;
    expect(new DataView(base.buffer).getUint16(at, true)).toBe(0x6907);
    const unknown = base.slice();
    setU16(unknown, at + 4, 0x0099);
    expect(problemOf(unknown)).toBe('tlv');
    const noHash = base.slice();
    setU16(noHash, at + 4, 0x00a0); // vendor type instead of SHA256
    expect(problemOf(noHash)).toBe('hash-missing');
    const twoHashes = base.slice();
    setU16(twoHashes, at + 4 + 36, Tlv.SHA256); // KEYHASH relabelled as a second SHA256
    expect(problemOf(twoHashes)).toBe('tlv');
    const wrongLength = base.slice();
    setU16(wrongLength, at + 4 + 36, Tlv.SEC_CNT);
    expect(problemOf(wrongLength)).toBe('tlv');
  });

  it('checkHash: false skips only the hash comparison', () => {
    const b = good();
    b[0x300]! ^= 0xff;
    expect(parseMcubootImage(b, { checkHash: false }).securityCounter).toBe(7);
  });
});
