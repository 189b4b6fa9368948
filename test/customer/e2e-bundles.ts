/**
 * Bundles for the customer updater's end-to-end tests, built in the test process and signed
 * with the public demo key (demo/keys/): the end-to-end demo bundle (e2e/demo-fixture.ts), the
 * same release retargeted to another chip, and a tampered copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBundle } from '../../src/bundle/create.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { ESP_CHIPS } from '../../src/protocols/esp/chips.ts';
import { retargetImage } from '../../src/protocols/esp/image.ts';
import { e2eBundle } from '../../e2e/demo-fixture.ts';

const root = join(import.meta.dirname, '..', '..');
// espressif/esptool test/images at bb72741 (../shared/README.md).
const shared = join(root, '..', 'shared', 'firmware');

function demoKey(): Uint8Array {
  const file = JSON.parse(readFileSync(join(root, 'demo', 'keys', 'demo-release.key'), 'utf8')) as {
    secret: string;
  };
  return fromHex(file.secret);
}

const day = 86_400_000;
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The demo release for the ESP32-S3 (accepted by the virtual ESP32-S3). */
export const goodBundle: Uint8Array = e2eBundle;

/** A correctly signed release whose only target is the ESP32-C3: refused by an ESP32-S3. */
export const wrongChipBundle: Uint8Array = (() => {
  const app = retargetImage(
    new Uint8Array(readFileSync(join(shared, 'esp_idf_blink_esp32s2.bin'))),
    ESP_CHIPS.esp32c3,
  );
  const now = Date.now();
  return createBundle({
    manifest: {
      product: 'webflash-demo',
      version: '1.0.0',
      securityCounter: 1,
      created: stamp(now - day),
      expires: stamp(now + 30 * day),
      notes: 'End-to-end test bundle for another chip.',
      targets: [
        { chip: 'esp32c3', protocol: 'esp-serial', images: [{ name: 'app', address: 0x10000 }] },
      ],
    },
    images: { app },
    signers: [demoKey()],
  });
})();

/** The demo release with one byte of its last image changed after signing. */
export const tamperedBundle: Uint8Array = (() => {
  const copy = goodBundle.slice();
  const at = copy.length - 1000;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
})();
