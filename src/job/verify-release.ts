/**
 * The one way every face verifies a release bundle (docs/threat-model.md, "What each face
 * checks"): the technician console and the bench through the verification worker, the customer
 * updater on its own thread, the CLI in Node. Whichever verifier runs the cryptography, the
 * release policy (src/bundle/release-policy.ts) runs against the one `RollbackStore` the face
 * also hands to its flash jobs, and an accepted bundle raises the store's trust-root floor, so
 * release keys retired by a newer root stop working everywhere as soon as that root was seen.
 */
import { UsageError } from '../core/errors.ts';
import type { UpdaterMode } from '../bundle/rollback.ts';
import { recordRootSeen, type RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle, VerifyOptions } from '../bundle/verify.ts';

/** `verifyBundle` itself, or a function that runs it elsewhere (the verification worker). */
type BundleVerifier<S> = (source: S, options: VerifyOptions) => Promise<VerifiedBundle>;

/** `VerifyOptions` with the store and the mode required, plus the verifier and the source. */
export type VerifyReleaseOptions<S> = Omit<VerifyOptions, 'rollbackStore' | 'mode'> & {
  verify: BundleVerifier<S>;
  source: S;
  /** Required: the store the face's flash jobs record into. */
  rollbackStore: RollbackStore;
  mode: UpdaterMode;
};

/**
 * Verifies a bundle and applies the release policy with `rollbackStore`.
 * @throws {BundleError} with the reason of the first failed check (`root.rollback` included).
 * @throws {UsageError} when `verify` ignored the rollback store.
 * @example
 * const bundle = await verifyRelease({ verify: verifyBundle, source, trustRoot, now: new Date(),
 *   rollbackStore, mode: 'customer' });
 */
export async function verifyRelease<S>(options: VerifyReleaseOptions<S>): Promise<VerifiedBundle> {
  const { verify, source, ...verifyOptions } = options;
  const bundle = await verify(source, verifyOptions);
  if (bundle.rollback === undefined) {
    throw new UsageError('verifyRelease: the verifier skipped the rollback store');
  }
  await recordRootSeen(options.rollbackStore, bundle.root.version);
  return bundle;
}
