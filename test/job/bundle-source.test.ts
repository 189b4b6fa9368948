import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { UsageError } from '../../src/core/errors.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import type { VerifiedBundle } from '../../src/bundle/verify.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import type { JobFailure } from '../../src/job/types.ts';
import { signedBundle, type DraftTarget } from './bundle-fixture.ts';
import { harness, pattern } from './harness.ts';

const boot = pattern(3000, 11);
const app = pattern(9000, 12);

async function bundle(
  options: { securityCounter?: number; targets?: DraftTarget[] } = {},
): Promise<VerifiedBundle> {
  return signedBundle({
    images: { boot, app },
    ...(options.securityCounter === undefined ? {} : { securityCounter: options.securityCounter }),
    targets: options.targets ?? [
      {
        chip: 'esp32s3',
        protocol: 'esp-serial',
        writes: ['bootloader', 'app'],
        images: [
          { name: 'boot', address: 0x0 },
          { name: 'app', address: 0x10000 },
        ],
      },
    ],
  });
}

describe('fromVerifiedBundle', () => {
  it('writes the matching target and records the release', async () => {
    const store = new MemoryRollbackStore();
    const source = fromVerifiedBundle(await bundle(), { mode: 'customer', rollbackStore: store });
    expect(source.label).toBe('blink 1.2.0');
    const h = harness({ source });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(equalBytes(h.session.flash.subarray(0, boot.length), boot)).toBe(true);
    expect(equalBytes(h.session.flash.subarray(0x10000, 0x10000 + app.length), app)).toBe(true);
    expect(await store.get('blink')).toMatchObject({ securityCounter: 3, version: '1.2.0' });
  });

  it.each<[string, () => Promise<Parameters<typeof harness>[0]>, string]>([
    [
      'a board of another chip',
      async () => ({
        source: fromVerifiedBundle(await bundle(), { mode: 'customer' }),
        session: { identity: { chip: 'esp32c3', name: 'ESP32-C3' } },
      }),
      'target.mismatch',
    ],
    [
      'a board running a higher security version',
      async () => ({
        source: fromVerifiedBundle(await bundle(), { mode: 'customer' }),
        session: { installed: { securityVersion: 5 } },
      }),
      'rollback.board',
    ],
    [
      'a higher counter recorded by this updater',
      async () => {
        const store = new MemoryRollbackStore();
        await store.put('blink', { securityCounter: 4, version: '1.3.0', rootVersion: 1 });
        return {
          source: fromVerifiedBundle(await bundle(), { mode: 'customer', rollbackStore: store }),
        };
      },
      'rollback.counter',
    ],
    [
      'a USB identity the target does not list',
      async () => ({
        source: fromVerifiedBundle(
          await bundle({
            targets: [
              {
                chip: 'esp32s3',
                protocol: 'esp-serial',
                usb: { vendorId: 0x303a, productId: 0x1001 },
                writes: ['bootloader', 'app'],
                images: [
                  { name: 'boot', address: 0 },
                  { name: 'app', address: 0x10000 },
                ],
              },
            ],
          }),
          { mode: 'customer' },
        ),
        port: { info: { label: 'CP2102', usbVendorId: 0x10c4, usbProductId: 0xea60 } },
      }),
      'target.mismatch',
    ],
  ])('refuses %s before writing anything', async (_name, setup, reason) => {
    const h = harness(await setup());
    const r = (await h.job.run()) as JobFailure;
    expect(r.ok).toBe(false);
    expect(r.error).toBeInstanceOf(BundleError);
    expect((r.error as BundleError).reason).toBe(reason);
    expect(r.phase).toBe('checking');
    expect(r.flashTouched).toBe(false);
    expect(h.session.writes).toEqual([]);
  });

  it('matches a target on the USB identity of the port', async () => {
    const verified = await bundle({
      targets: [
        {
          chip: 'esp32s3',
          protocol: 'esp-serial',
          usb: { vendorId: 0x303a, productId: 0x1001 },
          writes: ['bootloader', 'app'],
          images: [
            { name: 'boot', address: 0 },
            { name: 'app', address: 0x10000 },
          ],
        },
      ],
    });
    const h = harness({
      source: fromVerifiedBundle(verified, { mode: 'customer' }),
      port: { info: { label: 'USB JTAG/serial', usbVendorId: 0x303a, usbProductId: 0x1001 } },
    });
    expect((await h.job.run()).ok).toBe(true);
  });

  it('refuses an object that only looks like a verified bundle', async () => {
    const real = await bundle();
    const fake = {
      manifest: real.manifest,
      imageBytes: () => new Uint8Array(1),
    } as unknown as VerifiedBundle;
    expect(() => fromVerifiedBundle(fake, { mode: 'customer' })).toThrow(UsageError);
  });
});
