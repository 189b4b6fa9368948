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
import { createBundle, type DraftTarget } from '../src/bundle/create.ts';
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

/**
 * A release of the demo product signed with the demo key, valid from a day ago for 30 days.
 * @example demoRelease({ notes: 'x', targets, images: { app } })
 */
export function demoRelease(o: {
  version?: string;
  securityCounter?: number;
  notes: string;
  targets: DraftTarget[];
  images: Record<string, Uint8Array> | ReadonlyMap<string, Uint8Array>;
}): Uint8Array {
  const now = Date.now();
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  return createBundle({
    manifest: {
      product: 'webflash-demo',
      version: o.version ?? '1.0.0',
      securityCounter: o.securityCounter ?? 1,
      created: stamp(now - 86_400_000),
      expires: stamp(now + 30 * 86_400_000),
      notes: o.notes,
      targets: o.targets,
    },
    images: o.images,
    signers: [demoKey()],
  });
}

/** The ESP-IDF "blink" app retargeted to the ESP32-S3, and its single-app partition table. */
export function blinkS3(): { app: Uint8Array; 'partition-table': Uint8Array } {
  return {
    app: retargetImage(
      new Uint8Array(readFileSync(join(shared, 'esp_idf_blink_esp32s2.bin'))),
      ESP_CHIPS.esp32s3,
    ),
    'partition-table': new Uint8Array(readFileSync(join(shared, 'partitions_singleapp.bin'))),
  };
}

/** The ESP32-S3 target of those two images. */
export const BLINK_S3_TARGET: DraftTarget = {
  chip: 'esp32s3',
  protocol: 'esp-serial',
  images: [
    { name: 'partition-table', address: 0x8000 },
    { name: 'app', address: 0x10000 },
  ],
};

/** The bundle bytes (built once per worker). */
export const e2eBundle: Uint8Array = demoRelease({
  notes: 'End-to-end test bundle.',
  targets: [BLINK_S3_TARGET],
  images: blinkS3(),
});

/** The Arduino release (Uno and Nano, Diecimila, Mega 2560, Leonardo), built once per worker. */
export const avrBundle: Uint8Array = (() => {
  const avr = avrDemoRelease(shared);
  return demoRelease({
    notes: 'End-to-end test bundle for the Arduino boards.',
    targets: avr.targets,
    images: avr.images,
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
