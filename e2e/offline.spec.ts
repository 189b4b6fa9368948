/**
 * Offline use (docs/hosting.md): after one visit the service worker has the app shell; a bundle
 * the user kept is cached too. With the server gone and the browser offline, the app reloads
 * and the kept bundle loads and verifies.
 */
import { expect, test, type Page } from '@playwright/test';
import { BENCH_BUNDLE_PATH, startPreview, type PreviewServer } from './preview-server.ts';

let server: PreviewServer;
test.beforeAll(async () => {
  server = await startPreview();
});
test.afterAll(async () => server.stop());

/** Waits until the service worker controls the page (it claims it on first activation). */
async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
      );
    }
  });
}

/** The message src/sw/client.ts keepBundleOffline() sends, answered on a MessageChannel. */
async function keepBundle(page: Page, url: string): Promise<unknown> {
  return page.evaluate(
    (u) =>
      new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (e) => resolve(e.data);
        navigator.serviceWorker.controller!.postMessage({ type: 'webflash:keep-bundle', url: u }, [
          channel.port2,
        ]);
      }),
    url,
  );
}

async function loadBundleUrl(page: Page, url: string): Promise<void> {
  await page.getByLabel('Bundle URL').fill(url);
  await page.getByRole('button', { name: 'Load', exact: true }).click();
}

test('the app and a kept bundle work offline after one visit', async ({ page, context }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const bundleUrl = server.url + BENCH_BUNDLE_PATH;

  await page.goto(server.url + '/');
  await expect(page.getByRole('heading', { name: 'webflash' })).toBeVisible();
  await waitForServiceWorker(page);
  expect(
    await page.evaluate(() => document.querySelector('link[rel=manifest]')?.getAttribute('href')),
  ).toBe('/manifest.webmanifest');

  await loadBundleUrl(page, bundleUrl);
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  expect(await keepBundle(page, bundleUrl)).toEqual({ ok: true, url: bundleUrl });

  // No server, no network.
  await server.stop();
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'webflash' })).toBeVisible();

  await loadBundleUrl(page, bundleUrl);
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');

  // A bundle that was never kept is not there offline.
  await loadBundleUrl(page, server.url + '/demo/demo.fwb');
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'rejected');
  expect(errors).toEqual([]);
});
