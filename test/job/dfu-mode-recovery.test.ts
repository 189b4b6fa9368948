/**
 * A DFU 1.1 device left in its DFU-mode identity (DFU 1.1 §5.1) by a failed update is updated
 * again: the release's 'dfu' target names that identity (`usb.dfuProductId`), the board check
 * accepts it, and a full FlashJob with a verified bundle writes the image byte for byte — no
 * DFU_DETACH, since the device is in DFU mode from the start. The failure before it says how to
 * recover, for the technician and the customer. Simulated gadget, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { createBundle } from '../../src/bundle/create.ts';
import type { ManifestDraft } from '../../src/bundle/create.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { ProtocolError, TransportError } from '../../src/core/errors.ts';
import { failureText } from '../../src/customer/messages.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import type { Connector, JobResult } from '../../src/job/types.ts';
import { connectDfu, STAYS_IN_DFU_MODE } from '../../src/protocols/dfu/dfu-driver.ts';
import { DfuStatus } from '../../src/protocols/dfu/dfu-spec.ts';
import { dfuTargetFor, usbFiltersFor } from '../../src/protocols/dfu/usb-targets.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
} from '../../src/sim/dfu/generic-dfu-sim.ts';
import type { UsbDeviceHandle } from '../../src/transport/usb.ts';
import { requestUsbDevice, WebUsbWatcher, type WebUsbOptions } from '../../src/transport/webusb.ts';
import { CREATED, EXPIRES, key, NOW, pinnedTestRoot } from '../bundle/fixtures.ts';
import { genericRig, pattern } from '../dfu/rig.ts';

const IMAGE = pattern(40 * 1024, 9);

type Usb = { vendorId: number; productId: number; dfuProductId?: number };

function gadgetManifest(usb: Usb): ManifestDraft {
  return {
    product: 'acme-gadget',
    version: '2.0.0',
    securityCounter: 1,
    created: CREATED,
    expires: EXPIRES,
    notes: '',
    targets: [{ chip: 'example-gadget', protocol: 'dfu', usb, images: [{ name: 'app', slot: 0 }] }],
  } as unknown as ManifestDraft;
}

async function gadgetBundle(usb: Usb) {
  const bytes = createBundle({
    manifest: gadgetManifest(usb),
    images: { app: IMAGE },
    signers: [key(1), key(2)],
  });
  return verifyBundle(bytes, { trustRoot: pinnedTestRoot(), now: NOW });
}

const RECOVERABLE: Usb = {
  vendorId: GENERIC_DFU_VENDOR_ID,
  productId: GENERIC_RUNTIME_PRODUCT_ID,
  dfuProductId: GENERIC_DFU_PRODUCT_ID,
};

/** The connector the apps build: chip and slot from the shared USB rules. */
function dfuConnector(
  targets: Parameters<typeof dfuTargetFor>[0],
  handle: UsbDeviceHandle,
  webOptions: WebUsbOptions,
): Connector<UsbDeviceHandle> {
  const fit = dfuTargetFor(targets, handle.info);
  return {
    id: 'dfu',
    connect: (device, o) =>
      connectDfu(device, {
        ...o,
        watcher: new WebUsbWatcher(webOptions),
        ...(fit ? { chip: fit.chip } : {}),
        ...(fit?.alternateSetting === undefined ? {} : { alternateSetting: fit.alternateSetting }),
      }),
  };
}

async function flash(
  rig: Awaited<ReturnType<typeof genericRig>>,
  verified: Awaited<ReturnType<typeof gadgetBundle>>,
  handle: UsbDeviceHandle,
): Promise<JobResult> {
  const targets = verified.manifest.targets;
  return new FlashJob({
    port: handle,
    connector: dfuConnector(targets, handle, rig.webOptions),
    source: fromVerifiedBundle(verified, { mode: 'technician' }),
    clock: rig.clock,
    logger: rig.logger,
    advise: recoveryAdvice,
  }).run();
}

describe('a DFU 1.1 gadget in its DFU-mode identity', () => {
  it('is flashed byte for byte when the target names its dfuProductId', async () => {
    const rig = await genericRig({ startInDfuMode: true });
    expect(rig.handle.info.productId).toBe(GENERIC_DFU_PRODUCT_ID);
    const verified = await gadgetBundle(RECOVERABLE);
    const result = await flash(rig, verified, rig.handle);
    expect(result).toMatchObject({ ok: true, identity: { chip: 'example-gadget' } });
    expect(rig.board.image()).toEqual(IMAGE);
    // Never switched from run-time mode: no DFU_DETACH was sent.
    expect(rig.log.some((e) => e.message.includes('DFU_DETACH'))).toBe(false);
    // Manifested and reset: the firmware runs under the run-time identity again.
    expect(rig.board.boots).toBe(1);
    rig.clock.advance(1000);
    expect(rig.board.current.runtime).toBe(true);
  });

  it('is refused before anything is written when the target names only run-time ids', async () => {
    const rig = await genericRig({ startInDfuMode: true });
    const verified = await gadgetBundle({
      vendorId: GENERIC_DFU_VENDOR_ID,
      productId: GENERIC_RUNTIME_PRODUCT_ID,
    });
    const result = await flash(rig, verified, rig.handle);
    expect(result).toMatchObject({ ok: false, flashTouched: false });
    expect(result.ok || result.error).toMatchObject({
      code: 'bundle.rejected',
      reason: 'target.mismatch',
    });
    expect(rig.board.flash.counters.programOps).toBe(0);
  });

  it('after an update that failed past DFU_DETACH, says so and is updated on the next try', async () => {
    const rig = await genericRig({
      faults: { failBlock: { block: 3, status: DfuStatus.errWRITE } },
    });
    expect(rig.handle.info.productId).toBe(GENERIC_RUNTIME_PRODUCT_ID);
    // The person allowed the DFU-mode identity too (Chromium keys permissions on vid/pid/serial).
    rig.fake.allow(GENERIC_DFU_VENDOR_ID, GENERIC_DFU_PRODUCT_ID, 'GADGET0001');
    const verified = await gadgetBundle(RECOVERABLE);
    const failed = await flash(rig, verified, rig.handle);
    if (failed.ok) throw new Error('the first update should fail');
    expect(failed.flashTouched).toBe(true);
    expect(failed.error.hints).toContain(STAYS_IN_DFU_MODE);
    expect(failed.recovery).toMatch(/stays in its update \(DFU\) mode; press Flash again/);
    expect(
      failureText({
        error: failed.error,
        flashTouched: true,
        protocol: 'dfu',
        transport: 'usb',
      }).steps[0],
    ).toBe('Your device stays in its update mode. Press Try again to update it.');

    // The device waits in DFU mode under its DFU-mode id; the fault was a one-off.
    rig.clock.advance(1000);
    expect(rig.board.current.runtime).toBe(false);
    delete rig.board.options.faults;
    const filters = usbFiltersFor(verified.manifest.targets);
    expect(filters).toContainEqual({
      vendorId: GENERIC_DFU_VENDOR_ID,
      productId: GENERIC_DFU_PRODUCT_ID,
    });
    const again = await requestUsbDevice(filters, rig.webOptions);
    expect(again.info.productId).toBe(GENERIC_DFU_PRODUCT_ID);
    const result = await flash(rig, verified, again);
    expect(result.ok).toBe(true);
    expect(rig.board.image()).toEqual(IMAGE);
  });
});

describe('recovery words for a DFU 1.1 update that stopped part-way', () => {
  const touched = { phase: 'writing' as const, cancelled: false, flashTouched: true };

  it.each([
    ['a refused block', new ProtocolError('protocol.command-failed', 'errWRITE')],
    ['a verification mismatch', new ProtocolError('protocol.bad-reply', 'x')],
  ])('technician, %s: stays in DFU mode, Flash again', (_, error) => {
    expect(recoveryAdvice({ ...touched, protocol: 'dfu', error })).toMatch(
      /^The firmware on the board is incomplete.*stays in its update \(DFU\) mode; press Flash again to update it\./,
    );
  });

  it('technician, the device unplugged: plug it back in, it stays in DFU mode', () => {
    const error = new TransportError('transport.device-lost', 'gone');
    expect(recoveryAdvice({ ...touched, protocol: 'dfu', error })).toMatch(
      /Plug the device back in: it stays in its update \(DFU\) mode, and pressing Flash again updates it\./,
    );
  });

  it('other protocols and untouched flash keep their words', () => {
    const error = new ProtocolError('protocol.command-failed', 'x');
    expect(recoveryAdvice({ ...touched, protocol: 'dfuse', error })).not.toMatch(/update \(DFU\)/);
    expect(recoveryAdvice({ ...touched, flashTouched: false, protocol: 'dfu', error })).toMatch(
      /^Nothing was written/,
    );
  });

  it('customer: plain steps ending in Try again', () => {
    const failed = failureText({
      error: new ProtocolError('protocol.command-failed', 'x'),
      flashTouched: true,
      protocol: 'dfu',
      transport: 'usb',
    });
    expect(failed.message).toMatch(/will not start normally until it is updated again/);
    expect(failed.steps[0]).toBe(
      'Your device stays in its update mode. Press Try again to update it.',
    );
    const lost = failureText({
      error: new TransportError('transport.device-lost', 'gone'),
      flashTouched: true,
      protocol: 'dfu',
      transport: 'usb',
    });
    expect(lost.steps).toEqual([
      'Plug the device back in with the USB cable. It stays in its update mode.',
      'Press Try again and keep the cable plugged in until the update finishes.',
    ]);
    for (const t of [failed, lost])
      expect(`${t.title} ${t.steps.join(' ')}`).not.toMatch(/\b(DFU|flash|bootloader)\b/i);
  });
});
