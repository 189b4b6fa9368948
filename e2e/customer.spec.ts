/**
 * The customer updater in Chromium, in demo mode (virtual boards): `<webflash-update>` on plain
 * host pages (test/customer/*.html) and the /update page inside an iframe. Flashes a virtual
 * ESP32-S3 to success; refused releases (tampered, wrong chip) show the plain failure screen
 * with nothing written; the unsupported-browser and insecure-page screens; the vendor's slots
 * and styling. axe-core runs on every screen; screenshots are attached to the test output.
 * Waits on the element's `data-state`, never on sleeps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import type {} from '../src/customer/demo-hook.ts';
import { goodBundle, tamperedBundle, wrongChipBundle } from '../test/customer/e2e-bundles.ts';

const HOST = '/test/customer/host.html';
const VENDOR = '/test/customer/vendor.html';
const IFRAME_HOST = '/test/customer/iframe-host.html';

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
const DOC_SHOTS = new Set(['vendor-ready', 'vendor-success', 'failed-wrong-chip', 'unsupported']);

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

for (const colorScheme of ['light', 'dark'] as const) {
  test(`host page: flash a virtual ESP32-S3 to success (${colorScheme})`, async ({
    page,
  }, testInfo) => {
    const errors = watchErrors(page);
    await page.emulateMedia({ colorScheme });
    await serve(page, goodBundle);
    await page.goto(HOST);
    const el = updater(page);
    await expect(el).toHaveAttribute('data-state', 'ready');
    await expect(el.locator('[part="title"]')).toHaveText('An update is ready');
    await expect(el).toContainText('webflash-demo 1.0.0 is ready to install');
    await expect(el.getByText('Demo: a virtual device stands in')).toBeVisible();
    await axe(page);
    await shot(page, testInfo, `ready-${colorScheme}`);

    // One button, operated from the keyboard.
    const button = el.getByRole('button', { name: 'Update firmware' });
    await button.focus();
    await page.keyboard.press('Enter');
    const bar = el.getByRole('progressbar');
    await expect(el).toHaveAttribute('data-state', 'installing', { timeout: 30_000 });
    await expect(bar).toHaveAttribute('aria-valuenow', /^[1-9]\d*$/, { timeout: 30_000 });
    await expect(bar).toHaveAccessibleName(/Installing the update|Checking the installed update/);
    await expect(el.getByRole('status')).toContainText(/percent|Connecting|Checking/);
    await axe(page);
    await shot(page, testInfo, `installing-${colorScheme}`);

    await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
    await expect(el.locator('[part="title"]')).toHaveText('Your device is up to date');
    await expect(el.locator('[part="title"]')).toBeFocused();
    await expect(el.getByRole('status')).toHaveText('Update finished. Your device is up to date');
    expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBe('esp32s3');
    expect(
      await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes()),
    ).toBeGreaterThan(100_000);
    await axe(page);
    await shot(page, testInfo, `success-${colorScheme}`);
    expect(errors).toEqual([]);
  });
}

test('a tampered update file shows the plain failure screen; no device is touched', async ({
  page,
}, testInfo) => {
  await serve(page, tamperedBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'failed');
  await expect(el.locator('[part="title"]')).toHaveText('The update file could not be trusted');
  await expect(el).toContainText('Nothing was changed on your device.');
  await expect(el).toContainText('Contact Widget support'); // the vendor's help slot
  await expect(el.getByRole('button', { name: 'Update firmware' })).toBeHidden();
  await expect(el.getByRole('button', { name: 'Try again' })).toBeFocused();
  expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBeUndefined();
  expect(await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes())).toBe(0);
  await axe(page);
  await shot(page, testInfo, 'failed-tampered');
});

test('a release for another chip is refused after connecting; nothing is written', async ({
  page,
}, testInfo) => {
  await serve(page, wrongChipBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(el.locator('[part="title"]')).toHaveText(
    'This update is not for the connected device',
  );
  await expect(el.locator('[part="steps"]')).toContainText('Check that you connected the right');
  expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBe('esp32s3');
  expect(await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes())).toBe(0);
  await axe(page);
  await shot(page, testInfo, 'failed-wrong-chip');
});

test('a browser without Web Serial and WebUSB gets the unsupported screen', async ({
  page,
}, testInfo) => {
  await page.addInitScript(() => {
    const proto = Navigator.prototype as unknown as Record<string, unknown>;
    delete proto['serial'];
    delete proto['usb'];
  });
  await serve(page, goodBundle);
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'unsupported');
  await expect(el.locator('[part="title"]')).toHaveText('This browser cannot update your device');
  await expect(el.getByText('Use Chrome or Edge on a computer.')).toBeVisible();
  await expect(el.getByText('Updating over USB needs a browser')).toBeVisible();
  await expect(el.getByRole('button')).toHaveCount(0);
  await axe(page);
  await shot(page, testInfo, 'unsupported');
});

test('an insecure page gets the not-allowed screen', async ({ page }, testInfo) => {
  // What Chromium shows on http at a public address: no secure context, so no Web Serial/USB.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'isSecureContext', { value: false });
    const proto = Navigator.prototype as unknown as Record<string, unknown>;
    delete proto['serial'];
    delete proto['usb'];
  });
  await page.goto(HOST);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'unsupported');
  await expect(el.locator('[part="title"]')).toHaveText('This page is not secure');
  await expect(el.getByText('starts with https://')).toBeVisible();
  await axe(page);
  await shot(page, testInfo, 'insecure');
});

test("the vendor's words, button and styling", async ({ page }, testInfo) => {
  await serve(page, goodBundle);
  await page.goto(VENDOR);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'ready');
  await expect(el.getByRole('button', { name: 'Update firmware' })).toBeHidden();
  await expect(el.locator('[part="container"]')).toHaveCSS('border-radius', '4px');
  await axe(page);
  await shot(page, testInfo, 'vendor-ready');
  // The ESP flasher stub is fetched as data for the detected chip, not loaded as a script.
  const stubFetched = page.waitForRequest(
    (r) => r.resourceType() === 'fetch' && /esp32s3[^/?]*\.json/.test(r.url()),
  );
  await page.getByRole('button', { name: 'Install Lamp update' }).click();
  expect((await (await stubFetched).response())?.ok()).toBe(true);
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  await expect(page.getByText('Enjoy your Acme Lamp!')).toBeVisible();
  await shot(page, testInfo, 'vendor-success');
});

test("the vendor's unsupported words replace the built-in ones", async ({ page }, testInfo) => {
  await page.addInitScript(() => {
    const proto = Navigator.prototype as unknown as Record<string, unknown>;
    delete proto['serial'];
    delete proto['usb'];
  });
  await page.goto(VENDOR);
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'unsupported');
  await expect(page.getByText('visit an Acme store')).toBeVisible();
  await expect(el.getByText('Use Chrome or Edge on a computer.')).toBeHidden();
  await shot(page, testInfo, 'vendor-unsupported');
});

test('the /update page works inside an iframe with allow="serial; usb"', async ({
  page,
}, testInfo) => {
  const errors = watchErrors(page);
  await serve(page, goodBundle);
  // The vendor's page comes from the vendor's server, not with this app's own strict policy
  // (whose default-src 'none' forbids frames on the app's pages).
  await page.route(`**${IFRAME_HOST}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: readFileSync(`.${IFRAME_HOST}`) }),
  );
  await page.goto(IFRAME_HOST);
  const frame = page.frameLocator('iframe[title="Widget updater"]');
  const el = frame.locator('webflash-update');
  await expect(frame.getByRole('heading', { name: 'Widget update' })).toBeVisible();
  await expect(el).toHaveAttribute('data-state', 'ready');
  await axe(page);
  await shot(page, testInfo, 'iframe-ready');
  await el.getByRole('button', { name: 'Update my Widget' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
  await expect(el.locator('[part="title"]')).toHaveText('Your device is up to date');
  await shot(page, testInfo, 'iframe-success');
  expect(errors).toEqual([]);
});

test('/update refuses a bundle from another origin, whatever the address says', async ({
  page,
}, testInfo) => {
  await page.goto('/update?bundle=https://evil.example/firmware.fwb');
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'failed');
  await expect(el.locator('[part="title"]')).toHaveText('This update comes from an unknown place');
  await expect(el).toContainText('may not install updates from https://evil.example');
  await expect(el.getByRole('button', { name: 'Try again' })).toBeHidden();
  await axe(page);
  await shot(page, testInfo, 'origin-refused');
});

test('a page that names no product is refused before anything is downloaded', async ({
  page,
}, testInfo) => {
  let fetched = false;
  await page.route('**/demo/demo.fwb', (route) => {
    fetched = true;
    return route.fulfill({ status: 200, body: Buffer.from(goodBundle) });
  });
  await page.goto('/test/customer/no-product-host.html');
  const el = updater(page);
  await expect(el).toHaveAttribute('data-state', 'failed');
  await expect(el.locator('[part="title"]')).toHaveText('This update page is not set up correctly');
  await expect(el).toContainText('<webflash-update product="your-product-id">');
  await expect(el.getByRole('button', { name: 'Try again' })).toBeHidden();
  expect(fetched).toBe(false);
  await axe(page);
  await shot(page, testInfo, 'no-product');
});
