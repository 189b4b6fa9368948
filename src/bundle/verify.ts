/**
 * Streaming bundle verification (docs/bundle-format.md, "Verification order") and the only
 * constructor of `VerifiedBundle`, the type the flash engine accepts.
 *
 * `verifyBundle(source, options)` reads the bundle once, front to back:
 *  1. magic and format version;
 *  2. the trust roots it carries, each accepted only as the next link from the pinned root
 *     (trust-root.ts), then the final root's expiry;
 *  3. the manifest envelope: payload type, then a threshold of distinct trusted keys over the
 *     DSSE PAE of the exact payload bytes; only then the strict parse of those bytes;
 *  4. product, validity window (with bounded clock skew), declared total size, and — when a
 *     `RollbackStore` is given — root and counter rollback;
 *  5. each image record: declared, not seen before, exactly its signed length; its bytes are
 *     copied into a buffer of the signed size and hashed from that buffer as they arrive;
 *  6. nothing after the last declared image.
 *
 * The result holds exactly the bytes that were hashed. Sources: a whole `Uint8Array`, or any
 * (async) iterable of chunks such as a fetch body. Every wait for a chunk is bounded by
 * `stallTimeoutMs` on `clock` and can be cancelled through `signal`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.ts';
import { type Clock, realClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { type BundleSource, ChunkReader } from './_chunk-reader.ts';
import { HANDOFF, type VerifiedHandoff } from './_handoff.ts';
import { checkSignedHead } from './_signed-head.ts';
import {
  encodeContainerChunks,
  readContainerHead,
  readRecordHeader,
  RecordKind,
} from './container.ts';
import { reject, rejectAs } from './errors.ts';
import { declaredImages, type Manifest, MAX_MANIFEST_BYTES } from './manifest.ts';
import {
  checkRollback,
  type DowngradeOverride,
  type RollbackDecision,
  type UpdaterMode,
} from './rollback.ts';
import { checkRelease } from './release-policy.ts';
import type { RollbackStore } from './rollback-store.ts';
import { MAX_ROOT_BYTES, type ChainedRoot, type TrustRoot } from './trust-root.ts';

export type { BundleSource } from './_chunk-reader.ts';

/** Default cap on a whole bundle: 64 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
/** Default tolerance for a wrong computer clock: 5 minutes. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Largest clock skew a caller may allow: 1 day. */
const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;
/** Default longest wait for the next chunk of a download: 30 s. */
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** Progress while a bundle streams in. */
export interface VerifyProgress {
  phase: 'header' | 'images' | 'done';
  /** Bundle bytes read so far. */
  bytesDone: number;
  /** Total bundle size, known once the manifest is verified. */
  bytesTotal?: number;
}

export interface VerifyOptions {
  /** The root pinned in this build (pinned-root.ts). */
  trustRoot: TrustRoot;
  /** The current time, for expiry checks. */
  now: Date;
  /** Refuse bundles larger than this. Default 64 MiB. */
  maxBundleBytes?: number | undefined;
  /** Tolerance for a wrong clock on expiry checks, 0…1 day. Default 5 minutes. */
  clockSkewMs?: number | undefined;
  /** Longest validity of the final trust root, counted from `now`. Default 10 years. */
  maxRootValidityMs?: number | undefined;
  /** When set, a bundle for another product is refused with `product.mismatch`. */
  expectedProduct?: string | undefined;
  /**
   * When set, root and security-counter rollback are checked against it (release-policy.ts,
   * stage 'load': in technician mode without an override a lower counter is only reported).
   */
  rollbackStore?: RollbackStore | undefined;
  /** Default 'customer'. */
  mode?: UpdaterMode | undefined;
  /** A technician's downgrade override (refused in customer mode). */
  override?: DowngradeOverride | undefined;
  /** Receives the log line of an accepted override. */
  logger?: Logger | undefined;
  signal?: AbortSignal | undefined;
  /** Clock for the stall timeout. Default `realClock`. */
  clock?: Clock | undefined;
  /** Longest wait for the next chunk. Default 30 s. */
  stallTimeoutMs?: number | undefined;
  onProgress?: ((p: VerifyProgress) => void) | undefined;
}

/** Metadata of one verified image. */
export interface VerifiedImageInfo {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** Only this module can produce the token, so only `verifyBundle` can build a VerifiedBundle. */
const MINT: unique symbol = Symbol('VerifiedBundle.mint');

export interface VerifiedParts {
  manifest: Manifest;
  root: TrustRoot;
  roots: readonly ChainedRoot[];
  envelope: Uint8Array;
  images: ReadonlyMap<string, Uint8Array>;
  bundleBytes: number;
  /** Key ids of the root whose signatures over the manifest verified, sorted. */
  signers: readonly string[];
  rollback: RollbackDecision | undefined;
}

/**
 * A bundle whose signatures, manifest, expiry and image hashes all checked out. It cannot be
 * constructed outside `verifyBundle` (the constructor demands a module-private token) and is
 * frozen. Image bytes stay private; `imageBytes()` hands out copies, so nothing can change the
 * bytes that were hashed.
 */
export class VerifiedBundle {
  readonly #images: ReadonlyMap<string, Uint8Array>;
  readonly #roots: readonly ChainedRoot[];
  readonly #envelope: Uint8Array;
  readonly manifest: Manifest;
  /** The trust root the manifest was verified with (the pinned root or a newer one). */
  readonly root: TrustRoot;
  /** Size of the bundle file in bytes. */
  readonly bundleBytes: number;
  /** The rollback decision, when a RollbackStore was consulted. */
  readonly rollback: RollbackDecision | undefined;
  readonly images: readonly VerifiedImageInfo[];
  #fileSha256: string | undefined;
  /** Key ids of `root` whose signatures over the manifest verified, sorted (≥ threshold). */
  readonly signers: readonly string[];

  /** @internal Use `verifyBundle`. */
  constructor(mint: typeof MINT, parts: VerifiedParts) {
    if (mint !== MINT) throw new TypeError('A VerifiedBundle comes only from verifyBundle()');
    this.#images = parts.images;
    this.#roots = parts.roots;
    this.#envelope = parts.envelope;
    this.manifest = parts.manifest;
    this.root = parts.root;
    this.bundleBytes = parts.bundleBytes;
    this.rollback = parts.rollback;
    this.signers = Object.freeze([...parts.signers].sort());
    this.images = Object.freeze(
      [...declaredImages(parts.manifest)].map(([name, d]) =>
        Object.freeze({ name, size: d.size, sha256: d.sha256 }),
      ),
    );
    Object.freeze(this);
  }

  /** True only for objects built by `verifyBundle` (a structural look-alike fails). */
  static is(value: unknown): value is VerifiedBundle {
    return typeof value === 'object' && value !== null && #images in value;
  }

  /**
   * A copy of the verified bytes of image `name`.
   * @throws {UsageError} for a name the manifest does not declare.
   */
  imageBytes(name: string): Uint8Array {
    const bytes = this.#images.get(name);
    if (!bytes) throw new UsageError(`the bundle has no image "${name}"`);
    return bytes.slice();
  }

  /**
   * Lower-case hex SHA-256 of the bundle file (what `sha256sum X.fwb` prints), for logs and
   * reports. Computed on first use from the verified parts, which re-encode to exactly the file's
   * bytes (the reader refuses any other layout), so verification itself hashes every byte once.
   */
  get bundleSha256(): string {
    if (this.#fileSha256 === undefined) {
      const hash = sha256.create();
      for (const chunk of this.#fileChunks()) hash.update(chunk);
      this.#fileSha256 = toHex(hash.digest());
    }
    return this.#fileSha256;
  }

  #fileChunks(): Uint8Array[] {
    return encodeContainerChunks({
      roots: this.#roots.map((r) => ({ version: r.version, envelope: r.envelope })),
      manifest: this.#envelope,
      images: this.images.map((im) => ({ name: im.name, data: this.#images.get(im.name)! })),
    });
  }

  /**
   * @internal The verified bytes themselves (not copies) for the worker hand-off (_handoff.ts).
   * The caller transfers the image buffers away, after which this instance must not be used.
   */
  [HANDOFF](): VerifiedHandoff {
    return {
      roots: this.#roots,
      envelope: this.#envelope,
      images: [...this.#images].map(([name, bytes]) => ({ name, bytes })),
      bundleBytes: this.bundleBytes,
    };
  }

  /**
   * The bundle re-encoded as container chunks (copies), e.g. to hand to another thread, which
   * runs `verifyBundle` over them again before trusting them.
   */
  toChunks(): Uint8Array[] {
    return encodeContainerChunks({
      roots: this.#roots.map((r) => ({ version: r.version, envelope: r.envelope.slice() })),
      manifest: this.#envelope.slice(),
      images: this.images.map((im) => ({ name: im.name, data: this.imageBytes(im.name) })),
    });
  }
}

/**
 * Verifies a bundle while it streams in. See the module comment for the order of checks.
 * @throws {BundleError} with the reason of the first check that failed.
 * @throws {TimeoutError} when the source stalls longer than `stallTimeoutMs`.
 * @throws {AbortError} when `signal` fires.
 * @example
 * const verified = await verifyBundle(response.body, { trustRoot, now: new Date() });
 */
export async function verifyBundle(
  source: BundleSource,
  options: VerifyOptions,
): Promise<VerifiedBundle> {
  const maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isSafeInteger(maxBundleBytes) || maxBundleBytes <= 0) {
    throw new UsageError('verifyBundle: maxBundleBytes must be a positive integer');
  }
  if (!(skew >= 0 && skew <= MAX_CLOCK_SKEW_MS)) {
    throw new UsageError(`verifyBundle: clockSkewMs must be within 0…${MAX_CLOCK_SKEW_MS}`);
  }
  const nowMs = options.now.getTime();
  if (!Number.isFinite(nowMs)) throw new UsageError('verifyBundle: now is not a valid date');

  const reader = new ChunkReader(source, {
    maxBytes: maxBundleBytes,
    clock: options.clock ?? realClock,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    signal: options.signal,
  });
  const progress = options.onProgress ?? ((): void => undefined);
  let finished = false;
  try {
    progress({ phase: 'header', bytesDone: 0 });
    const head = await readContainerHead(reader, {
      maxRootBytes: MAX_ROOT_BYTES,
      maxManifestBytes: MAX_MANIFEST_BYTES,
    });

    // 2–4. Trust roots, signatures, manifest, product, validity window (_signed-head.ts).
    const { root, manifest, signers } = checkSignedHead(head, {
      trustRoot: options.trustRoot,
      nowMs,
      skewMs: skew,
      expectedProduct: options.expectedProduct,
      maxRootValidityMs: options.maxRootValidityMs,
    });
    const declared = declaredImages(manifest);
    let total = reader.position;
    for (const [name, d] of declared) total += 2 + name.length + 4 + d.size;
    if (total > maxBundleBytes)
      throw reject('size.exceeded', `the manifest declares ${total} bytes`);
    const rollback = await checkStoredRollback(manifest, root, options);

    // 5. Images, hashed from the buffer they are stored in, as they arrive.
    const images = new Map<string, Uint8Array>();
    progress({ phase: 'images', bytesDone: reader.position, bytesTotal: total });
    while (images.size < declared.size) {
      if (await reader.atEnd()) {
        const missing = [...declared.keys()].filter((n) => !images.has(n));
        throw reject('container.missing-entry', missing.join(', '));
      }
      const h = await readRecordHeader(reader);
      if (h.kind === RecordKind.manifest)
        throw rejectAs('container.duplicate-entry', 'The bundle contains a second manifest.');
      if (h.kind !== RecordKind.image)
        throw reject('container.malformed', 'a trust root after the manifest');
      const signed = declared.get(h.name);
      if (!signed) throw reject('container.undeclared-entry', h.name);
      if (images.has(h.name)) throw reject('container.duplicate-entry', h.name);
      if (h.length > signed.size)
        throw reject('size.exceeded', `"${h.name}" is ${h.length} bytes, signed ${signed.size}`);
      if (h.length < signed.size)
        throw reject(
          'image.size-mismatch',
          `"${h.name}" is ${h.length} bytes, signed ${signed.size}`,
        );
      const bytes = new Uint8Array(signed.size);
      const hash = sha256.create();
      await reader.readInto(bytes, `image "${h.name}"`, (part) => {
        hash.update(part);
        progress({ phase: 'images', bytesDone: reader.position, bytesTotal: total });
      });
      if (toHex(hash.digest()) !== signed.sha256) throw reject('image.hash-mismatch', h.name);
      images.set(h.name, bytes);
    }

    // 6. The file ends with the last declared image.
    if (!(await reader.atEnd()))
      throw reject('container.trailing-data', `after byte ${reader.position}`);
    finished = true;
    progress({ phase: 'done', bytesDone: reader.position, bytesTotal: reader.position });
    return new VerifiedBundle(MINT, {
      manifest,
      root,
      roots: head.roots,
      envelope: head.manifest,
      images,
      bundleBytes: reader.position,
      signers,
      rollback,
    });
  } finally {
    // Not awaited: a source stuck in a read it will never finish cannot be closed either.
    if (!finished) void reader.cancel();
  }
}

/**
 * @internal Builds a `VerifiedBundle` for the page-side rebuild after the verification worker
 * (rehydrate.ts), which has re-checked `parts`; only holders of the hand-off token can call it.
 * @throws {TypeError} without the token.
 */
export function mintHandedOff(token: typeof HANDOFF, parts: VerifiedParts): VerifiedBundle {
  if (token !== HANDOFF) throw new TypeError('A VerifiedBundle comes only from verifyBundle()');
  return new VerifiedBundle(MINT, parts);
}

/** The release policy against the store, when there is one (release-policy.ts). */
export async function checkStoredRollback(
  manifest: Manifest,
  root: TrustRoot,
  options: Pick<VerifyOptions, 'rollbackStore' | 'mode' | 'override' | 'logger'>,
): Promise<RollbackDecision | undefined> {
  const store = options.rollbackStore;
  const mode = options.mode ?? 'customer';
  if (!store) {
    // Without a store there is nothing to compare, but an override is still judged by mode.
    return options.override
      ? checkRollback({ manifest, mode, override: options.override })
      : undefined;
  }
  return checkRelease({
    manifest,
    rootVersion: root.version,
    store,
    mode,
    stage: 'load',
    override: options.override,
    logger: options.logger,
  });
}
