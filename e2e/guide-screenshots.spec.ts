/**
 * Screenshots for docs/technician-guide.md. Skipped unless WEBFLASH_SCREENSHOTS=1:
 *   WEBFLASH_SCREENSHOTS=1 E2E_PORT=5191 npx playwright test e2e/guide-screenshots.spec.ts
 * writes docs/img/*.png (light theme, and one in the dark theme).
 */
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type {} from '../src/demo/test-hook.ts';
import { serveDemoBundle } from './demo-fixture.ts';

const out = join(import.meta.dirname, '..', 'docs', 'img');
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

test.skip(
  process.env.WEBFLASH_SCREENSHOTS !== '1',
  'set WEBFLASH_SCREENSHOTS=1 to refresh docs/img',
);
test.use({ viewport: { width: 1280, height: 900 } });

test('technician guide screenshots', async ({ page }) => {
  await serveDemoBundle(page);
  await page.goto('/');
  await shot(page, '1-start');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  await shot(page, '2-bundle-verified');
  await page.getByLabel('Baud rate').selectOption('921600');
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await page.waitForFunction(() => (window.__webflashSim!.state().job.progress?.percent ?? 0) > 40);
  await shot(page, '3-flashing');
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });
  await shot(page, '4-done');

  await page.evaluate(() => window.__webflashSim!.unplugAfter(30_000));
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await expect(page.getByTestId('flash-error')).toBeVisible({ timeout: 45_000 });
  await shot(page, '5-unplugged');

  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, '6-dark-theme');
});
