/** verifyBundle end to end: streaming, the VerifiedBundle guarantees, targets, waits. */
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBundle, readBundleUnverified, signBundle } from '../../src/bundle/create.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import {
  PROTOCOL_IDS as BUNDLE_PROTOCOLS,
  type ProtocolId as BundleProtocolId,
} from '../../src/bundle/manifest.ts';
import { checkTarget } from '../../src/bundle/target.ts';
import { verifyBundle, VerifiedBundle, type VerifyProgress } from '../../src/bundle/verify.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { AbortError, TimeoutError, UsageError } from '../../src/core/errors.ts';
import { toHex } from '../../src/core/bytes.ts';
import type { DeviceIdentity, ProtocolId } from '../../src/protocols/driver.ts';
import {
  chunked,
  goodBundle,
  key,
  NOW,
  pinnedTestRoot,
  rotatedRoot,
  testImages,
  testManifest,
} from './fixtures.ts';

const trustRoot = pinnedTestRoot();
const opts = { trustRoot, now: NOW };

describe('a genuine bundle', () => {
  it('verifies from one array, with its manifest, root and image digests', async () => {
    const bytes = goodBundle();
    const v = await verifyBundle(bytes, opts);
    expect(v.manifest).toMatchObject({
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
    });
    expect(v.root.version).toBe(1);
    expect(v.bundleBytes).toBe(bytes.length);
    const images = testImages();
    expect(v.images).toEqual(
      [...images].map(([name, data]) => ({ name, size: data.length, sha256: toHex(sha256(data)) })),
    );
    for (const [name, data] of images) expect(v.imageBytes(name)).toEqual(data);
  });

  it('verifies streamed in chunks of any size, sync or async', async () => {
    const bytes = goodBundle();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (sizes, async) => {
          const parts = chunked(bytes, sizes);
          const source = async
            ? (async function* () {
                yield* parts;
              })()
            : parts;
          const v = await verifyBundle(source, opts);
          expect(v.imageBytes('app')).toEqual(testImages().get('app'));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reports progress up to the full size', async () => {
    const bytes = goodBundle();
    const seen: VerifyProgress[] = [];
    await verifyBundle(chunked(bytes, [700]), { ...opts, onProgress: (p) => seen.push(p) });
    expect(seen[0]).toEqual({ phase: 'header', bytesDone: 0 });
    expect(seen.at(-1)).toEqual({
      phase: 'done',
      bytesDone: bytes.length,
      bytesTotal: bytes.length,
    });
    const images = seen.filter((p) => p.phase === 'images');
    expect(images.every((p) => p.bytesTotal === bytes.length)).toBe(true);
    expect(images.map((p) => p.bytesDone)).toEqual(
      [...images.map((p) => p.bytesDone)].sort((a, b) => a - b),
    );
  });

  it('accepts a bundle signed through a carried root rotation', async () => {
    const bytes = createBundle({
      manifest: testManifest(),
      images: testImages(),
      signers: [key(4), key(5)],
      roots: [rotatedRoot()],
    });
    const v = await verifyBundle(bytes, opts);
    expect(v.root.version).toBe(2);
  });

  it('k-of-n: signatures added one by one by different signers', async () => {
    const unsigned = createBundle({ manifest: testManifest(), images: testImages() });
    const once = await signBundle(unsigned, key(3));
    await expect(verifyBundle(once, opts)).rejects.toMatchObject({ reason: 'signature.threshold' });
    const twice = await signBundle(once, key(1));
    await expect(verifyBundle(twice, opts)).resolves.toBeInstanceOf(VerifiedBundle);
    await expect(signBundle(twice, key(1))).rejects.toThrow(RangeError);
    const parts = await readBundleUnverified(twice);
    expect(parts.images.map((im) => im.name)).toEqual(['bootloader', 'app']);
  });
});

describe('VerifiedBundle', () => {
  it('cannot be constructed outside verifyBundle', () => {
    const Ctor = VerifiedBundle as unknown as new (...args: unknown[]) => unknown;
    expect(() => new Ctor(Symbol('VerifiedBundle.mint'), {})).toThrow(TypeError);
    const lookalike = { manifest: {}, images: [], imageBytes: () => new Uint8Array() };
    expect(VerifiedBundle.is(lookalike)).toBe(false);
    expect(VerifiedBundle.is(Object.create(VerifiedBundle.prototype))).toBe(false);
  });

  it('is frozen and hands out copies: neither the source nor a consumer can change its bytes', async () => {
    const bytes = goodBundle();
    const source = chunked(bytes, [4096]);
    const v = await verifyBundle(source, opts);
    expect(VerifiedBundle.is(v)).toBe(true);
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.manifest.targets[0]!.images[0])).toBe(true);
    for (const chunk of source) chunk.fill(0); // the caller reuses its buffers
    const copy = v.imageBytes('app');
    copy.fill(0xaa);
    expect(v.imageBytes('app')).toEqual(testImages().get('app'));
    expect(() => v.imageBytes('nope')).toThrow(UsageError);
    expect(() => ((v as { manifest: unknown }).manifest = {})).toThrow(TypeError);
  });

  it('toChunks re-encodes a bundle that verifies to the same content', async () => {
    const v = await verifyBundle(goodBundle(), opts);
    const again = await verifyBundle(v.toChunks(), opts);
    expect(again.images).toEqual(v.images);
    expect(again.manifest).toEqual(v.manifest);
  });
});

describe('checkTarget', () => {
  const dual = (): Uint8Array =>
    goodBundle({
      targets: [
        {
          chip: 'esp32s3',
          protocol: 'esp-serial',
          writes: ['bootloader', 'app'],
          images: [
            { name: 'bootloader', address: 0 },
            { name: 'app', address: 0x10000 },
          ],
        },
        {
          chip: 'stm32f4',
          protocol: 'dfu',
          usb: { vendorId: 0x0483, productId: 0xdf11 },
          images: [{ name: 'app', slot: 0 }],
        },
      ],
    });

  it('finds the target of the connected board and hands out its regions as copies', async () => {
    const v = await verifyBundle(dual(), opts);
    const identity: DeviceIdentity = { protocol: 'esp-serial', chip: 'esp32s3', name: 'ESP32-S3' };
    const { target, regions } = checkTarget(v, identity);
    expect(target.chip).toBe('esp32s3');
    expect(regions.map((r) => [r.name, r.address])).toEqual([
      ['bootloader', 0],
      ['app', 0x10000],
    ]);
    expect(regions[1]!.data).toEqual(testImages().get('app'));
    const dfu = checkTarget(v, {
      chip: 'stm32f4',
      protocol: 'dfu',
      usbVendorId: 0x0483,
      usbProductId: 0xdf11,
    });
    expect(dfu.regions).toEqual([{ name: 'app', slot: 0, data: testImages().get('app') }]);
  });

  it.each([
    ['other chip', { chip: 'esp32c3', protocol: 'esp-serial' as const }],
    ['other protocol', { chip: 'esp32s3', protocol: 'stm32-usart' as const }],
    [
      'USB ids differ',
      { chip: 'stm32f4', protocol: 'dfu' as const, usbVendorId: 0x0483, usbProductId: 0xdf12 },
    ],
    ['USB ids unknown', { chip: 'stm32f4', protocol: 'dfu' as const }],
    ['board id differs', { chip: 'esp32s3', board: 'other-board' }],
  ])('refuses: %s', async (_, query) => {
    const v = await verifyBundle(dual(), opts);
    expect(() => checkTarget(v, query)).toThrow(
      expect.objectContaining({ reason: 'target.mismatch' }) as Error,
    );
  });

  it('names the same protocols as the driver contract', () => {
    const driver: readonly ProtocolId[] = [
      'esp-serial',
      'stm32-usart',
      'dfu',
      'dfuse',
      'avr-stk500v1',
      'avr-stk500v2',
      'avr109',
      'mcuboot-smp',
    ];
    const ours: readonly BundleProtocolId[] = BUNDLE_PROTOCOLS;
    expect([...ours].sort()).toEqual([...driver].sort());
    // Type-level: each is assignable to the other.
    const a: ProtocolId = ours[0]!;
    const b: BundleProtocolId = driver[0]!;
    expect([a, b]).toBeDefined();
  });
});

describe('waits and limits', () => {
  it('a stalled download throws TimeoutError after stallTimeoutMs on the given clock', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const bytes = goodBundle();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield bytes.slice(0, 100);
      await new Promise(() => undefined); // never sends more
    }
    const started = clock.now();
    const err = await verifyBundle(stalls(), { ...opts, clock, stallTimeoutMs: 15_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect(clock.now() - started).toBe(15_000);
  });

  it('an abort stops the wait with AbortError', async () => {
    const controller = new AbortController();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield goodBundle().slice(0, 100);
      controller.abort();
      await new Promise(() => undefined);
    }
    await expect(
      verifyBundle(stalls(), { ...opts, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it('stops pulling from an endless source at the cap, and closes it', async () => {
    let pulled = 0;
    let closed = false;
    const bytes = goodBundle();
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        yield bytes;
        for (;;) {
          pulled++;
          yield new Uint8Array(1024);
        }
      } finally {
        closed = true;
      }
    }
    const err = await verifyBundle(endless(), {
      ...opts,
      maxBundleBytes: bytes.length + 10_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).reason).toMatch(/^(container\.trailing-data|size\.exceeded)$/);
    expect(pulled).toBeLessThan(12);
    expect(closed).toBe(true);
  });

  it('an endless stream of empty chunks is refused', async () => {
    function* empties(): Generator<Uint8Array> {
      for (;;) yield new Uint8Array(0);
    }
    await expect(verifyBundle(empties(), opts)).rejects.toMatchObject({ reason: 'size.exceeded' });
  });

  it.each([
    ['negative cap', { maxBundleBytes: -1 }],
    ['skew over a day', { clockSkewMs: 25 * 3600 * 1000 }],
    ['invalid date', { now: new Date('nope') }],
  ])('refuses bad options: %s', async (_, bad) => {
    await expect(verifyBundle(goodBundle(), { ...opts, ...bad })).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  it('expiry honours the clock skew', async () => {
    const bytes = goodBundle();
    const expires = Date.parse('2027-06-01T00:00:00Z');
    await expect(
      verifyBundle(bytes, { ...opts, now: new Date(expires + 4 * 60_000) }),
    ).resolves.toBeDefined();
    await expect(
      verifyBundle(bytes, { ...opts, now: new Date(expires + 6 * 60_000) }),
    ).rejects.toMatchObject({ reason: 'expired' });
    await expect(
      verifyBundle(bytes, { ...opts, now: new Date(expires + 6 * 60_000), clockSkewMs: 0 }),
    ).rejects.toMatchObject({ reason: 'expired' });
  });
});
