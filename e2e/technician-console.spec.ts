/**
 * The technician console in demo mode, end to end in Chromium: every device and bundle fact
 * after a flash, the serial monitor showing the new firmware boot, a kept range refused before
 * anything is written, the downgrade override with its typed reason, and the flash log exported
 * from the page and checked by the CLI (`webflash log verify`). Waits on DOM state and the
 * store, never on sleeps.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import type {} from '../src/demo/test-hook.ts';
import {
  BLINK_S3_TARGET,
  blinkS3,
  demoRelease,
  e2eBundle,
  serveDemoBundle,
} from './demo-fixture.ts';

const root = join(import.meta.dirname, '..');

/** A release of the e2e product with another version and security counter, signed with the demo key. */
function release(version: string, securityCounter: number): Buffer {
  return Buffer.from(
    demoRelease({
      version,
      securityCounter,
      notes: `End-to-end release ${version}.`,
      targets: [BLINK_S3_TARGET],
      images: blinkS3(),
    }),
  );
}

async function ready(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await serveDemoBundle(page);
  await page.goto('/');
  await expect(page.getByTestId('demo-banner')).toBeVisible();
  await page.getByLabel('Virtual board').selectOption('esp32s3');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('port-label')).toContainText('Virtual ESP32-S3');
  return errors;
}

async function loadDemo(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
}

async function loadFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.getByLabel('Open bundle file…').setInputFiles({
    name,
    mimeType: 'application/octet-stream',
    buffer: bytes,
  });
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
}

async function flash(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
}

async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  await info.attach(name, {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
}

/** Exports the flash log from the page and runs `webflash log verify` on it. */
async function exportAndVerify(page: Page): Promise<{ text: string; cli: string }> {
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export log' }).click();
  const file = join(mkdtempSync(join(tmpdir(), 'webflash-log-')), 'flash-log.jsonl');
  await (await download).saveAs(file);
  const cli = execFileSync('npx', ['webflash', 'log', 'verify', file], {
    cwd: root,
    encoding: 'utf8',
  });
  return { text: readFileSync(file, 'utf8'), cli };
}

test('after a flash: device and bundle facts, the boot text in the monitor, a verified flash log', async ({
  page,
}, testInfo) => {
  const errors = await ready(page);
  await loadDemo(page);
  const sha = createHash('sha256').update(e2eBundle).digest('hex');
  await expect(page.getByTestId('bundle-sha256')).toHaveText(sha);
  await expect(page.getByTestId('bundle-signers')).toContainText('1 valid, 1 required');
  await expect(page.getByTestId('signer')).toHaveCount(1);
  await expect(page.getByTestId('bundle-rollback')).toHaveAttribute('data-status', 'new');
  await expect(page.getByTestId('bundle-details')).toContainText('0x00010000');

  await page.getByLabel('Baud rate').selectOption('921600');
  await page.getByLabel('Note for the flash log').fill('e2e bench 1');
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });

  await expect(page.getByTestId('device-chip')).toContainText('ESP32-S3');
  await expect(page.getByTestId('fact-transport')).toContainText(
    'Serial port (Web Serial), USB 303a:1001',
  );
  await expect(page.getByTestId('fact-unique-id')).toHaveText(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i);
  await expect(page.getByTestId('fact-flash-size')).not.toBeEmpty();
  await expect(page.getByTestId('fact-bootloader')).not.toBeEmpty();
  await expect(page.getByTestId('installed')).not.toBeEmpty();

  // The monitor opens by itself and restarts the board into the new firmware: the ROM prints
  // its banner (the bundle has no second-stage bootloader, so the simulated native-USB board
  // then re-enumerates and the monitor follows it to its new port).
  const monitor = page.getByTestId('monitor-output');
  await expect(monitor).toContainText('ESP-ROM:esp32s3', { timeout: 20_000 });
  await expect(monitor).toContainText('rst:0x15 (USB_UART_HPSYS)');
  await expect(page.getByTestId('monitor-status')).toContainText('115200');
  await shot(page, testInfo, 'flashed-with-monitor');
  await page.getByRole('button', { name: 'Stop monitor' }).click();
  await expect(page.getByTestId('monitor-status')).toHaveAttribute('data-status', 'closed');

  await expect(page.getByTestId('flash-log-count')).toHaveText('1');
  const head = (await page.getByTestId('flash-log-head').textContent())!;
  const { text, cli } = await exportAndVerify(page);
  expect(cli).toContain(head);
  const last = JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(last).toMatchObject({
    kind: 'flash',
    mode: 'technician',
    result: 'ok',
    chip: 'esp32s3',
    note: 'e2e bench 1',
    bundle: { product: 'webflash-demo', version: '1.0.0', sha256: sha },
  });
  expect(String(last['port'])).toMatch(/^Virtual ESP32-S3/);
  expect(String(last['deviceId'])).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i);
  expect(errors).toEqual([]);
});

test('a kept range is refused before anything is written', async ({ page }, testInfo) => {
  await ready(page);
  await loadDemo(page);
  await page.getByText('Advanced options').click();
  // The bundle's partition table offers its data partitions to keep.
  await expect(page.getByRole('button', { name: /^Keep wifidata/ })).toBeVisible();
  await page.getByRole('textbox', { name: 'Range to keep' }).fill('0x10000+0x1000');
  await page.getByRole('button', { name: 'Keep range' }).click();
  await expect(page.getByTestId('keep-range')).toContainText('0x00010000–0x00011000');
  const before = await page.evaluate(() => window.__webflashSim!.flashCounters());
  await flash(page);
  const error = page.getByTestId('flash-error');
  await expect(error).toHaveAttribute('data-code', 'plan.keep-range');
  await expect(error).toContainText('would overwrite the kept range');
  await expect(error).toContainText('Nothing was written');
  const after = await page.evaluate(() => window.__webflashSim!.flashCounters());
  expect(after).toEqual(before);
  await shot(page, testInfo, 'keep-range-refused');
  await expect(page.getByTestId('flash-log-count')).toHaveText('1');
});

test('a downgrade is refused without a reason and accepted with one, and recorded', async ({
  page,
}, testInfo) => {
  test.setTimeout(150_000);
  await ready(page);
  await page.getByLabel('Baud rate').selectOption('921600');
  await page.getByLabel('Open after flashing').uncheck();
  await loadFile(page, 'demo-2.0.0.fwb', release('2.0.0', 5));
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });

  await loadDemo(page); // 1.0.0, security counter 1
  await expect(page.getByTestId('bundle-rollback')).toHaveAttribute('data-status', 'downgrade');
  const before = await page.evaluate(() => window.__webflashSim!.flashCounters());
  await flash(page);
  await expect(page.getByTestId('flash-error')).toContainText('older release', { timeout: 30_000 });
  expect(await page.evaluate(() => window.__webflashSim!.flashCounters())).toEqual(before);

  await page.getByLabel('Reason').selectOption('returned-unit-diagnostics');
  await flash(page);
  await expect(page.getByTestId('flash-error')).toContainText('needs a detail');

  await page.getByLabel('Detail').fill('RMA 4411: crash loop on 2.0.0');
  await flash(page);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-ok', 'true', { timeout: 45_000 });
  await expect(page.getByTestId('log')).toContainText(
    'Downgrade override allowed (returned-unit-diagnostics): RMA 4411',
  );
  await shot(page, testInfo, 'downgrade-accepted');

  await expect(page.getByTestId('flash-log-count')).toHaveText('4');
  const { text } = await exportAndVerify(page);
  const entries = text
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['kind'] === 'flash');
  expect(entries.map((e) => [e['result'], e['errorCode']])).toEqual([
    ['ok', null],
    ['failed', 'bundle.rejected'],
    ['failed', 'usage.invalid-argument'],
    ['ok', null],
  ]);
  expect(entries.at(-1)!['note']).toBe(
    'Downgrade override (returned-unit-diagnostics): RMA 4411: crash loop on 2.0.0',
  );
});
