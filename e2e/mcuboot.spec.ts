/**
 * MCUboot over SMP in all three faces, end to end in Chromium (demo mode): the virtual
 * nRF52840 DK runs a Zephyr application with MCUmgr on its USB CDC ACM port. The technician
 * console shows the board's image list before the update and after the restart, the upload's
 * progress and the test → reset → reconnect → confirm steps; an identical image is not sent
 * again; a cable pulled mid-upload and plugged back resumes from the offset the board reports.
 * The customer updater updates it with one button; the bench provisions three at once.
 * A 12 KiB image keeps each test to seconds. Waits on DOM state, DOM mutations and the demo
 * hooks, never on sleeps.
 */
import { expect, test, type Page } from '@playwright/test';
import { SIM_MCUBOOT_SECRET_KEY } from '../src/sim/mcuboot/boards.ts';
import { buildMcubootImage } from '../src/sim/mcuboot/image-tools.ts';
import { demoRelease } from './demo-fixture.ts';
import type {} from '../src/customer/demo-hook.ts';
import type {} from '../src/demo/bench-lab.ts';
import type {} from '../src/demo/test-hook.ts';

/** 12 KiB signed with the simulator's MCUboot key, which the virtual boards trust. */
const APP = buildMcubootImage({
  version: { major: 1, minor: 1, revision: 0, build: 0 },
  body: new Uint8Array(12 * 1024).map((_, i) => (i * 13 + 5) & 0xff),
  secretKey: SIM_MCUBOOT_SECRET_KEY,
});

/** A release for the nRF52840 with MCUboot, signed with the public demo key. */
const bundle: Uint8Array = demoRelease({
  version: '1.1.0',
  notes: 'End-to-end test bundle for MCUboot.',
  targets: [{ chip: 'nrf52840', protocol: 'mcuboot-smp', images: [{ name: 'app', slot: 0 }] }],
  images: { app: APP },
});

async function serve(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/demo/demo.fwb', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bundle),
    }),
  );
  return errors;
}

/** The technician console with the virtual nRF52840 chosen and the release verified. */
async function technician(page: Page): Promise<string[]> {
  const errors = await serve(page);
  await page.goto('/');
  await page.getByLabel('Virtual board').selectOption('nrf52840-mcuboot');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText('Virtual nRF52840 DK (MCUboot');
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  return errors;
}

/** Records every text the device panel's primary-slot line shows, as it changes. */
async function recordSlot0(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __slot0: string[] }).__slot0 = seen;
    const percents: number[] = [];
    (window as unknown as { __percent: number[] }).__percent = percents;
    const look = (): void => {
      const text = document.querySelector('[data-testid="fact-image-0-slot-0"]')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
      // The upload's progress: the writing phase (comparing the image list comes first).
      const phase = document.querySelector('[data-testid="phase"]')?.getAttribute('data-phase');
      const percent = document.querySelector('[data-testid="percent"]')?.textContent;
      if (percent && phase === 'writing') percents.push(parseInt(percent, 10));
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

const slot0Seen = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { __slot0: string[] }).__slot0);

const flash = (page: Page) => page.getByRole('button', { name: 'Flash', exact: true }).click();

test('technician: image list before and after, upload progress, test → reset → reconnect → confirm; an identical image is not sent', async ({
  page,
}, testInfo) => {
  const errors = await technician(page);
  await recordSlot0(page);
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  // Before: the factory image; after the restart: the new one, running and confirmed.
  // Progress during the upload: values between the ends, never going back.
  const percents = await page.evaluate(
    () => (window as unknown as { __percent: number[] }).__percent,
  );
  expect(percents.some((p) => p > 0 && p < 100)).toBe(true);
  expect(percents).toEqual([...percents].sort((a, b) => a - b));
  await expect(page.getByTestId('region-app')).toHaveText('SHA-256 listed by MCUboot');
  const seen = await slot0Seen(page);
  expect(seen[0]).toMatch(/^1\.0\.0 \(active, confirmed\) [0-9a-f]{16}…$/);
  await expect(page.getByTestId('fact-image-0-slot-0')).toHaveText(
    /^1\.1\.0 \(active, confirmed\) [0-9a-f]{16}…$/,
  );
  await expect(page.getByTestId('fact-image-0-slot-1')).toContainText('1.0.0');
  await expect(page.getByTestId('fact-mode')).toHaveText('application with MCUmgr');
  await expect(page.getByTestId('device-chip')).toContainText('nrf52840');
  const log = page.getByTestId('log');
  for (const step of [
    /Uploading app 1\.1\.0/,
    /Wrote app \(12\d{3} bytes\)/,
    /Marking image 0 for test/,
    /The board answers again after the reset/,
    /Confirming image 0 1\.1\.0/,
  ]) {
    await expect(log).toContainText(step);
  }
  await testInfo.attach('mcuboot-flashed', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  // The same release again: the image is already running.
  const programmed = await page.evaluate(
    () => window.__webflashSim!.flashCounters()!.programmedBytes,
  );
  await flash(page);
  await expect(log).toContainText(
    'app 1.1.0 is already on the device (running, same hash); nothing to send.',
    { timeout: 30_000 },
  );
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  expect(await page.evaluate(() => window.__webflashSim!.flashCounters()!.programmedBytes)).toBe(
    programmed,
  );
  expect(errors).toEqual([]);
});

test('technician: the cable pulled mid-upload, plugged back: the upload resumes from the board’s offset', async ({
  page,
}) => {
  const errors = await technician(page);
  await page.evaluate(() => window.__webflashSim!.unplugAfter(8000));
  await flash(page);
  const log = page.getByTestId('log');
  await expect(log).toContainText(/went away at byte \d+ of app/, { timeout: 30_000 });
  await expect(page.getByTestId('cable-state')).toHaveText('unplugged');
  await page.getByRole('button', { name: 'Plug in' }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  const text = (await log.textContent()) ?? '';
  const gone = Number(/went away at byte (\d+) of app/.exec(text)?.[1]);
  const resumed = Number(
    /Resuming app at byte (\d+) of \d+, the offset the board reports/.exec(text)?.[1],
  );
  expect(gone).toBeGreaterThan(0);
  expect(resumed).toBeGreaterThanOrEqual(gone);
  expect(text).not.toContain('starting it again');
  await expect(page.getByTestId('fact-image-0-slot-0')).toHaveText(
    /^1\.1\.0 \(active, confirmed\)/,
  );
  expect(errors).toEqual([]);
});

test('customer: one button updates the virtual nRF52840', async ({ page }) => {
  const errors = await serve(page);
  await page.goto('/test/customer/host.html');
  const el = page.locator('webflash-update');
  await expect(el).toHaveAttribute('data-state', 'ready');
  await expect(el).toContainText('webflash-demo 1.1.0 is ready to install');
  await page.evaluate(() =>
    document.querySelector('webflash-update')!.setAttribute('virtual-board', 'nrf52840-mcuboot'),
  );
  await el.getByRole('button', { name: 'Update firmware' }).click();
  await expect(el).toHaveAttribute('data-state', 'success', { timeout: 30_000 });
  await expect(el.getByRole('status')).toHaveText('Update finished. Your device is up to date');
  expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBe(
    'nrf52840-mcuboot',
  );
  expect(
    await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes()),
  ).toBeGreaterThan(APP.length);
  expect(errors).toEqual([]);
});

test('bench: three nRF52840 boards provisioned in one hands-off run', async ({ page }) => {
  const errors = await serve(page);
  await page.goto('/?mode=bench');
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');
  await page.getByRole('button', { name: 'Start hands-off mode' }).click();
  for (let i = 0; i < 3; i++) {
    await page.evaluate(() => window.__webflashBench!.add({ type: 'nrf52840-mcuboot' }));
  }
  await expect(page.getByTestId('tile')).toHaveCount(3);
  await expect(page.getByTestId('tally')).toHaveAttribute('data-ok', '3', { timeout: 60_000 });
  await expect(page.getByTestId('tally')).toHaveAttribute('data-failed', '0');
  const state = await page.evaluate(() => {
    const s = window.__webflashBench!.state();
    return { tiles: s.tiles.map((t) => t.state), records: s.records.length };
  });
  expect(state).toEqual({ tiles: ['done', 'done', 'done'], records: 3 });
  expect(errors).toEqual([]);
});
