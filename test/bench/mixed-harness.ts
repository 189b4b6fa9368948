/**
 * A mixed bench in Node: simulated ESP boards behind the fake `navigator.serial` and simulated
 * DfuSe / DFU 1.1 boards (src/sim/dfu) on a simulated USB bus behind the fake `navigator.usb`
 * (src/sim/web/fake-webusb.ts), added through demo mode's bench lab (src/demo/bench-lab.ts); the
 * real Web Serial and WebUSB adapters and drivers, an in-memory flash log, all on a VirtualClock.
 */
import { readFileSync } from 'node:fs';
import { AuditLog, MemoryAuditStore } from '../../src/audit/store.ts';
import { createBundle, type ManifestDraft } from '../../src/bundle/create.ts';
import { encodeEnvelope, addSignature } from '../../src/bundle/dsse.ts';
import { newSecretKey, publicKeyOf } from '../../src/bundle/ed25519.ts';
import { createRootEnvelope, loadTrustRoot } from '../../src/bundle/trust-root.ts';
import { verifyBundle, type VerifiedBundle } from '../../src/bundle/verify.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createBenchLab, type BenchLab } from '../../src/demo/bench-lab.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { installFakeWebSerial, type FakeSerial } from '../../src/sim/web/fake-web-serial.ts';
import { FakeUsb } from '../../src/sim/web/fake-webusb.ts';
import {
  createBenchStore,
  resetBenchStore,
  type BenchStore,
} from '../../src/bench/state/bench-store.ts';
import type { BenchState } from '../../src/bench/state/slice.ts';
import type { BenchServices } from '../../src/bench/state/types.ts';
import { webSerialPorts } from '../../src/bench/browser/web-serial-ports.ts';
import { benchUsbConnectors, webUsbPorts } from '../../src/bench/browser/web-usb-ports.ts';
import { waitForState } from './harness.ts';
import { loadDrivers } from '../../src/protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));

/** The STM32 image: 40 KiB, so it spans the first three 16 KiB sectors (RM0090 Table 5). */
const STM32_IMAGE = new Uint8Array(40 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
/** The DFU 1.1 gadget's image. */
export const GADGET_IMAGE = new Uint8Array(12 * 1024).map((_, i) => (i * 7 + 1) & 0xff);

const key = newSecretKey(new Uint8Array(32).fill(9));
const root = loadTrustRoot(
  encodeEnvelope(
    addSignature(
      createRootEnvelope({
        version: 1,
        expires: '2035-01-01T00:00:00Z', // at most 10 years after the tests' now
        threshold: 1,
        publicKeys: [publicKeyOf(key)],
      }),
      key,
    ),
  ),
);

type Targets = ManifestDraft['targets'];

/** ESP32-S3 over serial, STM32F4 over DfuSe (0483:df11), the example gadget over DFU 1.1. */
export const MIXED_TARGETS: Targets = [
  {
    chip: 'esp32s3',
    protocol: 'esp-serial',
    images: [
      { name: 'partitions', address: 0x8000 },
      { name: 'app', address: 0x10000 },
    ],
  },
  {
    chip: 'stm32f4',
    protocol: 'dfuse',
    usb: { vendorId: 0x0483, productId: 0xdf11 },
    images: [{ name: 'stm32-app', address: 0x08000000 }],
  },
  {
    chip: 'example-gadget',
    protocol: 'dfu',
    usb: { vendorId: 0x1209, productId: 0x0001 },
    images: [{ name: 'gadget-app', slot: 0 }],
  },
];

/** Product "mixed" 2.0.0 with `targets` (default MIXED_TARGETS), verified. */
function mixedBundle(targets: Targets = MIXED_TARGETS): Promise<VerifiedBundle> {
  const all: Record<string, Uint8Array> = {
    partitions: firmware('partitions_singleapp.bin'),
    app: firmware('esp_idf_blink_esp32s2.bin'),
    'stm32-app': STM32_IMAGE,
    'gadget-app': GADGET_IMAGE,
  };
  const used = new Set(targets.flatMap((t) => t.images.map((i) => i.name)));
  const bytes = createBundle({
    manifest: {
      product: 'mixed',
      version: '2.0.0',
      securityCounter: 1,
      created: '2026-01-01T00:00:00Z',
      expires: '2099-01-01T00:00:00Z',
      notes: '',
      targets,
    },
    images: Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name))),
    signers: [key],
  });
  return verifyBundle(bytes, { trustRoot: root, now: new Date('2026-06-01T00:00:00Z') });
}

export interface MixedBench {
  clock: VirtualClock;
  serial: FakeSerial;
  bus: SimUsbBus;
  fake: FakeUsb;
  lab: BenchLab;
  store: BenchStore;
  services: BenchServices;
  /** Resolves when `pred` holds; rejects after `ms` of virtual time, naming `what`. */
  until(what: string, pred: (s: BenchState) => boolean, ms?: number): Promise<void>;
  /** Lets `ms` of virtual time pass. */
  wait(ms: number): Promise<void>;
  dispose(): void;
}

/** A bench with a verified release loaded (default MIXED_TARGETS), following its ports. */
export async function createMixedBench(options: { targets?: Targets } = {}): Promise<MixedBench> {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const { serial, uninstall } = installFakeWebSerial({ navigator: {} });
  const bus = new SimUsbBus();
  const fake = new FakeUsb({ bus });
  const lab = createBenchLab({ serial, usb: fake, clock, seed: 301 });
  const now = () => new Date(Date.UTC(2026, 2, 1) + clock.now());
  const verified = await mixedBundle(options.targets);
  const services: BenchServices = {
    clock,
    now,
    connector: { id: 'esp-serial', connect: (port, o) => connectEsp(port, o) },
    verifyBundle: () => Promise.resolve(verified),
    ports: webSerialPorts({ serial, clock, labelFor: (p) => lab.labelFor(p) }),
    usb: webUsbPorts({ usb: fake.usb, clock, labelFor: (d) => lab.usbLabelFor(d) }),
    usbConnectors: benchUsbConnectors({ usb: fake.usb, clock }),
    audit: new AuditLog({
      store: new MemoryAuditStore(),
      now,
      logId: 'fedcba9876543210fedcba9876543210',
    }),
    jobSettings: { baudRate: 921600 },
  };
  const store = createBenchStore(services);
  await store.getState().attachPorts();
  await store.getState().loadBundle({ kind: 'bytes', name: 'mixed.fwb', bytes: new Uint8Array() });
  const until = waitForState(store, clock);
  return {
    clock,
    serial,
    bus,
    fake,
    lab,
    store,
    services,
    until,
    wait: (ms) => new Promise((resolve) => clock.setTimer(ms, resolve)),
    dispose() {
      resetBenchStore(store);
      lab.dispose();
      uninstall();
    },
  };
}

/** Every tile has finished its job. */
export const settled = (s: BenchState): boolean =>
  s.tiles.length > 0 && s.tiles.every((t) => t.state !== 'running');
