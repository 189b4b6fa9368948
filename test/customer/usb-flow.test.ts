/**
 * The customer updater over WebUSB, end to end in virtual time: the state machine
 * (src/customer/flow.ts) with the browser services (src/customer/services.ts), which load the
 * USB chunk (src/customer/usb-connector.ts), in front of a simulated STM32F405 DfuSe bootloader
 * (src/sim/dfu) behind the fake `navigator.usb` (src/sim/web/fake-webusb.ts). The screens, what
 * reaches the chip's flash, and the words for USB failures: read protection, the wrong chip,
 * Windows without WinUSB, a device another program holds, a closed chooser. Then a DFU 1.1
 * gadget (src/sim/dfu/generic-dfu-sim.ts) that restarts in DFU mode under a new product id: the
 * "choose it again" step, a closed chooser, giving up, nobody answering.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import type { VerifiedBundle } from '../../src/bundle/verify.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { ProtocolError, TransportError } from '../../src/core/errors.ts';
import {
  createUpdater as createProductUpdater,
  type CustomerServices,
  type Screen,
  type Updater,
  type UpdaterOptions,
} from '../../src/customer/flow.ts';
import { CHOOSE_AGAIN_TIMEOUT_MS } from '../../src/customer/choose-again.ts';
import { viewOf } from '../../src/customer/view.ts';
import { failureText, noDeviceNote } from '../../src/customer/messages.ts';
import { createCustomerServices } from '../../src/customer/services.ts';
import type { Support, Transport } from '../../src/customer/support.ts';
import {
  DfuseSimDevice,
  STM32_DFU_PRODUCT_ID,
  STM32_DFU_VENDOR_ID,
} from '../../src/sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
  GenericDfuBoard,
} from '../../src/sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import type { FlashModel } from '../../src/sim/flash-model.ts';
import { FakeUsb, type FakeUsbOptions } from '../../src/sim/web/fake-webusb.ts';
import { signedBundle, type DraftTarget } from '../job/bundle-fixture.ts';
import { loadDrivers } from '../../src/protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

/** The updater of a page for product "blink", the product of every bundle here. */
const createUpdater = (o: Omit<UpdaterOptions, 'product'>): Updater =>
  createProductUpdater({ product: 'blink', ...o });

const WINDOWS_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const BOTH: Support = { ok: true, transports: ['serial', 'usb'] };
const url = () => new URL('https://shop.example/fw/widget.fwb');

/** 20 KiB of deterministic bytes: two 16 KiB sectors, ten 2 KiB DfuSe blocks. */
const app = new Uint8Array(20 * 1024).map((_, i) => (i * 31 + 7) & 0xff);

const dfuseTarget = (chip = 'stm32f4'): DraftTarget => ({
  chip,
  protocol: 'dfuse',
  usb: { vendorId: STM32_DFU_VENDOR_ID, productId: STM32_DFU_PRODUCT_ID },
  images: [{ name: 'app', address: 0x08000000 }],
});
const espTarget: DraftTarget = {
  chip: 'esp32s3',
  protocol: 'esp-serial',
  images: [{ name: 'app', address: 0x10000 }],
};

const bundleOf = (...targets: DraftTarget[]) => signedBundle({ images: { app }, targets });

/** A simulated STM32F405 in its DfuSe bootloader on a bus behind the fake WebUSB. */
function rig(options: {
  bundle: () => Promise<VerifiedBundle>;
  readProtected?: boolean;
  fake?: Partial<FakeUsbOptions>;
  withGadget?: boolean;
}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const bus = new SimUsbBus();
  const device = new DfuseSimDevice({ clock, bus, readProtected: options.readProtected ?? false });
  bus.attach(device);
  // A DFU 1.1 gadget on the same bus, whose ids no target names: never offered.
  if (options.withGadget) new GenericDfuBoard({ clock, bus });
  const offered: string[][] = [];
  const fake = new FakeUsb({
    bus,
    chooser: (candidates) => {
      offered.push(candidates.map((d) => `${d.vendorId.toString(16)}:${d.productId.toString(16)}`));
      return candidates[0];
    },
    ...options.fake,
  });
  const browser = createCustomerServices({
    buildMode: 'demo',
    policy: { pageOrigin: 'https://shop.example', allowedOrigins: [] },
    usb: fake.usb,
    clock,
    rollbackStore: new MemoryRollbackStore(),
  });
  const services: CustomerServices = { ...browser, loadBundle: () => options.bundle() };
  return { clock, device, flash: device.flash, services, offered };
}

function record(updater: ReturnType<typeof createUpdater>): Screen[] {
  const screens: Screen[] = [updater.store.getState().screen];
  updater.store.subscribe((s) => {
    if (s.screen !== screens.at(-1)) screens.push(s.screen);
  });
  return screens;
}

function nothingWritten(flash: FlashModel): void {
  expect(flash.counters.programOps).toBe(0);
  expect(flash.counters.chipErases + flash.counters.sectorErases.reduce((a, b) => a + b, 0)).toBe(
    0,
  );
}

function failed(screen: Screen): Extract<Screen, { kind: 'failed' }> {
  expect(screen.kind).toBe('failed');
  if (screen.kind !== 'failed') throw new Error('not failed');
  return screen;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('customer flow over WebUSB on a simulated STM32F405 (DfuSe)', () => {
  it('a USB-only release opens the USB chooser for its ids, installs, verifies and restarts', async () => {
    const r = rig({ bundle: () => bundleOf(dfuseTarget()), withGadget: true });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const screens = record(updater);
    await updater.prepare();
    expect(updater.store.getState().transport).toBe('usb');
    await updater.start();
    const state = updater.store.getState();
    expect(state.screen).toEqual({ kind: 'success', notice: undefined });
    expect(state.device).toMatch(/STM32F40/);
    expect(r.offered).toEqual([['483:df11']]);

    const kinds = [...new Set(screens.map((s) => s.kind))];
    expect(kinds).toEqual(['loading', 'ready', 'choosing', 'installing', 'success']);
    const steps = [...new Set(screens.flatMap((s) => (s.kind === 'installing' ? [s.step] : [])))];
    expect(steps).toEqual(['connecting', 'checking', 'installing', 'verifying', 'restarting']);
    const percents = screens.flatMap((s) =>
      s.kind === 'installing' && s.percent !== undefined ? [s.percent] : [],
    );
    expect(percents.some((p) => p > 0 && p < 90)).toBe(true);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    expect(equalBytes(r.flash.read(0x08000000, app.length), app)).toBe(true);
    r.clock.advance(1000); // "leave DFU": the chip starts the application a moment later
    expect(r.device.jumpedTo).toBe(0x08000000);
  });

  it('a release with serial and USB targets uses USB when the vendor pins it', async () => {
    const r = rig({ bundle: () => bundleOf(espTarget, dfuseTarget()) });
    const updater = createUpdater({
      services: r.services,
      support: BOTH,
      bundleUrl: url,
      transport: 'usb',
    });
    await updater.prepare();
    await updater.start();
    expect(updater.store.getState().screen.kind).toBe('success');
    expect(equalBytes(r.flash.read(0x08000000, app.length), app)).toBe(true);
  });

  it('a read-protected chip is refused in plain words; nothing is written', async () => {
    const r = rig({ bundle: () => bundleOf(dfuseTarget()), readProtected: true });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('protocol.read-protected');
    expect(screen.text.title).toBe('This device is locked');
    expect(screen.text.message).toContain('Nothing was changed on your device.');
    expect(screen.text.steps.join(' ')).toContain("Contact the manufacturer's support.");
    nothingWritten(r.flash);
  });

  it('a release for another chip is refused once the chip is known; nothing is written', async () => {
    const r = rig({ bundle: () => bundleOf(dfuseTarget('stm32f7')) });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    const screen = failed(updater.store.getState().screen);
    expect(screen.reason).toBe('target.mismatch');
    expect(screen.flashTouched).toBe(false);
    expect(screen.text.title).toBe('This update is not for the connected device');
    expect(screen.text.message).toBe('Nothing was changed on your device.');
    nothingWritten(r.flash);
  });

  it('Windows without the WinUSB driver: the steps to install it', async () => {
    vi.stubGlobal('navigator', { userAgent: WINDOWS_UA });
    const r = rig({ bundle: () => bundleOf(dfuseTarget()), fake: { windowsWithoutDriver: true } });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('transport.driver-missing');
    expect(screen.retry).toBe('install');
    expect(screen.text.title).toBe('A USB driver is missing');
    expect(screen.text.message).toMatch(/WinUSB/);
    expect(screen.text.message).toContain('Nothing was changed on your device.');
    expect(screen.text.steps.some((s) => s.includes('Zadig'))).toBe(true);
    expect(screen.text.steps.at(-1)).toBe('Press Try again.');
    nothingWritten(r.flash);
  });

  it('a device another program holds: close it, with the Linux permission hint', async () => {
    const r = rig({ bundle: () => bundleOf(dfuseTarget()), fake: { interfaceBusy: true } });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('transport.port-busy');
    expect(screen.text.title).toBe('The device is in use by another program');
    expect(screen.text.steps).toEqual([
      'Close other programs or browser tabs that use the device.',
      "On Linux, install the device's USB rules from its manufacturer.",
      'Press Try again.',
    ]);
    nothingWritten(r.flash);
  });

  it('closing the chooser goes back to the button, saying how to put the device in update mode', async () => {
    const r = rig({ bundle: () => bundleOf(dfuseTarget()), fake: { chooser: () => undefined } });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    expect(updater.store.getState().screen).toEqual({
      kind: 'ready',
      note: 'No device was chosen. If yours was not in the list, hold the BOOT button while plugging the device in, then press the button to try again.',
    });
    nothingWritten(r.flash);
  });
});

describe('transport choice in the flow', () => {
  function fakeServices(bundle: () => Promise<VerifiedBundle>) {
    const asked: Transport[] = [];
    const services: CustomerServices = {
      clock: new VirtualClock(),
      loadBundle: () => bundle(),
      choosePort: async ({ transport }) => {
        asked.push(transport);
        throw Object.assign(new Error('closed'), { code: 'transport.no-port-selected' });
      },
    };
    return { services, asked };
  }

  it('keeps the serial default for a release with both kinds', async () => {
    const f = fakeServices(() => bundleOf(espTarget, dfuseTarget()));
    const updater = createUpdater({ services: f.services, support: BOTH, bundleUrl: url });
    await updater.prepare();
    await updater.start();
    expect(f.asked).toEqual(['serial']);
    expect(updater.store.getState().transport).toBe('serial');
  });

  it('a USB-only release on a browser without WebUSB: the browser cannot, no Try again', async () => {
    const f = fakeServices(() => bundleOf(dfuseTarget()));
    const updater = createUpdater({
      services: f.services,
      support: { ok: true, transports: ['serial'] },
      bundleUrl: url,
    });
    await updater.prepare();
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('transport.unavailable');
    expect(screen.retry).toBe('none');
    expect(screen.text.title).toBe('This browser cannot update your device');
    await updater.start();
    expect(f.asked).toEqual([]);
  });
});

describe('USB words', () => {
  it('a device unplugged mid-update over USB goes back in its update mode', () => {
    const lost = new TransportError('transport.device-lost', 'STM32 BOOTLOADER was disconnected.');
    const usb = failureText({
      error: lost,
      flashTouched: true,
      protocol: 'dfuse',
      transport: 'usb',
    });
    expect(usb.steps[0]).toBe(
      'To plug it back in, hold the BOOT button while plugging the device in.',
    );
    expect(usb.message).toMatch(/will not start normally until it is updated again/);
    const serial = failureText({ error: lost, flashTouched: true, protocol: 'esp-serial' });
    expect(serial.steps[0]).toBe('Plug the device back in with the USB cable.');
  });

  it('a read-protected chip: nothing changed, and who can unlock it', () => {
    const text = failureText({
      error: new ProtocolError('protocol.read-protected', 'The chip is read-protected.'),
      flashTouched: true,
      protocol: 'dfuse',
      transport: 'usb',
    });
    expect(text.title).toBe('This device is locked');
    expect(text.message).toBe(
      'Its memory is protected, so the update cannot be installed. Nothing was changed on your device.',
    );
    expect(text.steps).toEqual([
      "Contact the manufacturer's support. Unlocking the device erases it, which needs their tools.",
    ]);
  });

  it('the serial words stay as they were', () => {
    expect(noDeviceNote('serial')).toBe('No device was chosen. Press the button to try again.');
    const busy = failureText({
      error: new TransportError('transport.port-busy', 'The serial port is already open'),
      flashTouched: false,
      protocol: 'esp-serial',
      transport: 'serial',
    });
    expect(busy.steps).toEqual([
      'Close other programs or browser tabs that use the device.',
      'Press Try again.',
    ]);
  });
});

/**
 * A target for the gadget's run-time identity (1209:0001). DFU 1.1 images go by slot, which the
 * fixture's DraftTarget (typed for addresses) does not name; the manifest parser checks it.
 */
const gadgetTarget = {
  chip: 'example-gadget',
  protocol: 'dfu',
  usb: { vendorId: GENERIC_DFU_VENDOR_ID, productId: GENERIC_RUNTIME_PRODUCT_ID },
  images: [{ name: 'app', slot: 0 }],
} as unknown as DraftTarget;

/** What the person does on the "choose it again" step, in turn; `wait` does nothing. */
type Answer = 'choose' | 'give-up' | 'wait';

/**
 * A DFU 1.1 gadget in its application behind the fake WebUSB. The chooser plays the person in
 * the browser's list: the first device offered, or Cancel on the calls listed in `cancel`.
 */
function gadgetRig(options: { cancel?: readonly number[]; allowDfuMode?: boolean } = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const bus = new SimUsbBus();
  const board = new GenericDfuBoard({ clock, bus });
  const offered: string[][] = [];
  const fake = new FakeUsb({
    bus,
    chooser: (candidates) => {
      offered.push(candidates.map((d) => `${d.vendorId.toString(16)}:${d.productId.toString(16)}`));
      return options.cancel?.includes(offered.length) ? undefined : candidates[0];
    },
  });
  // As if this browser was allowed the DFU-mode identity on an earlier visit.
  if (options.allowDfuMode) fake.allow(GENERIC_DFU_VENDOR_ID, GENERIC_DFU_PRODUCT_ID, 'GADGET0001');
  const browser = createCustomerServices({
    buildMode: 'demo',
    policy: { pageOrigin: 'https://shop.example', allowedOrigins: [] },
    usb: fake.usb,
    clock,
    rollbackStore: new MemoryRollbackStore(),
  });
  const services: CustomerServices = { ...browser, loadBundle: () => bundleOf(gadgetTarget) };
  return { clock, board, offered, services };
}

/** Plays the person on the page: answers each "choose it again" step as `answers` say. */
function person(updater: Updater, answers: Answer[]): { asked: boolean[] } {
  const asked: boolean[] = [];
  updater.store.subscribe((s, before) => {
    if (s.screen.kind !== 'choose-again' || s.screen === before.screen) return;
    asked.push(s.screen.cancelled);
    const answer = answers.shift() ?? 'wait';
    if (answer === 'choose') void updater.chooseAgain();
    if (answer === 'give-up') updater.giveUp();
  });
  return { asked };
}

describe('a DFU 1.1 device that comes back under a new USB identity', () => {
  it('is chosen again through one plain step; the update resumes and succeeds', async () => {
    const r = gadgetRig();
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const screens = record(updater);
    const p = person(updater, ['choose']);
    await updater.prepare();
    await updater.start();

    expect(updater.store.getState().screen).toEqual({ kind: 'success', notice: undefined });
    expect(p.asked).toEqual([false]);
    // The first list has the application's identity; the second only the device in DFU mode.
    expect(r.offered).toEqual([['1209:1'], ['1209:2']]);
    expect(r.board.image()).toEqual(app);
    const kinds = screens.map((s) => s.kind).filter((k, i, all) => k !== all[i - 1]);
    expect(kinds).toEqual([
      'loading',
      'ready',
      'choosing',
      'installing',
      'choose-again',
      'installing',
      'success',
    ]);
    const after = screens.slice(screens.findIndex((s) => s.kind === 'choose-again'));
    const steps = [...new Set(after.flatMap((s) => (s.kind === 'installing' ? [s.step] : [])))];
    expect(steps).toEqual(['connecting', 'checking', 'installing', 'verifying', 'restarting']);
    const percents = after.flatMap((s) =>
      s.kind === 'installing' && s.percent !== undefined ? [s.percent] : [],
    );
    expect(percents.some((n) => n > 0 && n < 90)).toBe(true);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });

  it('a closed chooser offers the same step again, with a way to stop; choosing then succeeds', async () => {
    const r = gadgetRig({ cancel: [2] });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const views: ReturnType<typeof viewOf>[] = [];
    updater.store.subscribe((s) => {
      if (s.screen.kind === 'choose-again') views.push(viewOf(s));
    });
    const p = person(updater, ['choose', 'choose']);
    await updater.prepare();
    await updater.start();

    expect(p.asked).toEqual([false, true]);
    expect(r.offered).toEqual([['1209:1'], ['1209:2'], ['1209:2']]);
    expect(views.map((v) => [v.title, v.chooseAgain, v.giveUp, v.steps])).toEqual([
      ['One more step', true, false, []],
      [
        'One more step',
        true,
        true,
        ['No device was chosen. Press Choose device to try again, or stop the update.'],
      ],
    ]);
    expect(updater.store.getState().screen.kind).toBe('success');
    expect(r.board.image()).toEqual(app);
  });

  it('giving up ends on the failure screen that says what to do; nothing is written', async () => {
    const r = gadgetRig({ cancel: [2] });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const p = person(updater, ['choose', 'give-up']);
    await updater.prepare();
    await updater.start();

    expect(p.asked).toEqual([false, true]);
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('aborted');
    expect(screen.flashTouched).toBe(false);
    expect(screen.retry).toBe('install');
    expect(screen.text).toEqual({
      title: 'The update was stopped',
      message: 'Nothing was changed on your device.',
      steps: ['Unplug the device, plug it back in, then press Try again.'],
    });
    nothingWritten(r.board.flash);
    expect(r.board.imageLength).toBe(0);
  });

  it('a device back under an identity this browser was allowed before needs no step', async () => {
    const r = gadgetRig({ allowDfuMode: true });
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const screens = record(updater);
    await updater.prepare();
    await updater.start();
    expect(updater.store.getState().screen.kind).toBe('success');
    expect(screens.some((s) => s.kind === 'choose-again')).toBe(false);
    expect(r.offered).toEqual([['1209:1']]);
    expect(r.board.image()).toEqual(app);
  });

  it('when nobody answers, the wait ends after 15 minutes with the device-did-not-respond steps', async () => {
    const r = gadgetRig();
    const updater = createUpdater({ services: r.services, support: BOTH, bundleUrl: url });
    const p = person(updater, ['wait']);
    await updater.prepare();
    const t0 = r.clock.now();
    await updater.start();
    expect(p.asked).toEqual([false]);
    const screen = failed(updater.store.getState().screen);
    expect(screen.code).toBe('timeout');
    expect(screen.text.title).toBe('The device did not respond');
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(CHOOSE_AGAIN_TIMEOUT_MS);
    expect(r.clock.now() - t0).toBeLessThan(CHOOSE_AGAIN_TIMEOUT_MS + 15_000);
    expect(r.offered).toEqual([['1209:1']]);
    nothingWritten(r.board.flash);
  });
});
