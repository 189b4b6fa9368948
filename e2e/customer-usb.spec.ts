/**
 * The customer updater over WebUSB in Chromium, in demo mode: `<webflash-update>` on plain host
 * pages updates the virtual STM32F405 in its DfuSe bootloader (the demo lab's fake
 * `navigator.usb`) to success, with progress and read-back verification; a release for another
 * STM32 is refused with the plain failure screen and nothing written; a release with serial and
 * USB targets follows the page's `transport="usb"`; the demo's DFU 1.1 gadget, which restarts
 * in DFU mode under a new USB id, is chosen again through one plain step (also after a closed
 * chooser), or the visitor stops there and gets the failure screen. axe-core runs on each
 * screen. Waits on the element's `data-state` and the demo hook, never on sleeps.
 */
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import type {} from '../src/customer/demo-hook.ts';
import {
  serialAndUsbBundle,
  usbBundle,
  usbGadgetBundle,
  usbWrongChipBundle,
} from '../test/customer/e2e-bundles.ts';

const HOST = '/test/customer/host.html';
const USB_HOST = '/test/customer/usb-host.html';
const DEVICE = 'stm32f405-dfu';
const IMAGE_BYTES = 32 * 1024;

async function serve(page: Page, bytes: Uint8Array): Promise<void> {
  await page.route('**/demo/demo.fwb', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bytes),
    }),
  );
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** No serious or critical axe-core violations (WCAG 2.1 A/AA rules) on the page as it is now. */
async function axe(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual(
    [],
  );
}

/** Screens shown in docs/embedding.md; `WEBFLASH_SCREENSHOTS=1` refreshes docs/img/customer-*.png. */
const DOC_SHOTS = new Set(['usb-choose-again']);

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
  if (process.env.WEBFLASH_SCREENSHOTS === '1' && DOC_SHOTS.has(name)) {
    const docs = join(import.meta.dirname, '..', 'docs', 'img', `customer-${name}.png`);
    await page.screenshot({ path: docs, fullPage: true, animations: 'disabled' });
  }
}

const updater = (page: Page): Locator => page.locator('webflash-update');

/** Records every value the progress bar takes, from attribute mutations in the shadow tree. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { __progress: number[] }).__progress = seen;
    const bar = document
      .querySelector('webflash-update')!
      .shadowRoot!.querySelector('[role="progressbar"]')!;
    new MutationObserver(() => {
      const now = bar.getAttribute('aria-valuenow');
      if (now !== null) seen.push(Number(now));
    }).observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  });
}

async function progressSeen(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
}

async function lab<T>(page: Page, read: 'current' | 'programmedBytes' | 'erases'): Promise<T> {
  return page.evaluate((what) => window.__webflashCustomerLab![what]() as T, read);
}

const GADGET = 'generic-dfu';

/** The host page with the release for the demo's DFU 1.1 gadget, its update started. */
async function startGadgetUpdate(page: Page): Promise<Locator> {
  await serve(page, usbGadgetBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await page.evaluate((board) => {
    const element = document.querySelector('webflash-update')!;
    element.setAttribute('virtual-board', board);
    // The vendor's words for the step, in its slot.
    const words = Object.assign(document.createElement('p'), {
      slot: 'choose-again',
      textContent: 'In the list, pick "Virtual generic DFU 1.1 device".',
    });
    element.append(words);
  }, GADGET);
  await recordProgress(page);
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'choose-again', { timeout: 30_000 });
  return el;
}

test('host page: a USB-only release updates a virtual STM32F405 over DfuSe to success', async ({
  page,
}, testInfo) => {
  const errors = watchErrors(page);
  await serve(page, usbBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await expect(el).toContainText('webflash-demo 1.0.0 is ready to install');
  await expect(el.getByText('Demo: a virtual device stands in')).toBeVisible();
  await axe(page);
  await shot(page, testInfo, 'usb-ready');

  await recordProgress(page);
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'installing', { timeout: 30_000 });
  await axe(page);
  await shot(page, testInfo, 'usb-installing');

  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  await expect(el.locator('[part="title"]')).toHaveText('Your device is up to date');
  await expect(el.getByRole('status')).toHaveText('Update finished. Your device is up to date');
  const seen = await progressSeen(page);
  expect(seen.some((p) => p > 0 && p < 90)).toBe(true); // writing
  expect(seen.some((p) => p >= 90 && p < 100)).toBe(true); // verifying by read-back
  const device = await page.evaluate(
    () =>
      (document.querySelector('webflash-update') as unknown as { state?: { device?: string } })
        .state?.device,
  );
  expect(device).toMatch(/STM32F40/);
  expect(await lab<string>(page, 'current')).toBe(DEVICE);
  expect(await lab<number>(page, 'programmedBytes')).toBe(IMAGE_BYTES);
  await axe(page);
  await shot(page, testInfo, 'usb-success');
  expect(errors).toEqual([]);
});

test('a release for another STM32 is refused over DfuSe; nothing is written', async ({
  page,
}, testInfo) => {
  await serve(page, usbWrongChipBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(el.locator('[part="title"]')).toHaveText(
    'This update is not for the connected device',
  );
  await expect(el.locator('[part="message"]')).toHaveText('Nothing was changed on your device.');
  await expect(el.locator('[part="steps"]')).toContainText('Check that you connected the right');
  await expect(el.getByRole('button', { name: 'Try again' })).toBeFocused();
  await expect(el).toContainText('Contact Widget support'); // the vendor's help slot
  expect(await lab<string>(page, 'current')).toBe(DEVICE);
  expect(await lab<number>(page, 'programmedBytes')).toBe(0);
  expect(await lab<number>(page, 'erases')).toBe(0);
  await axe(page);
  await shot(page, testInfo, 'usb-failed-wrong-chip');
});

test('transport="usb" picks USB for a release with serial and USB targets', async ({
  page,
}, testInfo) => {
  await serve(page, serialAndUsbBundle);
  await page.goto(USB_HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  expect(await lab<string>(page, 'current')).toBe(DEVICE);
  expect(await lab<number>(page, 'programmedBytes')).toBe(IMAGE_BYTES);
  await shot(page, testInfo, 'usb-pinned-success');
});

test('without transport="usb" the same release keeps the serial default', async ({ page }) => {
  await serve(page, serialAndUsbBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await page.evaluate(() =>
    document.querySelector('webflash-update')!.setAttribute('virtual-board', 'stm32f4'),
  );
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  expect(await lab<string>(page, 'current')).toBe('stm32f4');
  expect(await lab<number>(page, 'programmedBytes')).toBe(IMAGE_BYTES);
});

test('/update?transport=usb passes the choice to the element', async ({ page }) => {
  await serve(page, serialAndUsbBundle);
  await page.goto('/update?transport=usb');
  const el = updater(page);
  await expect(el).toHaveAttribute('transport', 'usb');
  await expect(el).toHaveAttribute('data-state', 'ready');
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  expect(await lab<string>(page, 'current')).toBe(DEVICE);
  await axe(page);
});

test('a DFU gadget that restarts under a new USB identity is chosen again, also after a closed chooser', async ({
  page,
}, testInfo) => {
  const errors = watchErrors(page);
  const el = await startGadgetUpdate(page);
  await expect(el.locator('[part="title"]')).toHaveText('One more step');
  await expect(el.locator('[part="message"]')).toHaveText(
    'Your device restarted in update mode. Choose it again to continue.',
  );
  const choose = el.getByRole('button', { name: 'Choose device' });
  await expect(choose).toBeFocused();
  await expect(el.getByRole('button', { name: 'Stop the update' })).toBeHidden();
  await expect(el.getByRole('button', { name: 'Update firmware' })).toBeHidden();
  await expect(el).toHaveAttribute('aria-busy', 'false');
  await expect(el.getByText('In the list, pick')).toBeVisible();
  await axe(page);
  await shot(page, testInfo, 'usb-choose-again');

  // Not in the list (unplugged): the chooser closes without a choice, and the step stays.
  await page.evaluate(() => window.__webflashCustomerLab!.unplug());
  await page.keyboard.press('Enter');
  await expect(el.locator('[part="steps"]')).toHaveText(
    'No device was chosen. Press Choose device to try again, or stop the update.',
  );
  await expect(el).toHaveAttribute('data-state', 'choose-again');
  await expect(el.getByRole('button', { name: 'Stop the update' })).toBeVisible();
  await expect(el.getByRole('status')).toHaveText(
    'No device was chosen. Press Choose device to try again, or stop the update.',
  );
  await axe(page);
  await shot(page, testInfo, 'usb-choose-again-cancelled');

  await page.evaluate(() => window.__webflashCustomerLab!.plug());
  await choose.click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  const seen = await progressSeen(page);
  expect(seen.some((p) => p > 0 && p < 90)).toBe(true);
  expect(seen.some((p) => p >= 90 && p < 100)).toBe(true);
  expect(await lab<string>(page, 'current')).toBe(GADGET);
  expect(await lab<number>(page, 'programmedBytes')).toBe(IMAGE_BYTES);
  await expect(el.locator('[part="title"]')).toHaveText('Your device is up to date');
  await expect(el.getByText('In the list, pick')).toBeHidden();
  await axe(page);
  expect(errors).toEqual([]);
});

test('stopping at the choose-again step lands on the failure screen with what to do', async ({
  page,
}, testInfo) => {
  const el = await startGadgetUpdate(page);
  await page.evaluate(() => window.__webflashCustomerLab!.unplug());
  await el.getByRole('button', { name: 'Choose device' }).click();
  const stop = el.getByRole('button', { name: 'Stop the update' });
  await expect(stop).toBeVisible();
  await stop.click();
  await expect(el).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(el.locator('[part="title"]')).toHaveText('The update was stopped');
  await expect(el.locator('[part="message"]')).toHaveText('Nothing was changed on your device.');
  await expect(el.locator('[part="steps"]')).toHaveText(
    'Unplug the device, plug it back in, then press Try again.',
  );
  await expect(el.getByRole('button', { name: 'Try again' })).toBeFocused();
  await expect(el.getByRole('button', { name: 'Choose device' })).toBeHidden();
  await expect(el).toContainText('Contact Widget support');
  expect(await lab<number>(page, 'programmedBytes')).toBe(0);
  expect(await lab<number>(page, 'erases')).toBe(0);
  await axe(page);
  await shot(page, testInfo, 'usb-choose-again-stopped');
});
