/**
 * STM32 and USB DFU in the technician app, end to end in Chromium (demo mode): a virtual
 * STM32F407 over its USART bootloader and a virtual STM32F405 over USB DfuSe flash a signed
 * bundle with progress and verification; a read-protected STM32 and the wrong chip stop with a
 * clear error and nothing written; a DFU 1.1 gadget that re-enumerates is chosen again through
 * the prompt, and one a failed update left in DFU mode is flashed again. Waits on DOM state and
 * the demo hook, never on sleeps.
 */
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { STM32_DFU_PRODUCT_ID, STM32_DFU_VENDOR_ID } from '../src/sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
} from '../src/sim/dfu/generic-dfu-sim.ts';
import { demoRelease } from './demo-fixture.ts';
import type {} from '../src/demo/test-hook.ts';

/** 8 KiB: enough blocks for visible progress, seconds at 115200 baud. */
const IMAGE = new Uint8Array(8192).map((_, i) => (i * 31 + 7) & 0xff);

/** A bundle signed with the public demo key, with the demo bundle's kinds of targets. */
const bundle: Uint8Array = demoRelease({
  notes: 'End-to-end test bundle for STM32 and DFU.',
  targets: [
    { chip: 'esp32s3', protocol: 'esp-serial', images: [{ name: 'app', address: 0x10000 }] },
    {
      chip: 'stm32f4',
      protocol: 'stm32-usart',
      images: [{ name: 'app', address: 0x08000000 }],
    },
    {
      chip: 'stm32f4',
      protocol: 'dfuse',
      usb: { vendorId: STM32_DFU_VENDOR_ID, productId: STM32_DFU_PRODUCT_ID },
      images: [{ name: 'app', address: 0x08000000 }],
    },
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
  images: { app: IMAGE },
});

async function open(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/demo/demo.fwb', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bundle),
    }),
  );
  await page.goto('/');
  await expect(page.getByTestId('demo-banner')).toBeVisible();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  expect(errors).toEqual([]);
}

async function connectSerial(page: Page, board: string, label: string): Promise<void> {
  await page.getByLabel('Virtual board').selectOption(board);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText(label);
}

async function connectUsb(page: Page, device: string, label: string): Promise<void> {
  await page.getByRole('radio', { name: 'USB device (DFU)' }).check();
  await page.getByLabel('Virtual USB device').selectOption(device);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText(label);
}

/** Records every percentage the progress bar shows, from DOM mutations. */
async function recordPercents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { __percents: number[] }).__percents = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="percent"]')?.textContent;
      if (text) seen.push(Number.parseInt(text, 10));
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

async function percents(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __percents: number[] }).__percents);
}

async function flash(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
}

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await testInfo.attach(name, {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
}

async function nothingWritten(page: Page, name: string): Promise<void> {
  const counters = await page.evaluate((n) => window.__webflashSim!.flashCounters(n), name);
  expect(counters).toBeDefined();
  expect(counters!.programOps).toBe(0);
  expect(counters!.chipErases + counters!.sectorErases.reduce((a, b) => a + b, 0)).toBe(0);
}

test('flash a virtual STM32F407 over its USART bootloader', async ({ page }, testInfo) => {
  await open(page);
  await connectSerial(page, 'stm32f4', 'Virtual STM32F407 (USART bootloader)');
  await expect(page.getByTestId('planned-protocol')).toHaveAttribute(
    'data-protocol',
    'stm32-usart',
  );
  await recordPercents(page);
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('region-app')).toHaveText('verified');
  const seen = await percents(page);
  expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
  await expect(page.getByTestId('device-chip')).toContainText('STM32F4');
  await expect(page.getByTestId('fact-product-id')).toHaveText('0x413');
  await expect(page.getByTestId('fact-bootloader')).toContainText('USART protocol 3.1');
  await expect(page.getByTestId('fact-read-protection')).toHaveText('off');
  await expect(page.getByTestId('fact-flash-size')).toHaveText('1.00 MiB');
  await shot(page, testInfo, 'stm32-serial-verified');
});

test('flash a virtual STM32F405 over USB DfuSe, verified by read-back', async ({
  page,
}, testInfo) => {
  await open(page);
  await connectUsb(page, 'stm32f405-dfu', 'Virtual STM32F405 in DFU mode (DfuSe)');
  await expect(page.getByTestId('planned-protocol')).toHaveAttribute('data-protocol', 'dfuse');
  await recordPercents(page);
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('region-app')).toHaveText('verified by read-back');
  const seen = await percents(page);
  expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
  await expect(page.getByTestId('fact-usb-id')).toHaveText('0483:df11');
  await expect(page.getByTestId('fact-dfu-version')).toContainText('DfuSe');
  await expect(page.getByTestId('fact-transfer-size')).toHaveText('2048 bytes');
  await expect(page.getByTestId('fact-memory-layout')).toContainText(
    'Internal Flash at 0x08000000: 4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB',
  );
  await shot(page, testInfo, 'dfuse-verified');
});

test('a read-protected STM32 stops with a clear error and nothing written', async ({
  page,
}, testInfo) => {
  await open(page);
  await connectSerial(page, 'stm32f4-rdp', 'read-protected');
  await flash(page);
  const error = page.getByTestId('flash-error');
  await expect(error).toBeVisible({ timeout: 30_000 });
  await expect(error).toHaveAttribute('data-code', 'protocol.read-protected');
  await expect(error).toContainText('The chip is read-protected');
  await expect(error).toContainText(
    'Readout unprotect erases the whole chip; enable it under Advanced options to continue',
  );
  await expect(page.getByTestId('fact-read-protection')).toHaveText('on (level 1)');
  await nothingWritten(page, 'stm32f4-rdp');
  await page.getByText('Advanced options', { exact: true }).click();
  await expect(page.getByLabel('Allow readout unprotect (erases the chip)')).not.toBeChecked();
  await shot(page, testInfo, 'stm32-read-protected');
});

test('the wrong chip is refused before anything is written', async ({ page }, testInfo) => {
  await open(page);
  await connectSerial(page, 'stm32f1', 'Virtual STM32F103CB (USART bootloader)');
  await flash(page);
  const error = page.getByTestId('flash-error');
  await expect(error).toBeVisible({ timeout: 30_000 });
  await expect(error).toHaveAttribute('data-code', 'bundle.rejected');
  await expect(error).toContainText('This bundle is not for this board');
  await expect(error).toContainText('target.mismatch');
  await expect(error).toContainText('Nothing was written');
  await expect(page.getByTestId('device-chip')).toContainText('STM32F10');
  await nothingWritten(page, 'stm32f1');
  await shot(page, testInfo, 'stm32-wrong-chip');
});

test('a DFU gadget that re-enumerates is chosen again through the prompt', async ({
  page,
}, testInfo) => {
  await open(page);
  await connectUsb(page, 'generic-dfu', 'Virtual generic DFU 1.1 device');
  await flash(page);
  const prompt = page.getByTestId('reselect-prompt');
  await expect(prompt).toBeVisible({ timeout: 30_000 });
  await expect(prompt).toContainText('new USB device');
  await shot(page, testInfo, 'dfu-choose-again');
  await prompt.getByRole('button', { name: 'Choose the device again…' }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(prompt).toBeHidden();
  await expect(page.getByTestId('region-app')).toHaveText('verified by read-back');
  await expect(page.getByTestId('fact-dfu-version')).toHaveText('DFU 1.1.0');
  await shot(page, testInfo, 'dfu-verified');
});

test('a DFU gadget left in DFU mode by a failed update is flashed again', async ({
  page,
}, testInfo) => {
  await open(page);
  // As after an update that stopped once the gadget had switched to DFU mode: 1209:0002.
  await page.evaluate(() => window.__webflashSim!.plugUsbInDfuMode('generic-dfu'));
  await connectUsb(page, 'generic-dfu', 'Virtual generic DFU 1.1 device');
  await expect(page.getByTestId('planned-protocol')).toHaveAttribute('data-protocol', 'dfu');
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('reselect-prompt')).toBeHidden();
  await expect(page.getByTestId('region-app')).toHaveText('verified by read-back');
  await expect(page.getByTestId('fact-usb-id')).toHaveText('1209:0002');
  await expect(page.getByTestId('device-chip')).toContainText('Example Gadget (DFU)');
  await shot(page, testInfo, 'dfu-mode-recovered');
});
