/**
 * Internal: the hand-off of a `VerifiedBundle` from the verification worker to the page.
 *
 * A class instance cannot cross `postMessage`. So the worker, after `verifyBundle` succeeded, hands
 * over the exact bytes it verified (image buffers are transferred, not copied) as
 * `VerifiedHandoff` data, and the page rebuilds the `VerifiedBundle` with
 * `rehydrateVerifiedBundle` (rehydrate.ts), which re-checks signatures, expiry and image hashes on
 * those very buffers (docs/threat-model.md, "The verification worker").
 *
 * Whoever holds `HANDOFF` can read a verified bundle's private buffers. Lint (eslint.config.js)
 * therefore allows only src/bundle/verify.ts, src/bundle/rehydrate.ts and the two ends of the
 * worker (src/platform/browser/verify-worker.ts, src/platform/browser/verify-client.ts) to import this module.
 */
import type { ChainedRoot } from './trust-root.ts';

/** The capability that unlocks the hand-off path of `VerifiedBundle`. */
export const HANDOFF: unique symbol = Symbol('VerifiedBundle.handoff');

/** A verified bundle as structured-clone data: everything `verifyBundle` had when it finished. */
export interface VerifiedHandoff {
  /** The trust-root records the bundle carried, in order. */
  readonly roots: readonly ChainedRoot[];
  /** The manifest's DSSE envelope bytes, exactly as signed and read. */
  readonly envelope: Uint8Array;
  /** Every image, in bundle order, with exactly the bytes that were hashed. */
  readonly images: readonly { readonly name: string; readonly bytes: Uint8Array }[];
  /** Size of the bundle file in bytes. */
  readonly bundleBytes: number;
}
