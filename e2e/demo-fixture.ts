/**
 * A small bundle signed with the public demo key (demo/keys/), built in the test process and
 * served at the demo bundle's URL, so the flows do not depend on the size of the generated
 * public/demo/demo.fwb: the ESP-IDF "blink" app (test/fixtures/firmware, esptool test/images at
 * bb72741) retargeted to the ESP32-S3, with the single-app partition table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { avrDemoRelease } from '../scripts/avr-demo-release.ts';
import { createBundle } from '../src/bundle/create.ts';
import { fromHex } from '../src/core/bytes.ts';
import { ESP_CHIPS } from '../src/protocols/esp/chips.ts';
import { retargetImage } from '../src/protocols/esp/image.ts';

const root = join(import.meta.dirname, '..');
const shared = join(root, 'test', 'fixtures', 'firmware');

function demoKey(): Uint8Array {
  const file = JSON.parse(readFileSync(join(root, 'demo', 'keys', 'demo-release.key'), 'utf8')) as {
    secret: string;
  };
  return fromHex(file.secret);
}

/** The bundle bytes (built once per worker). */
export const e2eBundle: Uint8Array = (() => {
  const app = retargetImage(
    new Uint8Array(readFileSync(join(shared, 'esp_idf_blink_esp32s2.bin'))),
    ESP_CHIPS.esp32s3,
  );
  const partitions = new Uint8Array(readFileSync(join(shared, 'partitions_singleapp.bin')));
  const now = Date.now();
  return createBundle({
    manifest: {
      product: 'webflash-demo',
      version: '1.0.0',
      securityCounter: 1,
      created: new Date(now - 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      expires: new Date(now + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      notes: 'End-to-end test bundle.',
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
    images: { 'partition-table': partitions, app },
    signers: [demoKey()],
  });
})();

/** The Arduino release (Uno and Nano, Diecimila, Mega 2560, Leonardo), built once per worker. */
export const avrBundle: Uint8Array = (() => {
  const avr = avrDemoRelease(shared);
  const now = Date.now();
  return createBundle({
    manifest: {
      product: 'webflash-demo',
      version: '1.0.0',
      securityCounter: 1,
      created: new Date(now - 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      expires: new Date(now + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      notes: 'End-to-end test bundle for the Arduino boards.',
      targets: avr.targets,
    },
    images: avr.images,
    signers: [demoKey()],
  });
})();

/** Serves `bytes` (default `e2eBundle`) at the demo bundle URL. */
export async function serveDemoBundle(page: Page, bytes: Uint8Array = e2eBundle): Promise<void> {
  await page.route('**/demo/demo.fwb', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bytes),
    }),
  );
}
