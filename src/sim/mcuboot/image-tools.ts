/**
 * MCUboot images for the simulated boards: building ed25519-signed images the way imgtool does
 * (MCUboot docs/design.md "Image format"; imgtool `sign`: header, body, protected TLVs with the
 * security counter, then SHA256, KEYHASH and ED25519 TLVs, the signature over the SHA-256
 * digest), and validating a slot the way MCUboot's `bootutil_img_validate` does before it boots
 * or swaps an image: header magic, SHA-256 TLV, and a signature by a configured key.
 * ECDSA P-256 signatures are checked with p256.ts, over the same SHA-256 digest.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes } from '../../core/bytes.ts';
import { publicKeyOf, signMessage, verifySignature } from '../../bundle/ed25519.ts';
import { verifyP256 } from './p256.ts';
import {
  IMAGE_MAGIC,
  McubootImageError,
  parseMcubootImage,
  Tlv,
  type ImageVersion,
  type McubootImage,
} from '../../protocols/mcuboot/image.ts';

/** ed25519 SubjectPublicKeyInfo prefix (RFC 8410 §4): imgtool hashes this DER form for KEYHASH. */
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/** A public key the simulated MCUboot trusts (built into its image, as `sign-*.c` keys are). */
export type TrustedKey =
  | { kind: 'ed25519'; publicKey: Uint8Array }
  /** DER SubjectPublicKeyInfo of a P-256 key, as imgtool's `getpub` prints it. */
  | { kind: 'ecdsa-p256'; spki: Uint8Array };

/** The DER form imgtool hashes for an ed25519 key. */
function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  return concatBytes(ED25519_SPKI_PREFIX, publicKey);
}

function keyHashOf(key: TrustedKey): Uint8Array {
  return sha256(key.kind === 'ed25519' ? ed25519Spki(key.publicKey) : key.spki);
}

export interface BuildImageOptions {
  version: ImageVersion;
  body: Uint8Array;
  /** 32-byte ed25519 secret key; omit for an image with the hash TLV only. */
  secretKey?: Uint8Array;
  securityCounter?: number;
  headerSize?: number;
  loadAddress?: number;
  flags?: number;
}

/** Builds a signed image as `imgtool sign --header-size H --pad-header -k key.pem` would. */
export function buildMcubootImage(o: BuildImageOptions): Uint8Array {
  const headerSize = o.headerSize ?? 0x200;
  const prot =
    o.securityCounter === undefined
      ? new Uint8Array(0)
      : tlvArea(0x6908, [[Tlv.SEC_CNT, u32(o.securityCounter)]]);
  const header = new Uint8Array(headerSize);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, IMAGE_MAGIC, true);
  dv.setUint32(4, o.loadAddress ?? 0, true);
  dv.setUint16(8, headerSize, true);
  dv.setUint16(10, prot.length, true);
  dv.setUint32(12, o.body.length, true);
  dv.setUint32(16, o.flags ?? 0, true);
  dv.setUint8(20, o.version.major);
  dv.setUint8(21, o.version.minor);
  dv.setUint16(22, o.version.revision, true);
  dv.setUint32(24, o.version.build, true);
  const signed = concatBytes(header, o.body, prot);
  const digest = sha256(signed);
  const tlvs: [number, Uint8Array][] = [[Tlv.SHA256, digest]];
  if (o.secretKey) {
    const pub = publicKeyOf(o.secretKey);
    tlvs.push([Tlv.KEYHASH, sha256(ed25519Spki(pub))]);
    tlvs.push([Tlv.ED25519, signMessage(digest, o.secretKey)]);
  }
  return concatBytes(signed, tlvArea(0x6907, tlvs));
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function tlvArea(magic: number, entries: readonly [number, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 4;
  for (const [type, value] of entries) {
    const h = new Uint8Array(4);
    const dv = new DataView(h.buffer);
    dv.setUint16(0, type, true);
    dv.setUint16(2, value.length, true);
    parts.push(h, value);
    size += 4 + value.length;
  }
  const info = new Uint8Array(4);
  new DataView(info.buffer).setUint16(0, magic, true);
  new DataView(info.buffer).setUint16(2, size, true);
  return concatBytes(info, ...parts);
}

export type SlotVerdict =
  { ok: true; image: McubootImage; bytes: Uint8Array } | { ok: false; reason: string };

export interface ValidateOptions {
  keys: readonly TrustedKey[];
  /** Accept an image with no signature TLV (MCUboot built without signature checking). */
  allowUnsigned?: boolean;
}

/**
 * Validates the image at the start of a slot (`readSlot(offset, length)` reads slot bytes).
 * An erased slot, a bad header or hash, or a signature no configured key made: not bootable.
 */
export function validateSlot(
  readSlot: (offset: number, length: number) => Uint8Array,
  slotSize: number,
  options: ValidateOptions,
): SlotVerdict {
  const head = readSlot(0, 32);
  const hv = new DataView(head.buffer, head.byteOffset, 32);
  if (hv.getUint32(0, true) !== IMAGE_MAGIC) return { ok: false, reason: 'no image header' };
  const hdrSize = hv.getUint16(8, true);
  const protSize = hv.getUint16(10, true);
  const imgSize = hv.getUint32(12, true);
  const tlvAt = hdrSize + imgSize + protSize;
  if (tlvAt + 4 > slotSize) return { ok: false, reason: 'the image does not fit the slot' };
  const info = readSlot(tlvAt, 4);
  const tot = info[2]! | (info[3]! << 8);
  if (tlvAt + tot > slotSize) return { ok: false, reason: 'the TLV area does not fit the slot' };
  const bytes = readSlot(0, tlvAt + tot);
  let image: McubootImage;
  try {
    image = parseMcubootImage(bytes);
  } catch (err) {
    return {
      ok: false,
      reason: err instanceof McubootImageError ? err.message : 'unreadable image',
    };
  }
  const sig = checkSignature(image, options);
  return sig === undefined ? { ok: true, image, bytes } : { ok: false, reason: sig };
}

/** undefined when a configured key signed the image; else why not. */
function checkSignature(image: McubootImage, options: ValidateOptions): string | undefined {
  if (image.signatures.length === 0) {
    return options.allowUnsigned ? undefined : 'the image is not signed';
  }
  for (const key of options.keys) {
    const want = keyHashOf(key);
    const named =
      (image.keyHash && equalBytes(image.keyHash, want)) ||
      (image.publicKey && equalBytes(sha256(image.publicKey), want));
    if (!named) continue;
    for (const s of image.signatures) {
      if (key.kind === 'ed25519' && s.kind === 'ed25519') {
        if (verifySignature({ signature: s.value, message: image.hash, publicKey: key.publicKey }))
          return undefined;
      }
      if (key.kind === 'ecdsa-p256' && s.kind === 'ecdsa') {
        if (verifyP256({ spki: key.spki, digest: image.hash, signature: s.value }))
          return undefined;
      }
    }
    return 'the signature does not verify';
  }
  return 'no configured key signed the image';
}
