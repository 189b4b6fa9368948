/**
 * Arduino AVR boards in all three faces, in demo mode in Chromium: the technician flashes a
 * virtual Uno (optiboot, STK500v1) and sees its signature and chip; the customer updates a
 * virtual Mega 2560 (STK500v2) with one button; the bench provisions an Uno, a Mega and a
 * Leonardo (AVR109, re-enumerating behind the fake Web Serial: it comes up blank as its
 * Caterina bootloader and restarts as its sketch's port) in one hands-off run and reports them. The release holds Blink sketches of a few hundred bytes, so
 * each flow takes seconds. Waits on DOM state and the pages' demo hooks, never on sleeps.
 */
import { expect, test, type Page } from '@playwright/test';
import type {} from '../src/customer/demo-hook.ts';
import type {} from '../src/demo/bench-lab.ts';
import { avrBundle, serveDemoBundle } from './demo-fixture.ts';

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

test('technician: flash a virtual Arduino Uno, identity shown, verified', async ({ page }) => {
  const errors = watchErrors(page);
  await serveDemoBundle(page, avrBundle);
  await page.goto('/');
  await expect(page.getByTestId('demo-banner')).toBeVisible();
  await page.getByLabel('Virtual board').selectOption('uno');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText('Virtual Arduino Uno R3');
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('device-facts')).toHaveAttribute('data-protocol', 'avr-stk500v1');
  await expect(page.getByTestId('device-chip')).toContainText('ATmega328P');
  await expect(page.getByTestId('fact-signature')).toHaveText('1e 95 0f');
  await expect(page.getByTestId('fact-bootloader')).toContainText('optiboot 4.4');
  await expect(page.getByTestId('region-blink-uno')).toHaveText('verified');
  expect(errors).toEqual([]);
});

test('customer: update a virtual Arduino Mega 2560 with one button', async ({ page }) => {
  const errors = watchErrors(page);
  await serveDemoBundle(page, avrBundle);
  await page.goto('/test/customer/host.html');
  const el = page.locator('webflash-update');
  await expect(el).toHaveAttribute('data-state', 'ready');
  await el.evaluate((e) => e.setAttribute('virtual-board', 'mega2560'));
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 30_000 });
  await expect(el.locator('[part="title"]')).toHaveText('Your device is up to date');
  expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBe('mega2560');
  // Blink for the ATmega2560: 288 bytes, in two 256-byte pages.
  expect(await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes())).toBe(512);
  expect(errors).toEqual([]);
});

test('bench: an Uno, a Mega and a Leonardo provisioned in one run, then reported', async ({
  page,
}, testInfo) => {
  const errors = watchErrors(page);
  await serveDemoBundle(page, avrBundle);
  // Other work on the sources must not reload the page under the bench (its state lives there).
  await page.routeWebSocket(/.*/, (ws) => ws.send(JSON.stringify({ type: 'connected' })));
  await page.goto('/?mode=bench');
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');
  await page.getByRole('button', { name: 'Start hands-off mode' }).click();
  await page.evaluate(() => {
    for (const type of ['uno', 'mega2560', 'leonardo']) window.__webflashBench!.add({ type });
  });
  await expect(page.getByTestId('tile')).toHaveCount(3);
  await expect(page.getByTestId('tally')).toHaveAttribute('data-ok', '3', { timeout: 30_000 });
  await expect(page.getByTestId('tally')).toHaveAttribute('data-failed', '0');
  // The Leonardo, blank, came up as Caterina (2341:0036) and was followed to its sketch's port
  // (2341:8036) after the update: still three tiles, nothing flashed twice.
  await expect
    .poll(() =>
      page.evaluate(() =>
        window
          .__webflashBench!.state()
          .tiles.map((t) => `${t.protocol}:${t.chip}:${t.state}:${t.followed}:${t.usbProductId}`),
      ),
    )
    .toEqual([
      'avr-stk500v1:atmega328p:done:0:67',
      'avr-stk500v2:atmega2560:done:0:66',
      `avr109:atmega32u4:done:1:${0x8036}`,
    ]);
  await expect(page.getByTestId('tile')).toHaveCount(3);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (JSON)' }).click(),
  ]);
  const path = testInfo.outputPath('report.json');
  await download.saveAs(path);
  const { readFileSync } = await import('node:fs');
  const report = JSON.parse(readFileSync(path, 'utf8')) as {
    summary: { flashes: number; ok: number; failed: number };
    records: { chip: string; result: string }[];
  };
  expect(report.summary).toMatchObject({ flashes: 3, ok: 3, failed: 0 });
  expect(report.records.map((r) => r.chip).sort()).toEqual([
    'atmega2560',
    'atmega328p',
    'atmega32u4',
  ]);
  expect(errors).toEqual([]);
});
