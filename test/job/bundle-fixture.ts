/** Signed test bundles: a throwaway root key, a root, and bundles verified against it. */
import { createBundle } from '../../src/bundle/create.ts';
import { addSignature, encodeEnvelope } from '../../src/bundle/dsse.ts';
import { newSecretKey, publicKeyOf } from '../../src/bundle/ed25519.ts';
import type { ManifestTarget } from '../../src/bundle/manifest.ts';
import { createRootEnvelope, loadTrustRoot } from '../../src/bundle/trust-root.ts';
import { verifyBundle, type VerifiedBundle } from '../../src/bundle/verify.ts';

const key = newSecretKey(new Uint8Array(32).fill(7));
const root = loadTrustRoot(
  encodeEnvelope(
    addSignature(
      createRootEnvelope({
        version: 1,
        expires: '2035-01-01T00:00:00Z', // at most 10 years after the tests' now
        threshold: 1,
        publicKeys: [publicKeyOf(key)],
      }),
      key,
    ),
  ),
);

export type DraftTarget = Omit<ManifestTarget, 'images'> & {
  images: { name: string; address: number }[];
};

/** Builds, signs and verifies a bundle for product "blink" 1.2.0. */
export async function signedBundle(options: {
  images: Record<string, Uint8Array>;
  targets: DraftTarget[];
  securityCounter?: number;
}): Promise<VerifiedBundle> {
  const bytes = createBundle({
    manifest: {
      product: 'blink',
      version: '1.2.0',
      securityCounter: options.securityCounter ?? 3,
      created: '2026-01-01T00:00:00Z',
      expires: '2099-01-01T00:00:00Z',
      notes: '',
      targets: options.targets,
    },
    images: options.images,
    signers: [key],
  });
  return verifyBundle(bytes, { trustRoot: root, now: new Date('2026-06-01T00:00:00Z') });
}
