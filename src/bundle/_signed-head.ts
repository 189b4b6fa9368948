/**
 * Internal: the checks that need no image bytes (docs/bundle-format.md, "Verification order",
 * steps 2–4), shared by `verifyBundle` and the page-side rebuild after the verification worker
 * (`rehydrateVerifiedBundle`), so both ends apply exactly the same rules: trust-root chain and
 * expiry, payload type, a threshold of distinct trusted keys over the DSSE PAE of the exact
 * payload bytes, then the strict manifest parse, product and validity window.
 */
import { fromHex } from '../core/bytes.ts';
import { MANIFEST_PAYLOAD_TYPE, parseEnvelope, tallySignatures, type Envelope } from './dsse.ts';
import { reject } from './errors.ts';
import { type Manifest, MAX_MANIFEST_BYTES, parseManifest } from './manifest.ts';
import {
  checkRootExpiry,
  resolveRootChain,
  type ChainedRoot,
  type TrustRoot,
} from './trust-root.ts';

export interface SignedHeadOptions {
  trustRoot: TrustRoot;
  nowMs: number;
  skewMs: number;
  expectedProduct?: string | undefined;
  /** Longest validity of the final root from now (trust-root.ts; default 10 years). */
  maxRootValidityMs?: number | undefined;
}

export interface SignedHead {
  root: TrustRoot;
  manifest: Manifest;
  /** Key ids of `root` whose signatures over the manifest verified, sorted (≥ threshold). */
  signers: string[];
}

/**
 * Checks the trust roots a bundle carries and its manifest envelope.
 * @throws {BundleError} with the reason of the first failed check.
 */
export function checkSignedHead(
  head: { roots: readonly ChainedRoot[]; manifest: Uint8Array },
  options: SignedHeadOptions,
): SignedHead {
  const { nowMs, skewMs } = options;
  // Trust: pinned root → roots carried in the bundle → final root, which must be current.
  const root = resolveRootChain(options.trustRoot, head.roots);
  checkRootExpiry(root, nowMs, skewMs, options.maxRootValidityMs);

  // Signatures over the exact payload bytes, then the strict parse of those bytes.
  const envelope = parseEnvelope(head.manifest, MAX_MANIFEST_BYTES * 2);
  if (envelope.payloadType !== MANIFEST_PAYLOAD_TYPE) {
    throw reject(
      'envelope.payload-type',
      `expected ${MANIFEST_PAYLOAD_TYPE}, found "${envelope.payloadType}"`,
    );
  }
  const signers = requireManifestSignatures(envelope, root);
  const manifest = parseManifest(envelope.payload);

  // Policy that needs no image bytes.
  if (options.expectedProduct !== undefined && manifest.product !== options.expectedProduct) {
    throw reject(
      'product.mismatch',
      `bundle is for "${manifest.product}", expected "${options.expectedProduct}"`,
    );
  }
  if (nowMs - skewMs > manifest.expiresMs) throw reject('expired', `expired ${manifest.expires}`);
  if (nowMs + skewMs < manifest.createdMs)
    throw reject('not-yet-valid', `created ${manifest.created}`);
  return { root, manifest, signers };
}

/**
 * A threshold of distinct keys of `root` must have signed the manifest envelope.
 * @returns the key ids that verified, sorted.
 */
export function requireManifestSignatures(envelope: Envelope, root: TrustRoot): string[] {
  const tally = tallySignatures(
    envelope,
    new Map(root.keys.map((k) => [k.keyid, fromHex(k.publicKey)])),
  );
  if (tally.valid.size >= root.threshold) return [...tally.valid].sort();
  const counts = `${tally.valid.size} of ${root.threshold} required signatures`;
  if (tally.invalid > 0)
    throw reject('signature.invalid', `${tally.invalid} bad signature(s); ${counts}`);
  if (tally.valid.size === 0 && envelope.signatures.length > 0) {
    throw reject(
      'signature.unknown-key',
      `signed by ${tally.unknown} key(s) outside trust root ${root.version}`,
    );
  }
  throw reject('signature.threshold', counts);
}
