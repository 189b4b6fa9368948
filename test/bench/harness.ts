/**
 * A bench in Node: simulated ESP boards (src/sim/boards.ts) behind the fake `navigator.serial`
 * (src/sim/web/fake-web-serial.ts), the real Web Serial transport and ESP driver, an in-memory
 * flash log, all on a VirtualClock — so a bench of boards plugged in at different moments runs
 * in milliseconds of real time and every wait has a virtual deadline.
 */
import { readFileSync } from 'node:fs';
import { AuditLog, MemoryAuditStore } from '../../src/audit/store.ts';
import type { VerifiedBundle } from '../../src/bundle/verify.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import { createBoard, type SimBoard } from '../../src/sim/boards.ts';
import { installFakeWebSerial, type FakeSerial } from '../../src/sim/web/fake-web-serial.ts';
import {
  createBenchStore,
  resetBenchStore,
  type BenchStore,
} from '../../src/bench/state/bench-store.ts';
import type { BenchState } from '../../src/bench/state/slice.ts';
import type { BenchServices } from '../../src/bench/state/types.ts';
import { webSerialPorts } from '../../src/bench/browser/web-serial-ports.ts';
import { signedBundle } from '../job/bundle-fixture.ts';
import { loadDrivers } from '../../src/protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));

let bundle: Promise<VerifiedBundle> | undefined;
/** Product "blink" 1.2.0 for the ESP32-S3: partition table and the ESP-IDF blink app. */
function benchBundle(): Promise<VerifiedBundle> {
  bundle ??= signedBundle({
    images: {
      partitions: firmware('partitions_singleapp.bin'),
      app: firmware('esp_idf_blink_esp32s2.bin'),
    },
    targets: [
      {
        chip: 'esp32s3',
        protocol: 'esp-serial',
        images: [
          { name: 'partitions', address: 0x8000 },
          { name: 'app', address: 0x10000 },
        ],
      },
    ],
  });
  return bundle;
}

export interface Bench {
  clock: VirtualClock;
  serial: FakeSerial;
  store: BenchStore;
  audit: AuditLog;
  services: BenchServices;
  /** Builds a board (cable out) and grants the site access to it. */
  board(name: string, seed: number): SimBoard;
  /** Resolves when `pred` holds; rejects after `ms` of virtual time, naming `what`. */
  until(what: string, pred: (s: BenchState) => boolean, ms?: number): Promise<void>;
  /** Lets `ms` of virtual time pass. */
  wait(ms: number): Promise<void>;
  dispose(): void;
}

/**
 * `until(what, pred, ms)`: resolves once the bench state satisfies `pred`, or fails after `ms`
 * of virtual time naming `what`.
 */
export function waitForState(store: BenchStore, clock: VirtualClock): Bench['until'] {
  return (what, pred, ms = 120_000) =>
    new Promise((resolve, reject) => {
      if (pred(store.getState())) return resolve();
      const timer = clock.setTimer(ms, () => {
        off();
        reject(new Error(`timed out after ${ms} ms (virtual) waiting for: ${what}`));
      });
      const off = store.subscribe((s) => {
        if (!pred(s)) return;
        off();
        clock.clearTimer(timer);
        resolve();
      });
    });
}

export async function createBench(): Promise<Bench> {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const { serial, uninstall } = installFakeWebSerial({ navigator: {} });
  const audit = new AuditLog({
    store: new MemoryAuditStore(),
    now: () => new Date(Date.UTC(2026, 2, 1) + clock.now()),
    logId: '0123456789abcdef0123456789abcdef',
  });
  const verified = await benchBundle();
  const services: BenchServices = {
    clock,
    now: () => new Date(Date.UTC(2026, 2, 1) + clock.now()),
    connector: { id: 'esp-serial', connect: (port, o) => connectEsp(port, o) },
    verifyBundle: () => Promise.resolve(verified),
    ports: webSerialPorts({ serial, clock }),
    audit,
    jobSettings: { baudRate: 921600 },
  };
  const store = createBenchStore(services);
  await store.getState().attachPorts();
  const until = waitForState(store, clock);
  return {
    clock,
    serial,
    store,
    audit,
    services,
    board(name, seed) {
      const b = createBoard(name, { clock, seed, unplugged: true });
      serial.addWire(b.wire!, { permitted: true });
      return b;
    },
    until,
    wait: (ms) => new Promise((resolve) => clock.setTimer(ms, resolve)),
    dispose() {
      resetBenchStore(store);
      uninstall();
    },
  };
}
