/**
 * The MCUboot image format (MCUboot docs/design.md, "Image format"), read strictly: a 32-byte
 * little-endian header (magic 0x96f3b83d, load address, header size, protected TLV area size,
 * image size, flags, version major.minor.revision+build), the image, an optional protected TLV
 * area (magic 0x6908) and the TLV area (magic 0x6907). The SHA-256 TLV covers the header, the
 * image and the protected TLVs; it is what the SMP image state list calls the image's "hash".
 *
 * Anything the format does not allow is refused with a reason: wrong magic, sizes that do not
 * add up, TLV areas that do not end where they say, unknown TLV types, a hash TLV missing or
 * repeated, bytes after the TLV area (a padded image meant for a flash programmer), encrypted
 * images (their hash covers bytes this updater cannot see), and a hash that does not match.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex } from '../../core/bytes.ts';
import { VerificationError } from '../../core/errors.ts';

export const IMAGE_MAGIC = 0x96f3b83d;
const IMAGE_HEADER_SIZE = 32;
const TLV_INFO_MAGIC = 0x6907;
const TLV_PROT_INFO_MAGIC = 0x6908;

/** Header flags (design.md "Image header flags"; imgtool image.py IMAGE_F). */
const ImageFlag = {
  PIC: 0x01,
  ENCRYPTED_AES128: 0x04,
  ENCRYPTED_AES256: 0x08,
  NON_BOOTABLE: 0x10,
  RAM_LOAD: 0x20,
  ROM_FIXED: 0x100,
  COMPRESSED_LZMA1: 0x200,
  COMPRESSED_LZMA2: 0x400,
  COMPRESSED_ARM_THUMB: 0x800,
} as const;
const KNOWN_FLAGS = Object.values(ImageFlag).reduce((a, b) => a | b, 0);

/** TLV types (design.md "Image trailer TLV types"; imgtool image.py TLV_VALUES). */
export const Tlv = {
  KEYHASH: 0x01,
  PUBKEY: 0x02,
  SHA256: 0x10,
  SHA384: 0x11,
  SHA512: 0x12,
  RSA2048_PSS: 0x20,
  ECDSA224: 0x21,
  ECDSA_SIG: 0x22,
  RSA3072_PSS: 0x23,
  ED25519: 0x24,
  SIG_PURE: 0x25,
  ENC_RSA2048: 0x30,
  ENC_KW: 0x31,
  ENC_EC256: 0x32,
  ENC_X25519: 0x33,
  ENC_X25519_SHA512: 0x34,
  DEPENDENCY: 0x40,
  SEC_CNT: 0x50,
  BOOT_RECORD: 0x60,
  DECOMP_SIZE: 0x70,
  DECOMP_SHA: 0x71,
  DECOMP_SIGNATURE: 0x72,
  COMP_DEC_SIZE: 0x73,
  UUID_VID_IMGTOOL: 0x74,
  UUID_CID_IMGTOOL: 0x75,
  UUID_VID: 0x80,
  UUID_CID: 0x81,
} as const;

/** Types allowed in the protected area (hashed and signed) and in the unprotected one. */
const PROTECTED_TYPES = new Set<number>([
  Tlv.DEPENDENCY, Tlv.SEC_CNT, Tlv.BOOT_RECORD, Tlv.DECOMP_SIZE, Tlv.DECOMP_SHA,
  Tlv.DECOMP_SIGNATURE, Tlv.COMP_DEC_SIZE, Tlv.UUID_VID_IMGTOOL, Tlv.UUID_CID_IMGTOOL,
  Tlv.UUID_VID, Tlv.UUID_CID,
]); // prettier-ignore
const UNPROTECTED_TYPES = new Set<number>([
  Tlv.KEYHASH, Tlv.PUBKEY, Tlv.SHA256, Tlv.SHA384, Tlv.SHA512, Tlv.RSA2048_PSS, Tlv.ECDSA_SIG,
  Tlv.RSA3072_PSS, Tlv.ED25519, Tlv.SIG_PURE, Tlv.ENC_RSA2048, Tlv.ENC_KW, Tlv.ENC_EC256,
  Tlv.ENC_X25519, Tlv.ENC_X25519_SHA512,
]); // prettier-ignore
/** Vendor-reserved types: xxA0–xxFF for any high byte, up to 0xFFFE (design.md). */
function isVendorType(t: number): boolean {
  return (t & 0xff) >= 0xa0 && t <= 0xfffe;
}

type SignatureKind = 'ed25519' | 'ecdsa' | 'rsa2048' | 'rsa3072';
const SIGNATURE_TLVS: Record<number, SignatureKind> = {
  [Tlv.ED25519]: 'ed25519',
  [Tlv.ECDSA_SIG]: 'ecdsa',
  [Tlv.RSA2048_PSS]: 'rsa2048',
  [Tlv.RSA3072_PSS]: 'rsa3072',
};

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

interface TlvEntry {
  type: number;
  /** Offset of the value in the image. */
  offset: number;
  value: Uint8Array;
  protected: boolean;
}

/** A parsed, hash-checked MCUboot image. */
export interface McubootImage {
  loadAddress: number;
  headerSize: number;
  protectedTlvSize: number;
  /** Size of the executable part (after the header). */
  imageSize: number;
  flags: number;
  version: ImageVersion;
  /** The version as SMP servers print it: "1.2.3", or "1.2.3.4" with a build number. */
  versionText: string;
  /** The SHA-256 TLV: the image's "hash" in the SMP image state list. */
  hash: Uint8Array;
  keyHash?: Uint8Array;
  publicKey?: Uint8Array;
  signatures: { kind: SignatureKind; value: Uint8Array }[];
  securityCounter?: number;
  dependencies: { image: number; version: ImageVersion }[];
  tlvs: TlvEntry[];
  /** Bytes covered by the hash: header, image, protected TLV area. */
  signedLength: number;
  /** Total length, TLV area included. */
  totalLength: number;
}

/** Why an image was refused. */
export type ImageProblem =
  | 'header'
  | 'magic'
  | 'flags'
  | 'encrypted'
  | 'tlv'
  | 'hash-missing'
  | 'hash-mismatch'
  | 'trailing-bytes';

export class McubootImageError extends VerificationError {
  readonly problem: ImageProblem;
  constructor(problem: ImageProblem, message: string) {
    super(`Not a valid MCUboot image: ${message}.`, {
      hints: [
        'Use the signed image imgtool wrote (for Zephyr builds, zephyr.signed.bin), not the raw binary or a padded one.',
      ],
    });
    this.problem = problem;
  }
}

/** "1.2.3" or "1.2.3.4", as Zephyr's `img_mgmt_ver_str` and MCUboot's `bs_list_img_ver` print it. */
function formatImageVersion(v: ImageVersion): string {
  const base = `${v.major}.${v.minor}.${v.revision}`;
  return v.build === 0 ? base : `${base}.${v.build}`;
}

/**
 * Parses an image and checks its SHA-256 TLV.
 * @throws {McubootImageError} with the problem found.
 * @example const { versionText, hash } = parseMcubootImage(bytes)
 */
export function parseMcubootImage(
  bytes: Uint8Array,
  options: { checkHash?: boolean } = {},
): McubootImage {
  if (!(bytes instanceof Uint8Array))
    throw new TypeError('parseMcubootImage: bytes must be a Uint8Array');
  if (bytes.length < IMAGE_HEADER_SIZE) {
    throw new McubootImageError(
      'header',
      `${bytes.length} bytes is shorter than the 32-byte header`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== IMAGE_MAGIC) {
    throw new McubootImageError(
      'magic',
      `the header magic is 0x${magic.toString(16).padStart(8, '0')}, not 0x96f3b83d`,
    );
  }
  const loadAddress = dv.getUint32(4, true);
  const headerSize = dv.getUint16(8, true);
  const protectedTlvSize = dv.getUint16(10, true);
  const imageSize = dv.getUint32(12, true);
  const flags = dv.getUint32(16, true);
  const version: ImageVersion = {
    major: dv.getUint8(20),
    minor: dv.getUint8(21),
    revision: dv.getUint16(22, true),
    build: dv.getUint32(24, true),
  };
  if (headerSize < IMAGE_HEADER_SIZE) {
    throw new McubootImageError('header', `the header size ${headerSize} is below 32`);
  }
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new McubootImageError(
      'flags',
      `unknown header flags 0x${(flags & ~KNOWN_FLAGS).toString(16)}`,
    );
  }
  if (flags & (ImageFlag.ENCRYPTED_AES128 | ImageFlag.ENCRYPTED_AES256)) {
    throw new McubootImageError(
      'encrypted',
      'the image is encrypted, so its hash cannot be checked here',
    );
  }
  const signedLength = headerSize + imageSize + protectedTlvSize;
  if (signedLength + 4 > bytes.length) {
    throw new McubootImageError(
      'header',
      `header ${headerSize} + image ${imageSize} + protected TLVs ${protectedTlvSize} bytes and a TLV area do not fit in ${bytes.length} bytes`,
    );
  }
  const tlvs: TlvEntry[] = [];
  const protStart = headerSize + imageSize;
  if (protectedTlvSize > 0) {
    readArea(bytes, dv, protStart, TLV_PROT_INFO_MAGIC, true, tlvs);
    const tot = dv.getUint16(protStart + 2, true);
    if (tot !== protectedTlvSize) {
      throw new McubootImageError(
        'tlv',
        `the protected TLV area says ${tot} bytes, the header ${protectedTlvSize}`,
      );
    }
  } else if (dv.getUint16(protStart, true) === TLV_PROT_INFO_MAGIC) {
    throw new McubootImageError('tlv', 'a protected TLV area that the header does not count');
  }
  const end = readArea(bytes, dv, signedLength, TLV_INFO_MAGIC, false, tlvs);
  if (end !== bytes.length) {
    throw new McubootImageError(
      'trailing-bytes',
      `${bytes.length - end} bytes follow the TLV area (a padded image?)`,
    );
  }
  const image: McubootImage = {
    loadAddress,
    headerSize,
    protectedTlvSize,
    imageSize,
    flags,
    version,
    versionText: formatImageVersion(version),
    hash: new Uint8Array(0),
    signatures: [],
    dependencies: [],
    tlvs,
    signedLength,
    totalLength: end,
  };
  interpret(image, tlvs);
  if (options.checkHash ?? true) {
    const actual = sha256(bytes.subarray(0, signedLength));
    if (!equalBytes(actual, image.hash)) {
      throw new McubootImageError(
        'hash-mismatch',
        `its SHA-256 TLV is ${toHex(image.hash)} but the image hashes to ${toHex(actual)}`,
      );
    }
  }
  return image;
}

/** Reads one TLV area at `start`; returns where it ends. */
function readArea(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  magic: number,
  prot: boolean,
  out: TlvEntry[],
): number {
  const name = prot ? 'protected TLV area' : 'TLV area';
  if (start + 4 > bytes.length) throw new McubootImageError('tlv', `the ${name} is missing`);
  const found = dv.getUint16(start, true);
  if (found !== magic) {
    throw new McubootImageError(
      'tlv',
      `the ${name} magic is 0x${found.toString(16)}, not 0x${magic.toString(16)}`,
    );
  }
  const tot = dv.getUint16(start + 2, true);
  const end = start + tot;
  if (tot < 4 || end > bytes.length)
    throw new McubootImageError('tlv', `the ${name} size ${tot} does not fit`);
  let at = start + 4;
  while (at < end) {
    if (at + 4 > end)
      throw new McubootImageError('tlv', `a TLV header runs past the end of the ${name}`);
    const type = dv.getUint16(at, true);
    const len = dv.getUint16(at + 2, true);
    if (at + 4 + len > end)
      throw new McubootImageError(
        'tlv',
        `TLV 0x${type.toString(16)} runs past the end of the ${name}`,
      );
    const allowed = prot ? PROTECTED_TYPES : UNPROTECTED_TYPES;
    if (!allowed.has(type) && !isVendorType(type)) {
      throw new McubootImageError(
        'tlv',
        `TLV type 0x${type.toString(16)} is not allowed in the ${name}`,
      );
    }
    out.push({
      type,
      offset: at + 4,
      value: bytes.subarray(at + 4, at + 4 + len),
      protected: prot,
    });
    at += 4 + len;
  }
  return end;
}

const FIXED_LENGTHS: Record<number, number> = {
  [Tlv.KEYHASH]: 32,
  [Tlv.SHA256]: 32,
  [Tlv.ED25519]: 64,
  [Tlv.RSA2048_PSS]: 256,
  [Tlv.RSA3072_PSS]: 384,
  [Tlv.SEC_CNT]: 4,
  [Tlv.DEPENDENCY]: 12,
};

function interpret(image: McubootImage, tlvs: readonly TlvEntry[]): void {
  let hashes = 0;
  for (const t of tlvs) {
    const want = FIXED_LENGTHS[t.type];
    if (want !== undefined && t.value.length !== want) {
      throw new McubootImageError(
        'tlv',
        `TLV 0x${t.type.toString(16)} has ${t.value.length} bytes, not ${want}`,
      );
    }
    const dv = new DataView(t.value.buffer, t.value.byteOffset, t.value.byteLength);
    switch (t.type) {
      case Tlv.SHA256:
        hashes++;
        image.hash = t.value;
        break;
      case Tlv.SHA384:
      case Tlv.SHA512:
        throw new McubootImageError(
          'hash-missing',
          'the image is hashed with SHA-384/512; only SHA-256 images are supported',
        );
      case Tlv.KEYHASH:
        image.keyHash = t.value;
        break;
      case Tlv.PUBKEY:
        image.publicKey = t.value;
        break;
      case Tlv.SEC_CNT:
        image.securityCounter = dv.getUint32(0, true);
        break;
      case Tlv.DEPENDENCY:
        image.dependencies.push({
          image: dv.getUint8(0),
          version: {
            major: dv.getUint8(4),
            minor: dv.getUint8(5),
            revision: dv.getUint16(6, true),
            build: dv.getUint32(8, true),
          },
        });
        break;
      case Tlv.ECDSA_SIG:
        // DER SEQUENCE of two INTEGERs: 70–72 bytes for P-256 (68 with imgtool --pad-sig variants), up to 104 for P-384.
        if (t.value.length < 8 || t.value.length > 104 || t.value[0] !== 0x30) {
          throw new McubootImageError('tlv', 'the ECDSA signature TLV is not a DER sequence');
        }
        break;
      default:
        break;
    }
    const kind = SIGNATURE_TLVS[t.type];
    if (kind) image.signatures.push({ kind, value: t.value });
  }
  if (hashes === 0) throw new McubootImageError('hash-missing', 'it has no SHA-256 TLV');
  if (hashes > 1) throw new McubootImageError('tlv', 'it has more than one SHA-256 TLV');
}
