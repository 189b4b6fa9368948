/**
 * The serial monitor after a flash, end to end in Node on a VirtualClock: the demo lab's
 * virtual ESP32-S3 boards (UART bridge; native USB, which re-enumerates when its app starts) behind the fake Web Serial,
 * the browser services (src/technician/browser/browser-services.ts), the real ESP driver and the store. After
 * the flash the monitor opens by itself, restarts the chip into its app and shows it boot; the
 * flash log records the job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AuditLog, MemoryAuditStore } from '../audit/index.ts';
import { createBundle } from '../bundle/create.ts';
import { MemoryRollbackStore } from '../bundle/rollback-store.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { VirtualClock } from '../core/clock.ts';
import { ESP_CHIPS } from '../protocols/esp/chips.ts';
import { retargetImage } from '../protocols/esp/image.ts';
import {
  createAppStore,
  createBrowserServices,
  resetAppStore,
  type AppStore,
} from '../technician/state/index.ts';
import { CREATED, EXPIRES, key, NOW, pinnedTestRoot } from '../../test/bundle/fixtures.ts';
import { installDemoLab, type DemoLab } from './lab.ts';
import { loadDrivers } from '../protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

// ESP-IDF "blink" and the single-app partition table (test/fixtures/firmware, esptool
// test/images at bb72741); the app retargeted to the ESP32-S3.
const shared = join(import.meta.dirname, '../../test/fixtures/firmware');
const app = retargetImage(
  new Uint8Array(readFileSync(join(shared, 'esp_idf_blink_esp32s2.bin'))),
  ESP_CHIPS.esp32s3,
);
const table = new Uint8Array(readFileSync(join(shared, 'partitions_singleapp.bin')));

let lab: DemoLab | undefined;
let store: AppStore | undefined;
afterEach(() => {
  if (store) resetAppStore(store);
  lab?.dispose();
  lab = store = undefined;
});

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`still waiting for ${what}`);
}

// The bundle has no second-stage bootloader, so after the ROM banner the chip reports the blank
// sector at 0x0, as a real one does. The native-USB board re-enumerates as its app starts; the
// simulated wire drops the bytes still in flight when it detaches, so there the ROM banner is
// what arrives, and the monitor must follow the port to its new object.
it.each([
  ['esp32s3-uart', 'invalid header: 0xffffffff'],
  ['esp32s3', 'rst:0x15 (USB_UART_HPSYS)'],
])('opens the monitor after flashing %s and shows the boot (%s)', async (board, expected) => {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  lab = installDemoLab({ clock, navigator: {} });
  const auditLog = new AuditLog({ store: new MemoryAuditStore(), now: () => NOW });
  const services = createBrowserServices({
    buildMode: 'demo',
    unverifiedAllowed: false,
    rollbackStore: new MemoryRollbackStore(),
    serial: lab.serial,
    usb: lab.usb,
    virtualBoards: lab,
    clock,
    auditLog,
  });
  const trustRoot = pinnedTestRoot();
  services.verifyBundle = ({ source, signal, onProgress }) =>
    verifyBundle(source as Uint8Array, { trustRoot, now: NOW, signal, onProgress, clock });
  store = createAppStore(services);
  const bytes = createBundle({
    manifest: {
      product: 'lab-monitor',
      version: '1.0.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      notes: '',
      targets: [
        {
          chip: 'esp32s3',
          protocol: 'esp-serial',
          images: [
            { name: 'partition-table', address: 0x8000 },
            { name: 'app', address: 0x10000 },
          ],
        },
      ],
    },
    images: { 'partition-table': table, app },
    signers: [key(1), key(2)],
  });
  expect(await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes })).toBe(true);
  expect(await store.getState().choosePort({ board })).toBe(true);
  const outcome = await store.getState().startFlash();
  expect(outcome).toMatchObject({ ok: true });

  await until(() => store!.getState().monitor.text.includes(expected), 'the boot text');
  const { monitor } = store.getState();
  expect(monitor.baudRate).toBe(115200);
  expect(monitor.text).toContain('ESP-ROM:esp32s3');
  expect(monitor.text).not.toContain('\u001b');
  if (board === 'esp32s3') {
    await until(
      () => store!.getState().log.entries.some((e) => e.message.includes('The board is back')),
      'the port again',
    );
    expect(store.getState().monitor.status).toBe('open');
  }
  await store.getState().stopMonitor();
  expect(store.getState().monitor.status).toBe('closed');

  const entries = await auditLog.entries();
  expect(entries.at(-1)).toMatchObject({
    kind: 'flash',
    result: 'ok',
    chip: 'esp32s3',
    bundle: { product: 'lab-monitor', sha256: store.getState().bundle.verified!.bundleSha256 },
  });
});
