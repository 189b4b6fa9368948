/**
 * The technician's flow in demo mode, end to end in Chromium: virtual ESP32-S3 → demo bundle →
 * Flash → verified; and an unplug mid-flash that names the cause and the next step, then a
 * retry after plugging back in. Waits on DOM state and the store, never on sleeps.
 */
import { existsSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import type {} from '../src/demo/test-hook.ts';
import { serveDemoBundle } from './demo-fixture.ts';

async function ready(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await serveDemoBundle(page);
  await page.goto('/');
  await expect(page.getByTestId('demo-banner')).toBeVisible();
  await page.getByLabel('Virtual board').selectOption('esp32s3');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText('Virtual ESP32-S3');
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  await expect(page.getByTestId('bundle-details')).toContainText('webflash-demo');
  expect(errors).toEqual([]);
}

test('flash a virtual ESP32-S3 with the demo bundle', async ({ page }, testInfo) => {
  await ready(page);
  await page.getByLabel('Baud rate').selectOption('921600');
  // Every phase the console shows, with its words (the comparing phase passes quickly).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { phasesSeen: string[] }).phasesSeen = seen;
    const record = () => {
      const el = document.querySelector('[data-testid="phase"]');
      const text = `${el?.getAttribute('data-phase')}: ${el?.textContent ?? ''}`;
      if (el && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await expect(page.getByTestId('phase')).toHaveAttribute('data-phase', 'writing', {
    timeout: 30_000,
  });
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });
  await expect(page.getByTestId('region-app')).toHaveText('MD5 verified');
  await expect(page.getByTestId('region-partition-table')).toHaveText('MD5 verified');
  await expect(page.getByTestId('device-chip')).toContainText('ESP32-S3');
  const seen = await page.evaluate(
    () => (window as unknown as { phasesSeen: string[] }).phasesSeen,
  );
  const phases = seen.map((s) => s.split(':')[0]);
  expect(phases.indexOf('comparing')).toBeGreaterThan(phases.indexOf('checking'));
  expect(phases.indexOf('comparing')).toBeLessThan(phases.indexOf('writing'));
  expect(seen).toContainEqual(expect.stringMatching(/^comparing: Comparing app \(\d of \d\)$/));
  await testInfo.attach('flashed', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
});

test('unplugging mid-flash explains what happened; a retry after re-plugging completes', async ({
  page,
}, testInfo) => {
  await ready(page);
  await page.evaluate(() => window.__webflashSim!.unplugAfter(40_000));
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  const error = page.getByTestId('flash-error');
  await expect(error).toBeVisible({ timeout: 45_000 });
  await expect(error).toHaveAttribute('data-code', 'transport.device-lost');
  await expect(error).toContainText('The board was disconnected');
  await expect(error).toContainText('Plug the board back in');
  await expect(page.getByTestId('cable-state')).toHaveText('unplugged');
  await testInfo.attach('unplugged', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  await page.getByRole('button', { name: 'Plug in' }).click();
  await expect(page.getByTestId('cable-state')).toHaveText('plugged in');
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });
  await expect(page.getByTestId('region-app')).toHaveText('MD5 verified');
});

test('the generated demo bundle flashes a virtual ESP32-C3 through its UART bridge', async ({
  page,
}) => {
  test.skip(!existsSync('public/demo/demo.fwb'), 'run `npx tsx scripts/make-demo-bundle.ts` first');
  await page.goto('/');
  await page.getByLabel('Virtual board').selectOption('esp32c3');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  await page.getByLabel('Baud rate').selectOption('921600');
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 55_000 });
  await expect(page.getByTestId('device-chip')).toContainText('ESP32-C3');
  await expect(page.getByTestId('region-blink-esp32c3')).toHaveText('MD5 verified');
});
