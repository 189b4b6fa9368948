/**
 * The one way every face verifies a release bundle (docs/threat-model.md, "What each face
 * checks"): the technician console and the bench through the verification worker, the customer
 * updater on its own thread, the CLI in Node. Whichever verifier runs the cryptography, the
 * release policy (src/bundle/release-policy.ts) runs against the one `RollbackStore` the face
 * also hands to its flash jobs, and an accepted bundle raises the store's trust-root floor, so
 * release keys retired by a newer root stop working everywhere as soon as that root was seen.
 */
import type { Logger } from '../core/log.ts';
import { UsageError } from '../core/errors.ts';
import type { DowngradeOverride, UpdaterMode } from '../bundle/rollback.ts';
import { recordRootSeen, type RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle, VerifyOptions, VerifyProgress } from '../bundle/verify.ts';

/** `verifyBundle` itself, or a function that runs it elsewhere (the verification worker). */
export type BundleVerifier<S> = (source: S, options: VerifyOptions) => Promise<VerifiedBundle>;

export interface VerifyReleaseOptions<S> {
  verify: BundleVerifier<S>;
  source: S;
  trustRoot: VerifyOptions['trustRoot'];
  now: Date;
  /** Required: the store the face's flash jobs record into. */
  rollbackStore: RollbackStore;
  mode: UpdaterMode;
  expectedProduct?: string | undefined;
  override?: DowngradeOverride | undefined;
  logger?: Logger | undefined;
  maxBundleBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: VerifyProgress) => void) | undefined;
  clock?: VerifyOptions['clock'] | undefined;
}

/**
 * Verifies a bundle and applies the release policy with `rollbackStore`.
 * @throws {BundleError} with the reason of the first failed check (`root.rollback` included).
 * @throws {UsageError} when `verify` ignored the rollback store.
 * @example
 * const bundle = await verifyRelease({ verify: verifyBundle, source, trustRoot, now: new Date(),
 *   rollbackStore, mode: 'customer' });
 */
export async function verifyRelease<S>(options: VerifyReleaseOptions<S>): Promise<VerifiedBundle> {
  const { rollbackStore } = options;
  const bundle = await options.verify(options.source, {
    trustRoot: options.trustRoot,
    now: options.now,
    rollbackStore,
    mode: options.mode,
    ...(options.expectedProduct === undefined ? {} : { expectedProduct: options.expectedProduct }),
    ...(options.override === undefined ? {} : { override: options.override }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.maxBundleBytes === undefined ? {} : { maxBundleBytes: options.maxBundleBytes }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  if (bundle.rollback === undefined) {
    throw new UsageError('verifyRelease: the verifier did not apply the rollback store');
  }
  await recordRootSeen(rollbackStore, bundle.root.version);
  return bundle;
}
