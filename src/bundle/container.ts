/**
 * The bundle container (docs/bundle-format.md, "Container"): one file, read front to back once.
 *
 *     magic    8 bytes  89 57 46 42 0D 0A 1A 0A   ("\x89WFB\r\n\x1a\n")
 *     format   1 byte   01
 *     records  kind u8 | name length u8 | name (ASCII) | data length u32 LE | data
 *
 * Records come in a fixed order: zero or more trust roots (kind 1, name = the root's version in
 * decimal, consecutive), exactly one manifest envelope (kind 2, empty name), then the images
 * (kind 3, name = image name). The file ends right after the last image the signed manifest
 * declares. Records are sequential with explicit lengths, so entries cannot overlap, and there
 * is no index that could disagree with the entries (the zip central-directory trap).
 *
 * This module has the encoder and the structural reader; `verify.ts` drives the reader while
 * checking signatures and hashes.
 */
import { concatBytes, view } from '../core/bytes.ts';
import type { ChunkReader } from './_chunk-reader.ts';
import { isBundleReason, reject } from './errors.ts';
import { IMAGE_NAME } from './manifest.ts';
import type { ChainedRoot } from './trust-root.ts';

/** First 8 bytes of every bundle (a PNG-style signature that also catches text-mode damage). */
const MAGIC = Uint8Array.of(0x89, 0x57, 0x46, 0x42, 0x0d, 0x0a, 0x1a, 0x0a);
/** The container format version written after the magic. */
const FORMAT_VERSION = 1;
/** Record kinds. */
export const RecordKind = { root: 1, manifest: 2, image: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];
/** Most trust roots one bundle may carry. */
const MAX_CHAINED_ROOTS = 16;

/** A record header as read from the stream. */
export interface RecordHeader {
  readonly kind: RecordKind;
  readonly name: string;
  readonly length: number;
}

/** The parts of a bundle, as the encoder takes them and `readContainer` returns them. */
export interface ContainerParts {
  readonly roots: readonly ChainedRoot[];
  /** DSSE envelope JSON of the manifest. */
  readonly manifest: Uint8Array;
  readonly images: readonly { readonly name: string; readonly data: Uint8Array }[];
}

const ROOT_NAME = /^[1-9]\d{0,9}$/;
const ascii = new TextEncoder();

function recordHeader(kind: RecordKind, name: string, length: number): Uint8Array {
  const nameBytes = ascii.encode(name);
  const h = new Uint8Array(2 + nameBytes.length + 4);
  h[0] = kind;
  h[1] = nameBytes.length;
  h.set(nameBytes, 2);
  view(h).setUint32(2 + nameBytes.length, length, true);
  return h;
}

/**
 * Encodes a bundle as a list of chunks (headers and the caller's data arrays, not copied), in
 * container order. Concatenate them, write them one by one, or transfer them.
 * @throws {RangeError} for names the reader would refuse or data over 4 GiB.
 */
export function encodeContainerChunks(parts: ContainerParts): Uint8Array[] {
  // Fresh arrays throughout: callers may transfer (detach) the buffers of these chunks.
  const out: Uint8Array[] = [MAGIC.slice(), Uint8Array.of(FORMAT_VERSION)];
  let previous: number | undefined;
  for (const r of parts.roots) {
    if (previous !== undefined && r.version !== previous + 1) {
      throw new RangeError('container: chained roots must have consecutive versions');
    }
    previous = r.version;
    out.push(recordHeader(RecordKind.root, String(r.version), r.envelope.length), r.envelope);
  }
  out.push(recordHeader(RecordKind.manifest, '', parts.manifest.length), parts.manifest);
  for (const im of parts.images) {
    if (!IMAGE_NAME.test(im.name)) throw new RangeError(`container: bad image name "${im.name}"`);
    if (im.data.length > 0xffff_ffff) throw new RangeError('container: image over 4 GiB');
    out.push(recordHeader(RecordKind.image, im.name, im.data.length), im.data);
  }
  return out;
}

/** Encodes a bundle into one array. */
export function encodeContainer(parts: ContainerParts): Uint8Array {
  return concatBytes(...encodeContainerChunks(parts));
}

/** Reads and checks the magic and format version. @throws {BundleError} `container.malformed`. */
async function readPreamble(reader: ChunkReader): Promise<void> {
  const head = await reader
    .readExactly(MAGIC.length + 1, 'the file header')
    .catch((err: unknown) => {
      throw isBundleReason(err, 'container.truncated')
        ? reject('container.malformed', 'too short to be a bundle', err)
        : err;
    });
  for (let i = 0; i < MAGIC.length; i++) {
    if (head[i] !== MAGIC[i])
      throw reject('container.malformed', 'not a webflash bundle (bad magic)');
  }
  if (head[MAGIC.length] !== FORMAT_VERSION) {
    throw reject('container.malformed', `unsupported bundle format ${head[MAGIC.length]}`);
  }
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/**
 * Reads one record header and checks its kind and name syntax.
 * @throws {BundleError} `container.malformed`, `container.path`, `container.truncated`.
 */
export async function readRecordHeader(reader: ChunkReader): Promise<RecordHeader> {
  const at = reader.position;
  const [kind, nameLength] = await reader.readExactly(2, 'a record header');
  if (kind !== RecordKind.root && kind !== RecordKind.manifest && kind !== RecordKind.image) {
    throw reject('container.malformed', `unknown record kind ${kind} at byte ${at}`);
  }
  const nameBytes = await reader.readExactly(nameLength!, 'a record name');
  // Names are visible ASCII (0x21…0x7e) by construction; anything else is a path trick or garbage.
  let name = '';
  for (const b of nameBytes) {
    if (b < 0x21 || b > 0x7e) {
      const what =
        b === 0x20
          ? 'a space'
          : b > 0x7f
            ? `a non-ASCII byte 0x${hex2(b)}`
            : `a control byte 0x${hex2(b)}`;
      throw reject('container.path', `${what} in a record name at byte ${at}`);
    }
    name += String.fromCharCode(b);
  }
  const length = view(await reader.readExactly(4, 'a record length')).getUint32(0, true);
  if (kind === RecordKind.manifest && name !== '') {
    throw reject('container.malformed', 'the manifest record must not have a name');
  }
  if (kind === RecordKind.root && !ROOT_NAME.test(name)) {
    throw reject('container.malformed', `a trust root record is named "${name}", not a version`);
  }
  if (kind === RecordKind.image && !IMAGE_NAME.test(name)) {
    throw reject('container.path', `forbidden entry name "${name}"`);
  }
  return { kind, name, length };
}

/**
 * Reads the trust-root records and the manifest record that open every bundle, enforcing their
 * order, consecutive root versions and size limits before buffering any of them.
 */
export async function readContainerHead(
  reader: ChunkReader,
  limits: { maxRootBytes: number; maxManifestBytes: number },
): Promise<{ roots: ChainedRoot[]; manifest: Uint8Array }> {
  await readPreamble(reader);
  const roots: ChainedRoot[] = [];
  for (;;) {
    const h = await readRecordHeader(reader);
    if (h.kind === RecordKind.image)
      throw reject('container.malformed', 'an image comes before the manifest');
    if (h.kind === RecordKind.manifest) {
      if (h.length > limits.maxManifestBytes) {
        throw reject('size.exceeded', `the manifest is over ${limits.maxManifestBytes} bytes`);
      }
      return { roots, manifest: await reader.readExactly(h.length, 'the manifest') };
    }
    if (roots.length >= MAX_CHAINED_ROOTS)
      throw reject('size.exceeded', `more than ${MAX_CHAINED_ROOTS} trust roots`);
    const version = Number(h.name);
    const last = roots[roots.length - 1];
    if (last && version !== last.version + 1) {
      throw reject('root.version', `trust root ${version} follows root ${last.version}`);
    }
    if (h.length > limits.maxRootBytes)
      throw reject('size.exceeded', `trust root ${version} is over ${limits.maxRootBytes} bytes`);
    roots.push({ version, envelope: await reader.readExactly(h.length, `trust root ${version}`) });
  }
}

/**
 * Reads a whole bundle structurally, without verifying anything: for tools that add signatures
 * or show what a file contains. Never use its output to flash a board; use `verifyBundle`.
 * @throws {BundleError} `container.*` for structural faults, `size.exceeded` over `maxBytes`.
 */
export async function readContainerUnverified(
  reader: ChunkReader,
  limits: { maxRootBytes: number; maxManifestBytes: number },
): Promise<ContainerParts> {
  const head = await readContainerHead(reader, limits);
  const images: { name: string; data: Uint8Array }[] = [];
  const seen = new Set<string>();
  while (!(await reader.atEnd())) {
    const h = await readRecordHeader(reader);
    if (h.kind !== RecordKind.image)
      throw reject('container.malformed', 'a root or manifest record after the images');
    if (seen.has(h.name)) throw reject('container.duplicate-entry', h.name);
    seen.add(h.name);
    images.push({ name: h.name, data: await reader.readExactly(h.length, h.name) });
  }
  return { roots: head.roots, manifest: head.manifest, images };
}
