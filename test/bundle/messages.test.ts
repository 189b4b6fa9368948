/**
 * Rejection messages name what actually happened: a second manifest, a fault in the unsigned
 * envelope, a manifest offered as a root (and the other way round), a duplicate root key, and the
 * exact kind of byte that is not allowed in a record name. Reason codes stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { encodeContainer } from '../../src/bundle/container.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { createRootEnvelope, loadTrustRoot } from '../../src/bundle/trust-root.ts';
import { publicKeyOf } from '../../src/bundle/ed25519.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { readBundleUnverified } from '../../src/bundle/create.ts';
import { maliciousCases } from './corpus.ts';
import { goodBundle, key, NOW, pinnedTestRoot, testImages } from './fixtures.ts';

async function refusal(bytes: Uint8Array): Promise<BundleError> {
  const err = await verifyBundle(bytes, { trustRoot: pinnedTestRoot(), now: NOW }).catch(
    (e: unknown) => e,
  );
  if (!(err instanceof BundleError)) throw new Error(`not refused: ${String(err)}`);
  return err;
}

const caseBytes = (id: string): Uint8Array => maliciousCases().find((c) => c.id === id)!.bytes;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function withImageName(name: Uint8Array): Uint8Array {
  const good = goodBundle();
  const at = good.length - testImages().get('app')!.length - 4 - 3; // "app" record header
  const bytes = new Uint8Array(good.length);
  bytes.set(good);
  expect(new TextDecoder().decode(bytes.subarray(at, at + 3))).toBe('app');
  bytes.set(name, at);
  return bytes;
}

describe('rejection messages', () => {
  it('a second manifest is called a second manifest', async () => {
    const err = await refusal(caseBytes('second-manifest'));
    expect(err.reason).toBe('container.duplicate-entry');
    expect(err.message).toMatch(/second manifest/);
    expect(err.message).not.toMatch(/image/);
  });

  it.each([
    ['not JSON', '{"payloadType":'],
    ['a field missing', '{"payloadType":"x","payload":""}'],
    ['a duplicate field', '{"payloadType":"x","payloadType":"y","payload":"","signatures":[]}'],
  ])('an envelope fault (%s) is not called the signed manifest', async (_name, text) => {
    const err = await refusal(encodeContainer({ roots: [], manifest: enc(text), images: [] }));
    expect(err.reason).toMatch(/^json\./);
    expect(err.message).toMatch(/signature envelope/);
    expect(err.message).not.toMatch(/signed manifest/);
  });

  it('a manifest given as a root says so', async () => {
    const { manifest } = await readBundleUnverified(goodBundle());
    const asRoot = (() => {
      try {
        return loadTrustRoot(manifest);
      } catch (e) {
        return e;
      }
    })();
    expect(asRoot).toMatchObject({ reason: 'envelope.payload-type' });
    expect((asRoot as Error).message).toMatch(/release manifest, not a trust root/);
  });

  it('a duplicate key in a root says "duplicate"', () => {
    const pk = publicKeyOf(key(1));
    expect(() =>
      createRootEnvelope({
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        threshold: 1,
        publicKeys: [pk, pk],
      }),
    ).toThrow(/duplicate/);
  });

  it.each([
    ['a space', Uint8Array.of(0x61, 0x20, 0x70), /a space in a record name/],
    ['a non-ASCII byte', Uint8Array.of(0x61, 0xe9, 0x70), /a non-ASCII byte 0xe9/],
    ['a control byte', Uint8Array.of(0x61, 0x00, 0x70), /a control byte 0x00/],
    ['DEL', Uint8Array.of(0x61, 0x7f, 0x70), /a control byte 0x7f/],
  ])('%s in an image name is named as such', async (_name, name, message) => {
    const err = await refusal(withImageName(name));
    expect(err.reason).toBe('container.path');
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/non-printable/);
  });
});
