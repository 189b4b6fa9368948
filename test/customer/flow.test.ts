/**
 * The customer updater's state machine (src/customer/flow.ts) end to end against a simulated
 * ESP32-S3 (src/sim/esp) through the real ESP driver and flash engine, in virtual time: the
 * screens a person sees, that nothing is written when the update is refused (wrong chip, older
 * release, untrusted file, disallowed origin), and the words on each failure screen.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import type { VerifiedBundle } from '../../src/bundle/verify.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import type { ProgressEvent } from '../../src/job/types.ts';
import { TransportError } from '../../src/core/errors.ts';
import {
  createUpdater,
  installMeter,
  type CustomerServices,
  type Screen,
} from '../../src/customer/flow.ts';
import { OriginRefusedError } from '../../src/customer/origins.ts';
import type { Support } from '../../src/customer/support.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { signedBundle } from '../job/bundle-fixture.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));
const partitions = firmware('partitions_singleapp.bin');
const app = firmware('esp_idf_blink_esp32s2.bin');

const bundleFor = (chip: string, securityCounter = 3) =>
  signedBundle({
    images: { partitions, app },
    targets: [
      {
        chip,
        protocol: 'esp-serial',
        images: [
          { name: 'partitions', address: 0x8000 },
          { name: 'app', address: 0x10000 },
        ],
      },
    ],
    securityCounter,
  });

const SUPPORTED: Support = { ok: true, transports: ['serial'] };
const url = () => new URL('https://shop.example/fw/blink.fwb');

/** A simulated ESP32-S3 board (CP2102 bridge, auto-reset) and services around it. */
function rig(options: {
  bundle: () => Promise<VerifiedBundle>;
  seed?: number;
  rollbackStore?: MemoryRollbackStore;
  chooser?: 'cancel';
}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const flash = new FlashModel({ size: 4 * 1024 * 1024 });
  const device = new EspDevice({
    chip: chipById('esp32s3')!,
    flash,
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0x01, 0x02, 0x03]),
    resetCircuit: 'auto-reset',
  });
  const wire = new SerialWire({
    clock,
    device,
    link: LINK_CP2102,
    seed: options.seed ?? 1,
    usbVendorId: 0x10c4,
    usbProductId: 0xea60,
  });
  const calls = { loadBundle: 0, choosePort: 0 };
  const services: CustomerServices = {
    clock,
    rollbackStore: options.rollbackStore,
    loadBundle: async () => {
      calls.loadBundle++;
      return options.bundle();
    },
    choosePort: async () => {
      calls.choosePort++;
      if (options.chooser === 'cancel') {
        throw new TransportError('transport.no-port-selected', 'No port was chosen');
      }
      return {
        port: wire.port!,
        connector: espDriver,
        protocol: 'esp-serial',
        settings: { baudRate: 460800 },
      };
    },
  };
  return { clock, flash, wire, services, calls };
}

function record(updater: ReturnType<typeof createUpdater>): Screen[] {
  const screens: Screen[] = [updater.store.getState().screen];
  updater.store.subscribe((s) => {
    if (s.screen !== screens.at(-1)) screens.push(s.screen);
  });
  return screens;
}

const written = (flash: FlashModel) => flash.counters.programmedBytes;

describe('customer flow on a simulated ESP32-S3', () => {
  it('walks loading → ready → choosing → installing → success and writes the release', async () => {
    const r = rig({ bundle: () => bundleFor('esp32s3') });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    const screens = record(updater);
    await updater.prepare();
    expect(updater.store.getState().screen).toEqual({ kind: 'ready', note: undefined });
    expect(updater.store.getState().release).toEqual({ product: 'blink', version: '1.2.0' });
    await updater.start();
    const state = updater.store.getState();
    expect(state.screen).toEqual({ kind: 'success', notice: undefined });
    expect(state.device).toContain('ESP32-S3');

    const kinds = [...new Set(screens.map((s) => s.kind))];
    expect(kinds).toEqual(['loading', 'ready', 'choosing', 'installing', 'success']);
    const steps = [...new Set(screens.flatMap((s) => (s.kind === 'installing' ? [s.step] : [])))];
    expect(steps).toEqual(['connecting', 'checking', 'installing', 'verifying', 'restarting']);
    const percents = screens.flatMap((s) =>
      s.kind === 'installing' && s.percent !== undefined ? [s.percent] : [],
    );
    expect(percents.length).toBeGreaterThan(3);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(screens.some((s) => s.kind === 'installing' && s.msLeft !== undefined)).toBe(true);

    expect(equalBytes(r.flash.read(0x10000, app.length), app)).toBe(true);
    expect(equalBytes(r.flash.read(0x8000, partitions.length), partitions)).toBe(true);
  });

  it('refuses to start without knowing its product, with a message for the vendor', async () => {
    const r = rig({ bundle: () => bundleFor('esp32s3') });
    const updater = createUpdater({ services: r.services, support: SUPPORTED, bundleUrl: url });
    await updater.prepare();
    const screen = updater.store.getState().screen;
    expect(screen.kind).toBe('failed');
    if (screen.kind !== 'failed') return;
    expect(screen.code).toBe('usage.invalid-argument');
    expect(screen.retry).toBe('none');
    expect(screen.text.title).toBe('This update page is not set up correctly');
    expect(screen.text.message).toContain('<webflash-update product="your-product-id">');
    expect(r.calls.loadBundle).toBe(0);
    await updater.start();
    expect(r.calls.choosePort).toBe(0);
  });

  it('refuses a release for another chip after identifying the board; nothing is written', async () => {
    const r = rig({ bundle: () => bundleFor('esp32c3') });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    await updater.prepare();
    await updater.start();
    const screen = updater.store.getState().screen;
    expect(screen.kind).toBe('failed');
    if (screen.kind !== 'failed') return;
    expect(screen.reason).toBe('target.mismatch');
    expect(screen.flashTouched).toBe(false);
    expect(screen.retry).toBe('install');
    expect(screen.text.title).toBe('This update is not for the connected device');
    expect(screen.text.message).toBe('Nothing was changed on your device.');
    expect(written(r.flash)).toBe(0);
  });

  it('never downgrades: an older release than the one recorded is refused, with no retry', async () => {
    const store = new MemoryRollbackStore();
    await store.put('blink', { securityCounter: 5, version: '2.0.0', rootVersion: 1 });
    const r = rig({ bundle: () => bundleFor('esp32s3', 3), rollbackStore: store });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    await updater.prepare();
    await updater.start();
    const screen = updater.store.getState().screen;
    expect(screen.kind === 'failed' && screen.reason).toBe('rollback.counter');
    expect(screen.kind === 'failed' && screen.retry).toBe('none');
    expect(screen.kind === 'failed' && screen.text.title).toBe(
      'Your device already has a newer version',
    );
    expect(written(r.flash)).toBe(0);
  });

  it('an untrusted update file stops before the device is asked for; Try again loads it again', async () => {
    let attempt = 0;
    const r = rig({
      bundle: async () => {
        attempt++;
        if (attempt === 1) throw new BundleError('image.hash-mismatch', 'app');
        return bundleFor('esp32s3');
      },
    });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    await updater.prepare();
    const screen = updater.store.getState().screen;
    expect(screen.kind).toBe('failed');
    if (screen.kind !== 'failed') return;
    expect(screen.text.title).toBe('The update file could not be trusted');
    expect(screen.retry).toBe('reload');
    await updater.start(); // no verified release: the button does nothing
    expect(r.calls.choosePort).toBe(0);
    await updater.retry();
    expect(updater.store.getState().screen.kind).toBe('ready');
    expect(r.calls.loadBundle).toBe(2);
    expect(written(r.flash)).toBe(0);
  });

  it('a bundle address outside the allowed origins is refused before anything is fetched', async () => {
    const r = rig({ bundle: () => bundleFor('esp32s3') });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: () => {
        throw new OriginRefusedError('https://evil.example');
      },
    });
    await updater.prepare();
    const screen = updater.store.getState().screen;
    expect(screen.kind === 'failed' && screen.code).toBe('bundle.origin-refused');
    expect(screen.kind === 'failed' && screen.retry).toBe('none');
    expect(screen.kind === 'failed' && screen.text.message).toContain('https://evil.example');
    expect(r.calls.loadBundle).toBe(0);
  });

  it('closing the device chooser goes back to the button with a note', async () => {
    const r = rig({ bundle: () => bundleFor('esp32s3'), chooser: 'cancel' });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    await updater.prepare();
    await updater.start();
    expect(updater.store.getState().screen).toEqual({
      kind: 'ready',
      note: 'No device was chosen. Press the button to try again.',
    });
  });

  it('unplugging mid-install says so, that the device needs the update again, and how', async () => {
    const seed = 7;
    const r = rig({ bundle: () => bundleFor('esp32s3'), seed });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: SUPPORTED,
      bundleUrl: url,
    });
    await updater.prepare();
    r.wire.unplugAfter(60_000);
    await updater.start();
    const screen = updater.store.getState().screen;
    expect(screen.kind, `seed ${seed}`).toBe('failed');
    if (screen.kind !== 'failed') return;
    expect(screen.code).toBe('transport.device-lost');
    expect(screen.flashTouched).toBe(true);
    expect(screen.retry).toBe('install');
    expect(screen.text.title).toBe('The device was disconnected');
    expect(screen.text.message).toMatch(/will not start normally until it is updated again/);
    expect(screen.text.steps[0]).toBe('Plug the device back in with the USB cable.');
  });

  it('starts on the unsupported screen and never loads anything there', async () => {
    const r = rig({ bundle: () => bundleFor('esp32s3') });
    const updater = createUpdater({
      product: 'blink',
      services: r.services,
      support: { ok: false, reason: 'no-api' },
      bundleUrl: url,
    });
    await updater.prepare();
    await updater.start();
    const screen = updater.store.getState().screen;
    expect(screen.kind === 'unsupported' && screen.text.steps).toEqual([
      'Use Chrome or Edge on a computer.',
    ]);
    expect(r.calls.loadBundle).toBe(0);
  });
});

describe('installMeter', () => {
  const base = {
    region: 'app',
    regionIndex: 0,
    regionCount: 1,
    bytesDone: 0,
    bytesTotal: 100,
    regionBytesDone: 0,
    regionBytesTotal: 100,
    bytesPerSecond: 1000,
    etaMs: 3_000,
    attempt: 1,
  };
  type Step = readonly [ProgressEvent['phase'], number];
  const shown = (steps: readonly Step[]) => {
    const meter = installMeter();
    return steps.map(([phase, percent]) => meter({ ...base, phase, percent }).percent);
  };

  it.each([
    ['writing', 0, 0],
    ['writing', 50, 45],
    ['writing', 100, 90],
    ['verifying', 0, 90],
    ['verifying', 100, 99],
    ['writing', 250, 90],
    ['writing', -5, 0],
  ] as const)('without comparing, %s at %d %% shows %d %%', (phase, percent, want) => {
    expect(shown([[phase, percent]])).toEqual([want]);
  });

  it('an erase keeps the bar where it is', () => {
    expect(
      shown([
        ['writing', 40],
        ['erasing', 0],
        ['writing', 60],
      ]),
    ).toEqual([36, 36, 54]);
  });

  it('a delta update fills the install bar half by comparing, half by writing, never backwards', () => {
    // Two images: compare and write the first, then the second.
    const steps: Step[] = [
      ['comparing', 25],
      ['comparing', 50],
      ['erasing', 0],
      ['writing', 10],
      ['writing', 50],
      ['comparing', 75],
      ['comparing', 100],
      ['writing', 100],
      ['verifying', 50],
    ];
    const percents = shown(steps);
    expect(percents).toEqual([11, 22, 22, 27, 45, 56, 67, 90, 94]);
    for (let i = 1; i < percents.length; i++) {
      expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]!);
    }
  });

  it('leaves the time left unknown while comparing and erasing', () => {
    const meter = installMeter();
    expect(meter({ ...base, phase: 'comparing', percent: 50 }).msLeft).toBeUndefined();
    expect(meter({ ...base, phase: 'erasing', percent: 0 }).msLeft).toBeUndefined();
    expect(meter({ ...base, phase: 'writing', percent: 50 }).msLeft).toBe(3_000);
  });
});
