/**
 * A 'dfu' target's DFU-mode product id (`usb.dfuProductId`, docs/bundle-format.md "Targets"):
 * the strict parser accepts it only on DFU 1.1 targets, the encoders carry it, and the board
 * check matches a device by its run-time or its DFU-mode ids (DFU 1.1 §5.1).
 */
import { describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { encodeManifestPayload, parseManifest } from '../../src/bundle/manifest.ts';
import { plainTargets } from '../../src/bundle/plain-targets.ts';
import { checkTarget } from '../../src/bundle/target.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import {
  CREATED,
  EXPIRES,
  goodBundle,
  NOW,
  pinnedTestRoot,
  testImages,
  testManifest,
} from './fixtures.ts';

const SHA = 'a'.repeat(64);

/** Manifest JSON bytes with one target whose `usb` object is `usb`. */
function manifestWith(protocol: string, usb: unknown): Uint8Array {
  const image = protocol === 'dfu' ? { slot: 0 } : { address: 0x08000000 };
  return new TextEncoder().encode(
    JSON.stringify({
      schema: 1,
      product: 'acme-gadget',
      version: '2.0.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      targets: [
        {
          chip: 'example-gadget',
          protocol,
          usb,
          images: [{ name: 'app', ...image, size: 16, sha256: SHA }],
        },
      ],
      notes: '',
    }),
  );
}

function reason(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof BundleError) return `${e.reason}: ${e.detail ?? ''}`;
    throw e;
  }
  return undefined;
}

describe('usb.dfuProductId in the manifest', () => {
  it('is accepted on a dfu target, kept, and carried by the encoders', () => {
    const m = parseManifest(
      manifestWith('dfu', { vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 }),
    );
    expect(m.targets[0]!.usb).toEqual({ vendorId: 0x1209, productId: 0x0001, dfuProductId: 2 });
    expect(Object.isFrozen(m.targets[0]!.usb)).toBe(true);
    expect(plainTargets(m.targets)[0]!.usb).toEqual({
      vendorId: 0x1209,
      productId: 0x0001,
      dfuProductId: 0x0002,
    });
    const { schema: _s, createdMs: _c, expiresMs: _e, ...content } = m;
    const again = parseManifest(encodeManifestPayload(content));
    expect(again).toEqual(m);
    expect(new TextDecoder().decode(encodeManifestPayload(content))).toContain(
      '"usb":{"vendorId":4617,"productId":1,"dfuProductId":2}',
    );
  });

  it('stays optional: a dfu target without it parses with no such member', () => {
    const m = parseManifest(manifestWith('dfu', { vendorId: 0x1209, productId: 0x0001 }));
    expect(m.targets[0]!.usb).toEqual({ vendorId: 0x1209, productId: 0x0001 });
    expect(Object.hasOwn(plainTargets(m.targets)[0]!.usb!, 'dfuProductId')).toBe(false);
  });

  it.each(['dfuse', 'stm32-usart', 'esp-serial'])('is an unknown field on a %s target', (p) => {
    expect(
      reason(() =>
        parseManifest(
          manifestWith(p, { vendorId: 0x0483, productId: 0xdf11, dfuProductId: 0xdf11 }),
        ),
      ),
    ).toBe('json.schema: targets[0].usb.dfuProductId is not a known field');
  });

  it.each([
    ['above 65535', 0x1_0000, 'json.schema: targets[0].usb.dfuProductId must be within 0…65535'],
    ['negative', -1, 'json.schema: targets[0].usb.dfuProductId must be within 0…65535'],
    ['text', '0x0002', 'json.schema: targets[0].usb.dfuProductId must be an integer'],
    ['null', null, 'json.schema: targets[0].usb.dfuProductId must be an integer'],
    ['a boolean', true, 'json.schema: targets[0].usb.dfuProductId must be an integer'],
    // The strict JSON reader refuses any non-integer number before the schema sees it.
    ['a fraction', 1.5, 'json.number: only integers are allowed'],
  ])('is refused when %s', (_, value, why) => {
    expect(
      reason(() =>
        parseManifest(
          manifestWith('dfu', { vendorId: 0x1209, productId: 0x0001, dfuProductId: value }),
        ),
      ),
    ).toContain(why);
  });

  it('keeps the other usb rules: both run-time ids are still required', () => {
    expect(reason(() => parseManifest(manifestWith('dfu', { vendorId: 1, dfuProductId: 2 })))).toBe(
      'json.schema: targets[0].usb.productId is missing',
    );
    expect(
      reason(() => parseManifest(manifestWith('dfu', { vendorId: 1, productId: 1, dfuPid: 2 }))),
    ).toBe('json.schema: targets[0].usb.dfuPid is not a known field');
  });

  it('two targets with the same run-time ids are one target, whatever their DFU-mode ids', () => {
    const doc = JSON.parse(
      new TextDecoder().decode(
        manifestWith('dfu', { vendorId: 0x1209, productId: 1, dfuProductId: 2 }),
      ),
    ) as { targets: { usb: { dfuProductId: number } }[] };
    const second = structuredClone(doc.targets[0]!);
    second.usb.dfuProductId = 3;
    doc.targets.push(second);
    expect(reason(() => parseManifest(new TextEncoder().encode(JSON.stringify(doc))))).toBe(
      'manifest.invalid: targets[1] repeats an earlier target',
    );
  });
});

describe('checkTarget with a DFU-mode identity', () => {
  const opts = { trustRoot: pinnedTestRoot(), now: NOW };
  const gadget = (usb: { vendorId: number; productId: number; dfuProductId?: number }) =>
    verifyBundle(
      goodBundle({
        targets: [
          ...testManifest().targets,
          { chip: 'example-gadget', protocol: 'dfu', usb, images: [{ name: 'app', slot: 0 }] },
        ],
      }),
      opts,
    );
  const query = (productId: number, vendorId = 0x1209) => ({
    chip: 'example-gadget',
    protocol: 'dfu' as const,
    usbVendorId: vendorId,
    usbProductId: productId,
  });

  it('matches the device in run-time mode and in DFU mode', async () => {
    const v = await gadget({ vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 });
    for (const pid of [0x0001, 0x0002]) {
      const { target, regions } = checkTarget(v, query(pid));
      expect(target.chip).toBe('example-gadget');
      expect(regions).toEqual([{ name: 'app', slot: 0, data: testImages().get('app') }]);
    }
  });

  it.each([
    ['another product id', query(0x0003)],
    ['the DFU-mode product id under another vendor', query(0x0002, 0x0483)],
  ])('refuses %s', async (_, q) => {
    const v = await gadget({ vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 });
    expect(() => checkTarget(v, q)).toThrow(
      expect.objectContaining({ reason: 'target.mismatch' }) as Error,
    );
  });

  it('without dfuProductId, the device in DFU mode is not the target', async () => {
    const v = await gadget({ vendorId: 0x1209, productId: 0x0001 });
    expect(() => checkTarget(v, query(0x0002))).toThrow(
      expect.objectContaining({ reason: 'target.mismatch' }) as Error,
    );
    expect(checkTarget(v, query(0x0001)).target.chip).toBe('example-gadget');
  });
});
