/**
 * Random and mutated input never crashes or hangs the container reader or the verifier: each
 * input verifies or throws BundleError with a reason code. fast-check prints the seed of any
 * failing run; rerun with `{ seed }` to reproduce.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBundleUnverified } from '../../src/bundle/create.ts';
import { encodeContainer } from '../../src/bundle/container.ts';
import { BUNDLE_REASONS, BundleError } from '../../src/bundle/errors.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { goodBundle, NOW, pinnedTestRoot } from './fixtures.ts';

const trustRoot = pinnedTestRoot();

async function outcome(bytes: Uint8Array): Promise<string> {
  try {
    await verifyBundle(bytes, { trustRoot, now: NOW, maxBundleBytes: 1 << 20 });
    return 'ok';
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    expect(BUNDLE_REASONS).toContain(err.reason);
    return err.reason;
  }
}

describe('container reader and verifier under random input', () => {
  it('random bytes, with and without a valid magic', async () => {
    const magic = goodBundle().subarray(0, 9);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (tail, withMagic) => {
        const bytes = withMagic ? new Uint8Array([...magic, ...tail]) : tail;
        expect(await outcome(bytes)).not.toBe('ok');
        await readBundleUnverified(bytes).catch((err: unknown) =>
          expect(err).toBeInstanceOf(BundleError),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('a genuine bundle with any bytes changed is rejected', async () => {
    const good = goodBundle();
    await fc.assert(
      fc.asyncProperty(
        // Distinct positions: two edits of one byte could cancel out and leave the bundle intact.
        fc.uniqueArray(
          fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })),
          { minLength: 1, maxLength: 4, selector: ([at]) => at },
        ),
        async (edits) => {
          const bytes = good.slice();
          for (const [at, x] of edits) bytes[at]! ^= x;
          expect(await outcome(bytes)).not.toBe('ok');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a genuine bundle cut anywhere is rejected', async () => {
    const good = goodBundle();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: good.length - 1 }), async (cut) => {
        expect(await outcome(good.subarray(0, cut))).not.toBe('ok');
      }),
      { numRuns: 200 },
    );
  });
});

describe('container round trip', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
  it('readBundleUnverified returns what encodeContainer wrote', async () => {
    const manifest = new TextEncoder().encode(
      '{"payloadType":"application/vnd.webflash.manifest+json","payload":"","signatures":[]}',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ name, data: fc.uint8Array({ maxLength: 300 }) }), {
          selector: (r) => r.name,
          maxLength: 5,
        }),
        async (images) => {
          const parts = await readBundleUnverified(
            encodeContainer({ roots: [], manifest, images }),
          );
          expect(parts.images).toEqual(images);
          expect(parts.manifest).toEqual(manifest);
        },
      ),
      { numRuns: 200 },
    );
  });
});
