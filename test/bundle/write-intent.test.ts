/**
 * Write intent (docs/bundle-format.md, "Write intent"): a target that writes a protected range
 * (the ESP bootloader region below 0x8000) must declare it, and the technician console shows it
 * with the bundle, before anything is flashed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBundle } from '../../src/bundle/create.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { protectedWrites } from '../../src/bundle/write-intent.ts';
import { pinnedRoot } from '../../src/bundle/pinned-root.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { summarizeBundleNow } from '../../src/app/bundle-summary.ts';
import { goodBundle, key, NOW, pinnedTestRoot, testImages, testManifest } from './fixtures.ts';

const espTarget = (address: number, writes?: string[]) => ({
  chip: 'esp32',
  protocol: 'esp-serial' as const,
  ...(writes ? { writes: writes as ['bootloader'] } : {}),
  images: [
    { name: 'bootloader', address },
    { name: 'app', address: 0x10000 },
  ],
});

function build(target: ReturnType<typeof espTarget>): Uint8Array {
  return createBundle({
    manifest: testManifest({ targets: [target] }),
    images: testImages(),
    signers: [key(1), key(2)],
  });
}

function thrown(f: () => unknown): BundleError {
  try {
    f();
  } catch (e) {
    if (e instanceof BundleError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('write intent', () => {
  it('a release writing below 0x8000 on ESP must declare "bootloader"', () => {
    for (const address of [0x0, 0x1000, 0x7fff]) {
      const err = thrown(() => build(espTarget(address)));
      expect(err.reason).toBe('manifest.invalid');
      expect(err.detail).toBe(
        'targets[0]: "bootloader" writes the bootloader region (below 0x8000); "writes" must ' +
          'list "bootloader"',
      );
      expect(thrown(() => build(espTarget(address, ['partitions', 'app']))).reason).toBe(
        'manifest.invalid',
      );
    }
    expect(() => build(espTarget(0x1000, ['bootloader', 'app']))).not.toThrow();
    expect(() => build(espTarget(0x8000))).not.toThrow(); // the partition table: not protected
  });

  it('refuses unknown or repeated kinds', () => {
    const unknown = thrown(() => build(espTarget(0x1000, ['bootloader', 'everything'])));
    expect(unknown).toMatchObject({ reason: 'json.schema', field: 'targets[0].writes[1]' });
    const twice = thrown(() => build(espTarget(0x1000, ['bootloader', 'bootloader'])));
    expect(twice.reason).toBe('manifest.invalid');
  });

  it('the technician summary lists the protected writes before flashing', async () => {
    const v = await verifyBundle(goodBundle(), { trustRoot: pinnedTestRoot(), now: NOW });
    expect(summarizeBundleNow(v).protectedWrites).toEqual([
      {
        target: 'esp32s3/esp-serial',
        kind: 'bootloader',
        what: 'the bootloader region (below 0x8000)',
        images: ['bootloader'],
      },
    ]);
    const appOnly = await verifyBundle(goodBundle({ targets: [espTarget(0x8000)] }), {
      trustRoot: pinnedTestRoot(),
      now: NOW,
    });
    expect(protectedWrites(appOnly.manifest)).toEqual([]);
  });

  it('the demo bundle declares the bootloaders it carries', async () => {
    const bytes = new Uint8Array(
      readFileSync(new URL('../../public/demo/demo.fwb', import.meta.url)),
    );
    const v = await verifyBundle(bytes, {
      trustRoot: await pinnedRoot({ mode: 'demo' }),
      now: new Date('2026-11-15T00:00:00Z'),
    });
    expect(protectedWrites(v.manifest).map((w) => [w.target, w.images])).toEqual([
      ['esp32/esp-serial', ['bootloader-esp32']],
      ['esp32c3/esp-serial', ['bootloader-esp32c3']],
    ]);
  });
});
