/**
 * The release manifest (docs/bundle-format.md, "Manifest"): what a bundle contains and where
 * each image goes, for which boards, with which anti-rollback counter and validity window. It is
 * the DSSE payload of type `application/vnd.webflash.manifest+json`, read with the strict JSON
 * reader only after its signatures were verified. Unknown or missing fields are refused; the
 * schema version (`schema`) changes when fields change.
 */
import {
  hexPattern,
  readArray,
  readInt,
  readObject,
  readString,
  readTimestamp,
} from './_schema.ts';
import { BundleError, reject } from './errors.ts';
import { plainTargets } from './plain-targets.ts';
import { parseStrictJson } from './strict-json.ts';

/** Bootloader protocols a target may name; the same ids as `ProtocolId` in src/protocols/driver.ts. */
export const PROTOCOL_IDS = [
  'esp-serial',
  'stm32-usart',
  'dfu',
  'dfuse',
  'avr-stk500v1',
  'avr-stk500v2',
  'avr109',
  'mcuboot-smp',
] as const;
export type ProtocolId = (typeof PROTOCOL_IDS)[number];

/** Largest manifest payload accepted, in bytes. */
export const MAX_MANIFEST_BYTES = 256 * 1024;
/** Largest single image, in bytes. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
/** Highest security counter. */
const MAX_SECURITY_COUNTER = 0xffff_ffff;

/** Semantic Versioning 2.0.0, the regular expression suggested at semver.org (FAQ). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** Product ids and board ids: lower-case letters, digits, `.`, `_`, `-`; 1–64 characters. */
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Chip ids as in `DeviceIdentity.chip`: "esp32s3", "stm32f4". */
const CHIP = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Image names double as container entry names: no `/`, `\`, leading dot or control characters. */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What a target may declare it writes (docs/bundle-format.md, "Write intent"). */
const WRITE_KINDS = ['bootloader', 'partitions', 'app', 'data'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/**
 * Address ranges a target may write only when it declares the matching intent. ESP: everything
 * below the default partition-table offset 0x8000 is the second-stage bootloader's region
 * (ESP-IDF "Partition Tables": the table sits at 0x8000; the bootloader at 0x1000 on ESP32 and
 * ESP32-S2, at 0x0 on ESP32-S3 and ESP32-C3), and a broken bootloader bricks the board.
 */
export const PROTECTED_RANGES: Partial<
  Record<ProtocolId, readonly { kind: WriteKind; start: number; end: number; what: string }[]>
> = {
  'esp-serial': [
    { kind: 'bootloader', start: 0, end: 0x8000, what: 'the bootloader region (below 0x8000)' },
  ],
};

/**
 * One image of one target. Exactly one of `address` (flash offset) or `slot` (DFU alt setting;
 * for 'mcuboot-smp' the MCUboot image number).
 */
export interface ManifestImage {
  readonly name: string;
  readonly address?: number;
  readonly slot?: number;
  readonly size: number;
  /** Lower-case hex SHA-256 of the image bytes. */
  readonly sha256: string;
}

/** The USB identity of a target (docs/bundle-format.md, "Manifest"). */
export interface ManifestUsbIds {
  readonly vendorId: number;
  readonly productId: number;
  /** Only for protocol 'dfu': the product id in DFU mode (same vendor id). */
  readonly dfuProductId?: number;
}

/** A board this release applies to and what to write there. */
export interface ManifestTarget {
  readonly chip: string;
  readonly protocol: ProtocolId;
  /** Optional board id, for products that share a chip. */
  readonly board?: string;
  /**
   * USB ids the board enumerates with, when the target should be matched on them. For a 'dfu'
   * target, `dfuProductId` is the product id the device has in its DFU mode (DFU 1.1 §5.1: after
   * DFU_DETACH it re-enumerates, often with another product id), so a device left in DFU mode
   * by a failed update still matches.
   */
  readonly usb?: ManifestUsbIds;
  /**
   * What the release writes on this target, declared by the publisher. Required to include
   * the kind of every protected range an image touches (`PROTECTED_RANGES`).
   */
  readonly writes?: readonly WriteKind[];
  /**
   * Only for protocol 'mcuboot-smp': who confirms the new image once MCUboot has started it as
   * a test — this updater ('host', the default) or the application itself ('application').
   */
  readonly confirm?: 'host' | 'application';
  readonly images: readonly ManifestImage[];
}

/** A verified, parsed manifest. Deeply frozen. */
export interface Manifest {
  readonly schema: 1;
  readonly product: string;
  /** Semantic version of the release, for people. */
  readonly version: string;
  /** Anti-rollback counter: a release may not be replaced by one with a lower counter. */
  readonly securityCounter: number;
  /** RFC 3339 UTC. */
  readonly created: string;
  readonly expires: string;
  readonly createdMs: number;
  readonly expiresMs: number;
  readonly targets: readonly ManifestTarget[];
  readonly notes: string;
}

/** The manifest as a publisher writes it (timestamps as text, no derived fields). */
export type ManifestContent = Omit<Manifest, 'createdMs' | 'expiresMs' | 'schema'>;

const USES_SLOT: ReadonlySet<ProtocolId> = new Set(['dfu', 'mcuboot-smp']);

/**
 * Parses verified manifest payload bytes: strict JSON, then the schema, then consistency
 * (image placement per protocol, overlaps, one meaning per image name).
 * @throws {BundleError} `json.*` or `manifest.invalid`.
 */
export function parseManifest(payload: Uint8Array): Manifest {
  const json = parseStrictJson(payload, { maxBytes: MAX_MANIFEST_BYTES, maxDepth: 6 });
  const o = readObject(json, '', {
    required: [
      'schema',
      'product',
      'version',
      'securityCounter',
      'created',
      'expires',
      'targets',
      'notes',
    ],
  });
  readInt(o, 'schema', '', 1, 1);
  const createdMs = readTimestamp(o, 'created', '');
  const expiresMs = readTimestamp(o, 'expires', '');
  const manifest: Manifest = {
    schema: 1,
    product: readString(o, 'product', '', { pattern: ID, what: 'a product id like "acme-sensor"' }),
    version: readString(o, 'version', '', {
      pattern: SEMVER,
      maxLength: 64,
      what: 'a semantic version like 1.4.2',
    }),
    securityCounter: readInt(o, 'securityCounter', '', 0, MAX_SECURITY_COUNTER),
    created: o['created'] as string,
    expires: o['expires'] as string,
    createdMs,
    expiresMs,
    targets: readArray(o, 'targets', '', 1, 32).map((t, i) => readTarget(t, `targets[${i}]`)),
    notes: readString(o, 'notes', '', { maxLength: 16 * 1024 }),
  };
  if (expiresMs <= createdMs) throw reject('manifest.invalid', 'expires is not after created');
  checkConsistency(manifest);
  return deepFreeze(manifest);
}

function readTarget(v: Parameters<typeof readObject>[0], path: string): ManifestTarget {
  const t = readObject(v, path, {
    required: ['chip', 'protocol', 'images'],
    optional: ['board', 'usb', 'writes', 'confirm'],
  });
  const protocol = readString(t, 'protocol', path, {
    pattern: new RegExp(`^(${PROTOCOL_IDS.join('|')})$`),
    what: `one of ${PROTOCOL_IDS.join(', ')}`,
  }) as ProtocolId;
  const target: {
    chip: string;
    protocol: ProtocolId;
    board?: string;
    usb?: ManifestUsbIds;
    writes?: WriteKind[];
    confirm?: 'host' | 'application';
    images: ManifestImage[];
  } = {
    chip: readString(t, 'chip', path, { pattern: CHIP, what: 'a chip id like "esp32s3"' }),
    protocol,
    images: readArray(t, 'images', path, 1, 32).map((im, j) =>
      readImage(im, `${path}.images[${j}]`, protocol),
    ),
  };
  if (Object.hasOwn(t, 'board'))
    target.board = readString(t, 'board', path, { pattern: ID, what: 'a board id' });
  if (Object.hasOwn(t, 'confirm')) {
    if (protocol !== 'mcuboot-smp') {
      throw reject('json.schema', `${path}.confirm is only for protocol mcuboot-smp`);
    }
    target.confirm = readString(t, 'confirm', path, {
      pattern: /^(host|application)$/,
      what: '"host" or "application"',
    }) as 'host' | 'application';
  }
  if (Object.hasOwn(t, 'usb')) {
    const at = `${path}.usb`;
    // Only a DFU 1.1 device changes its identity for the update (DFU 1.1 §5.1); elsewhere the
    // member is unknown, as any other would be.
    const u = readObject(t['usb'], at, {
      required: ['vendorId', 'productId'],
      optional: protocol === 'dfu' ? ['dfuProductId'] : [],
    });
    target.usb = {
      vendorId: readInt(u, 'vendorId', at, 0, 0xffff),
      productId: readInt(u, 'productId', at, 0, 0xffff),
      ...(Object.hasOwn(u, 'dfuProductId')
        ? { dfuProductId: readInt(u, 'dfuProductId', at, 0, 0xffff) }
        : {}),
    };
  }
  if (Object.hasOwn(t, 'writes')) {
    const kinds = readArray(t, 'writes', path, 1, WRITE_KINDS.length).map((k, n) => {
      if (typeof k === 'string' && (WRITE_KINDS as readonly string[]).includes(k))
        return k as WriteKind;
      const field = `${path}.writes[${n}]`;
      const problem = `must be one of ${WRITE_KINDS.join(', ')}`;
      throw new BundleError('json.schema', `${field} ${problem}`, { field });
    });
    if (new Set(kinds).size !== kinds.length)
      throw reject('manifest.invalid', `${path}.writes lists a kind twice`);
    target.writes = kinds;
  }
  return target;
}

function readImage(
  v: Parameters<typeof readObject>[0],
  path: string,
  protocol: ProtocolId,
): ManifestImage {
  const placement = USES_SLOT.has(protocol) ? 'slot' : 'address';
  const im = readObject(v, path, { required: ['name', placement, 'size', 'sha256'] });
  const image: { name: string; size: number; sha256: string; address?: number; slot?: number } = {
    name: readString(im, 'name', path, {
      pattern: IMAGE_NAME,
      what: 'a file name without slashes',
    }),
    size: readInt(im, 'size', path, 1, MAX_IMAGE_BYTES),
    sha256: readString(im, 'sha256', path, {
      pattern: hexPattern(32),
      what: '64 lower-case hex digits',
    }),
  };
  if (placement === 'slot') image.slot = readInt(im, 'slot', path, 0, 255);
  else image.address = readInt(im, 'address', path, 0, 0xffff_ffff);
  return image;
}

function checkConsistency(m: Manifest): void {
  const byName = new Map<string, ManifestImage>();
  const targetKeys = new Set<string>();
  for (const [i, t] of m.targets.entries()) {
    const key = JSON.stringify([
      t.chip,
      t.protocol,
      t.board ?? '',
      t.usb?.vendorId ?? -1,
      t.usb?.productId ?? -1,
    ]);
    if (targetKeys.has(key))
      throw reject('manifest.invalid', `targets[${i}] repeats an earlier target`);
    targetKeys.add(key);
    const names = new Set<string>();
    const placed: { start: number; end: number; name: string }[] = [];
    for (const im of t.images) {
      if (names.has(im.name))
        throw reject('manifest.invalid', `targets[${i}] lists "${im.name}" twice`);
      names.add(im.name);
      const same = byName.get(im.name);
      if (same && (same.size !== im.size || same.sha256 !== im.sha256)) {
        throw reject('manifest.invalid', `"${im.name}" has two different sizes or hashes`);
      }
      byName.set(im.name, im);
      const start = im.address ?? im.slot ?? 0;
      const end = im.address !== undefined ? im.address + im.size : start + 1;
      if (im.address !== undefined && end > 0x1_0000_0000) {
        throw reject('manifest.invalid', `"${im.name}" runs past the 4 GiB address space`);
      }
      for (const range of PROTECTED_RANGES[t.protocol] ?? []) {
        if (im.address === undefined || !(im.address < range.end && range.start < end)) continue;
        if (t.writes?.includes(range.kind)) continue;
        throw reject(
          'manifest.invalid',
          `targets[${i}]: "${im.name}" writes ${range.what}; "writes" must list "${range.kind}"`,
        );
      }
      const hit = placed.find((p) => start < p.end && p.start < end);
      if (hit)
        throw reject('manifest.invalid', `targets[${i}]: "${im.name}" overlaps "${hit.name}"`);
      placed.push({ start, end, name: im.name });
    }
  }
}

/**
 * The distinct images of a manifest (by name, in order of first appearance): the entries its
 * bundle must contain, each exactly once.
 */
export function declaredImages(m: Manifest): ReadonlyMap<string, { size: number; sha256: string }> {
  const out = new Map<string, { size: number; sha256: string }>();
  for (const t of m.targets) {
    for (const im of t.images)
      if (!out.has(im.name)) out.set(im.name, { size: im.size, sha256: im.sha256 });
  }
  return out;
}

/**
 * Serialises manifest content as compact JSON bytes with a fixed member order, and checks that
 * the result parses (a publisher never signs what a verifier would refuse).
 * @throws {BundleError} when the content does not satisfy the schema.
 */
export function encodeManifestPayload(content: ManifestContent): Uint8Array {
  const doc = {
    schema: 1,
    product: content.product,
    version: content.version,
    securityCounter: content.securityCounter,
    created: content.created,
    expires: content.expires,
    targets: plainTargets(content.targets),
    notes: content.notes,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  parseManifest(bytes);
  return bytes;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
