/**
 * The page's side of the hand-off from the verification worker (_handoff.ts;
 * docs/threat-model.md, "The verification worker"): rebuilds the `VerifiedBundle` that
 * `verifyBundle` accepted in the worker, trusting nothing in the message. A module of its own so
 * that pages without the worker (the customer updater) do not carry it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.ts';
import { HANDOFF, type VerifiedHandoff } from './_handoff.ts';
import { checkSignedHead } from './_signed-head.ts';
import { reject } from './errors.ts';
import { declaredImages } from './manifest.ts';
import {
  checkStoredRollback,
  DEFAULT_CLOCK_SKEW_MS,
  mintHandedOff,
  type VerifiedBundle,
  type VerifyOptions,
} from './verify.ts';

/** What the page supplies when it rebuilds a bundle that the verification worker verified. */
export type RehydrateOptions = Pick<
  VerifyOptions,
  | 'trustRoot'
  | 'now'
  | 'clockSkewMs'
  | 'expectedProduct'
  | 'maxRootValidityMs'
  | 'rollbackStore'
  | 'mode'
  | 'override'
  | 'logger'
>;

/**
 * @internal Rebuilds, on the page, a `VerifiedBundle` that `verifyBundle` accepted in the
 * verification worker (_handoff.ts; docs/threat-model.md, "The verification worker"). It trusts
 * nothing in the message: the same head checks as `verifyBundle` (trust-root chain and expiry,
 * signature threshold, strict manifest, product, validity window; _signed-head.ts), every
 * declared image present once with exactly its signed length and SHA-256, hashed here from the
 * very buffers the `VerifiedBundle` keeps, nothing else, the bundle size; then the rollback check
 * against the page's store, which the worker cannot see.
 * @throws {TypeError} without the hand-off token.
 * @throws {BundleError} with the reason `verifyBundle` would give for the same defect.
 */
export async function rehydrateVerifiedBundle(
  token: typeof HANDOFF,
  data: VerifiedHandoff,
  options: RehydrateOptions,
): Promise<VerifiedBundle> {
  if (token !== HANDOFF) throw new TypeError('A VerifiedBundle comes only from verifyBundle()');
  const { root, manifest, signers } = checkSignedHead(
    { roots: data.roots, manifest: data.envelope },
    {
      trustRoot: options.trustRoot,
      nowMs: options.now.getTime(),
      skewMs: options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS,
      expectedProduct: options.expectedProduct,
      maxRootValidityMs: options.maxRootValidityMs,
    },
  );
  const declared = declaredImages(manifest);
  const images = new Map<string, Uint8Array>();
  let size = 9 + 6 + data.envelope.length; // magic, format, manifest record (container.ts)
  for (const r of data.roots) size += 6 + String(r.version).length + r.envelope.length;
  for (const { name, bytes } of data.images) {
    const signed = declared.get(name);
    if (!signed) throw reject('container.undeclared-entry', name);
    if (images.has(name)) throw reject('container.duplicate-entry', name);
    if (!(bytes instanceof Uint8Array) || bytes.length !== signed.size) {
      throw reject('image.size-mismatch', `"${name}" handed over with the wrong length`);
    }
    // Hashed again here, from the buffer the engine will copy from (docs/threat-model.md).
    if (toHex(sha256(bytes)) !== signed.sha256) throw reject('image.hash-mismatch', name);
    images.set(name, bytes);
    size += 6 + name.length + bytes.length;
  }
  if (images.size !== declared.size) {
    const missing = [...declared.keys()].filter((n) => !images.has(n));
    throw reject('container.missing-entry', missing.join(', '));
  }
  if (size !== data.bundleBytes) {
    throw reject('container.malformed', `handed over as ${data.bundleBytes} bytes, parts ${size}`);
  }
  return mintHandedOff(token, {
    manifest,
    root,
    roots: data.roots,
    envelope: data.envelope,
    images,
    bundleBytes: data.bundleBytes,
    signers,
    rollback: await checkStoredRollback(manifest, root, options),
  });
}
