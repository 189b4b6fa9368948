/**
 * requireManifestSignatures, the signature check of verifyBundle (the bundle benchmark times it
 * on its own): the same key ids as verifyBundle accepts, and the same refusals.
 */
import { describe, expect, it } from 'vitest';
import { requireManifestSignatures } from '../../src/bundle/_signed-head.ts';
import { readBundleUnverified } from '../../src/bundle/create.ts';
import type { Envelope } from '../../src/bundle/dsse.ts';
import { keyIdOf, publicKeyOf } from '../../src/bundle/ed25519.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { goodBundle, key, NOW, pinnedTestRoot } from './fixtures.ts';

const trustRoot = pinnedTestRoot();
const idOf = (n: number): string => keyIdOf(publicKeyOf(key(n)));
const envelopeOf = async (signers: number[]): Promise<Envelope> =>
  (await readBundleUnverified(goodBundle({}, signers))).envelope;

function reasonOf(envelope: Envelope): string | undefined {
  try {
    requireManifestSignatures(envelope, trustRoot);
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('requireManifestSignatures', () => {
  it('returns the sorted key ids that verifyBundle reports for the same bundle', async () => {
    for (const signers of [
      [1, 2],
      [3, 1],
      [2, 3, 1],
    ]) {
      const bytes = goodBundle({}, signers);
      const { envelope } = await readBundleUnverified(bytes);
      const ids = requireManifestSignatures(envelope, trustRoot);
      expect(ids).toEqual(signers.map(idOf).sort());
      expect(ids).toEqual((await verifyBundle(bytes, { trustRoot, now: NOW })).signers);
    }
  });

  it('refuses fewer signatures than the threshold, bad signatures and keys outside the root', async () => {
    expect(reasonOf(await envelopeOf([1]))).toBe('signature.threshold');
    expect(reasonOf(await envelopeOf([4, 5]))).toBe('signature.unknown-key');
    const good = await envelopeOf([1, 2]);
    const sig = good.signatures[1]!.sig.slice();
    sig[0]! ^= 1;
    const tampered = {
      ...good,
      signatures: [good.signatures[0]!, { ...good.signatures[1]!, sig }],
    };
    expect(reasonOf(tampered)).toBe('signature.invalid');
    expect(requireManifestSignatures(good, trustRoot)).toHaveLength(2);
  });
});
