/**
 * Bundles for the customer updater's end-to-end tests, built in the test process and signed
 * with the public demo key (demo/keys/): the end-to-end demo bundle (e2e/demo-fixture.ts), the
 * same release retargeted to another chip, and a tampered copy; and STM32 releases for USB
 * DfuSe alone, for another STM32 over DfuSe, and for both the USART bootloader and DfuSe; and a
 * release for the demo's generic DFU 1.1 gadget, which restarts in DFU mode under a new USB id.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBundle, type DraftTarget } from '../../src/bundle/create.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { ESP_CHIPS } from '../../src/protocols/esp/chips.ts';
import { retargetImage } from '../../src/protocols/esp/image.ts';
import { e2eBundle } from '../../e2e/demo-fixture.ts';
import { STM32_DFU_PRODUCT_ID, STM32_DFU_VENDOR_ID } from '../../src/sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
} from '../../src/sim/dfu/generic-dfu-sim.ts';

const root = join(import.meta.dirname, '..', '..');
// espressif/esptool test/images at bb72741 (test/fixtures/README.md).
const shared = join(root, 'test', 'fixtures', 'firmware');

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

/** 32 KiB for the STM32F405: two 16 KiB flash sectors, sixteen 2 KiB DfuSe blocks. */
const stm32App = new Uint8Array(32 * 1024).map((_, i) => (i * 31 + 7) & 0xff);

function stm32Bundle(targets: readonly DraftTarget[], notes: string): Uint8Array {
  const now = Date.now();
  return createBundle({
    manifest: {
      product: 'webflash-demo',
      version: '1.0.0',
      securityCounter: 1,
      created: stamp(now - day),
      expires: stamp(now + 30 * day),
      notes,
      targets,
    },
    images: { app: stm32App },
    signers: [demoKey()],
  });
}

const dfuseTarget = (chip: string): DraftTarget => ({
  chip,
  protocol: 'dfuse',
  usb: { vendorId: STM32_DFU_VENDOR_ID, productId: STM32_DFU_PRODUCT_ID },
  images: [{ name: 'app', address: 0x08000000 }],
});

/** A release whose only target is the STM32F405 over USB DfuSe: the element uses WebUSB. */
export const usbBundle: Uint8Array = stm32Bundle(
  [dfuseTarget('stm32f4')],
  'End-to-end test bundle for an STM32F4 over USB DfuSe.',
);

/** The same release for an STM32F7 over DfuSe: refused by the STM32F405. */
export const usbWrongChipBundle: Uint8Array = stm32Bundle(
  [dfuseTarget('stm32f7')],
  'End-to-end test bundle for another STM32 over USB DfuSe.',
);

/**
 * A release with a serial target (the STM32 over its USART bootloader) and a USB DfuSe target
 * for the same chip: serial by default, USB where the page says `transport="usb"`.
 */
export const serialAndUsbBundle: Uint8Array = stm32Bundle(
  [
    {
      chip: 'stm32f4',
      protocol: 'stm32-usart',
      images: [{ name: 'app', address: 0x08000000 }],
    },
    dfuseTarget('stm32f4'),
  ],
  'End-to-end test bundle for an STM32F4 over its USART bootloader or USB DfuSe.',
);

/**
 * A release for the demo lab's generic DFU 1.1 gadget (src/demo/usb-lab.ts `generic-dfu`): its
 * application is 1209:0001 and it restarts in DFU mode as 1209:0002 (`dfuProductId`), so the
 * customer chooses it twice, and one left in DFU mode by a failed update is updated again.
 * DFU 1.1 images go by alternate setting (slot), not address.
 */
export const usbGadgetBundle: Uint8Array = stm32Bundle(
  [
    {
      chip: 'example-gadget',
      protocol: 'dfu',
      usb: {
        vendorId: GENERIC_DFU_VENDOR_ID,
        productId: GENERIC_RUNTIME_PRODUCT_ID,
        dfuProductId: GENERIC_DFU_PRODUCT_ID,
      },
      images: [{ name: 'app', slot: 0 }],
    },
  ],
  'End-to-end test bundle for a DFU 1.1 gadget that re-enumerates in DFU mode.',
);
