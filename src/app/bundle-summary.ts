/**
 * What the technician's bundle panel shows about a verified bundle: product, version, security
 * counter, validity, who signed it against the root's threshold, targets and images.
 */
import type { ManifestImage, ManifestTarget } from '../bundle/manifest.ts';
import { plainTargets } from '../bundle/plain-targets.ts';
import { protectedWrites, type ProtectedWrite } from '../bundle/write-intent.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';

/** One image of a target. */
/** One image of a target, as the manifest declares it. */
export type ImageSummary = ManifestImage;

/** A board the release applies to, as the manifest declares it. */
export type TargetSummary = ManifestTarget;

/** Plain data about a verified bundle. */
export interface BundleSummary {
  product: string;
  version: string;
  securityCounter: number;
  /** RFC 3339 UTC, as signed. */
  created: string;
  expires: string;
  notes: string;
  /** Size of the bundle file. */
  bundleBytes: number;
  /** Lower-case hex SHA-256 of the bundle file. */
  bundleSha256: string;
  /** Version of the trust root the manifest was verified with. */
  rootVersion: number;
  /** Signatures the root's threshold demands. */
  threshold: number;
  /** Key ids of the trusted keys whose signatures verified, sorted. */
  signers: string[];
  targets: readonly TargetSummary[];
  /** Protected ranges the release writes (the ESP bootloader region…), shown before flashing. */
  protectedWrites: readonly ProtectedWrite[];
}

/**
 * Summarises a verified bundle. The signer list is the one verification produced
 * (`VerifiedBundle.signers`): only keys of the trust root whose signatures really verified.
 * Async for callers written against the earlier signature; it does no work that waits.
 * @example const s = await summarizeBundle(verified); s.signers.length >= s.threshold
 */
export async function summarizeBundle(bundle: VerifiedBundle): Promise<BundleSummary> {
  return Promise.resolve(summarizeBundleNow(bundle));
}

/** `summarizeBundle` without the promise. */
export function summarizeBundleNow(bundle: VerifiedBundle): BundleSummary {
  const m = bundle.manifest;
  return {
    product: m.product,
    version: m.version,
    securityCounter: m.securityCounter,
    created: m.created,
    expires: m.expires,
    notes: m.notes,
    bundleBytes: bundle.bundleBytes,
    bundleSha256: bundle.bundleSha256,
    rootVersion: bundle.root.version,
    threshold: bundle.root.threshold,
    signers: [...bundle.signers],
    targets: plainTargets(m.targets),
    protectedWrites: protectedWrites(m),
  };
}
