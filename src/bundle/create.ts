/**
 * Building and signing bundles: the publisher's side, used by the `webflash` CLI, the demo
 * bundle script and the tests. Pure: secret keys come in as bytes (the CLI reads them from
 * key files); the web app never calls these functions with real keys.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.ts';
import { realClock } from '../core/clock.ts';
import { ChunkReader } from './_chunk-reader.ts';
import { encodeContainer, readContainerUnverified, type ContainerParts } from './container.ts';
import {
  addSignature,
  encodeEnvelope,
  MANIFEST_PAYLOAD_TYPE,
  parseEnvelope,
  type Envelope,
} from './dsse.ts';
import { reject } from './errors.ts';
import {
  encodeManifestPayload,
  MAX_MANIFEST_BYTES,
  type ManifestContent,
  type ManifestImage,
  type ManifestTarget,
} from './manifest.ts';
import { MAX_ROOT_BYTES, type TrustRoot } from './trust-root.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from './verify.ts';

/** An image as the publisher lists it: size and hash are computed from the bytes. */
type DraftImage = Omit<ManifestImage, 'size' | 'sha256'>;
/** A target as the publisher lists it. */
export type DraftTarget = Omit<ManifestTarget, 'images'> & {
  readonly images: readonly DraftImage[];
};
/** Manifest content without sizes and hashes. */
export type ManifestDraft = Omit<ManifestContent, 'targets'> & {
  readonly targets: readonly DraftTarget[];
};

export interface CreateBundleOptions {
  manifest: ManifestDraft;
  /** Image bytes by image name; every name the manifest lists, and no other. */
  images: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
  /** 32-byte ed25519 secret keys; each adds one signature. May be empty (sign later). */
  signers?: readonly Uint8Array[];
  /** Newer trust roots to carry, consecutive versions, oldest first. */
  roots?: readonly TrustRoot[];
}

/**
 * Builds a bundle: fills in image sizes and SHA-256, checks the manifest against the schema,
 * signs it with each signer and writes the container.
 * @throws {RangeError} when an image is missing or not listed.
 * @throws {BundleError} when the manifest does not satisfy the schema.
 * @example
 * const bytes = createBundle({ manifest, images: { app: appBin }, signers: [releaseKey] });
 */
export function createBundle(options: CreateBundleOptions): Uint8Array {
  const images: ReadonlyMap<string, Uint8Array> =
    options.images instanceof Map
      ? (options.images as ReadonlyMap<string, Uint8Array>)
      : new Map(Object.entries(options.images as Readonly<Record<string, Uint8Array>>));
  const listed = new Set(options.manifest.targets.flatMap((t) => t.images.map((im) => im.name)));
  for (const name of listed)
    if (!images.has(name)) throw new RangeError(`createBundle: no bytes for image "${name}"`);
  for (const name of images.keys())
    if (!listed.has(name)) throw new RangeError(`createBundle: "${name}" is not in the manifest`);

  const digests = new Map([...images].map(([name, data]) => [name, toHex(sha256(data))]));
  const content: ManifestContent = {
    ...options.manifest,
    targets: options.manifest.targets.map((t) => ({
      ...t,
      images: t.images.map((im) => ({
        ...im,
        size: images.get(im.name)!.length,
        sha256: digests.get(im.name)!,
      })),
    })),
  };
  let envelope: Envelope = {
    payloadType: MANIFEST_PAYLOAD_TYPE,
    payload: encodeManifestPayload(content),
    signatures: [],
  };
  for (const key of options.signers ?? []) envelope = addSignature(envelope, key);

  return encodeContainer({
    roots: (options.roots ?? []).map((r) => ({ version: r.version, envelope: r.envelope })),
    manifest: encodeEnvelope(envelope),
    images: [...listed].map((name) => ({ name, data: images.get(name)! })),
  });
}

/**
 * Reads a bundle's structure without verifying it (for signing and inspection only).
 * @throws {BundleError} for structural faults.
 */
export async function readBundleUnverified(
  bytes: Uint8Array,
  maxBytes = DEFAULT_MAX_BUNDLE_BYTES,
): Promise<ContainerParts & { envelope: Envelope }> {
  const reader = new ChunkReader(bytes, { maxBytes, clock: realClock, stallTimeoutMs: 1 });
  const parts = await readContainerUnverified(reader, {
    maxRootBytes: MAX_ROOT_BYTES,
    maxManifestBytes: MAX_MANIFEST_BYTES,
  });
  const envelope = parseEnvelope(parts.manifest, MAX_MANIFEST_BYTES * 2);
  if (envelope.payloadType !== MANIFEST_PAYLOAD_TYPE)
    throw reject('envelope.payload-type', envelope.payloadType);
  return { ...parts, envelope };
}

/**
 * Adds one signature to an existing bundle (k-of-n signing by different people on different
 * machines). Images and roots are copied through unchanged.
 * @throws {RangeError} when this key has already signed.
 * @throws {BundleError} when the file is not a well-formed bundle.
 */
export async function signBundle(bytes: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  const parts = await readBundleUnverified(bytes);
  return encodeContainer({
    ...parts,
    manifest: encodeEnvelope(addSignature(parts.envelope, secretKey)),
  });
}
