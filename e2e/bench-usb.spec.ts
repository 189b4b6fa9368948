/**
 * The production bench with USB DFU boards, end to end in Chromium (demo mode): two virtual
 * STM32F405 boards in their DfuSe bootloader and one virtual ESP32-S3 on a serial port, plugged
 * in from the lab panel at different times (each when the one before is writing — driven by the
 * page's state, never by sleeps), are all provisioned unattended with one release whose targets
 * tell each board's protocol. The CSV and JSON reports list all three; the exported flash log
 * passes `webflash log verify`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { expect, test, type Download, type Page } from '@playwright/test';
import { toHex } from '../src/core/bytes.ts';
import { STM32_DFU_PRODUCT_ID, STM32_DFU_VENDOR_ID } from '../src/sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
} from '../src/sim/dfu/generic-dfu-sim.ts';
import { BLINK_S3_TARGET, blinkS3, demoRelease } from './demo-fixture.ts';
import type {} from '../src/demo/bench-lab.ts';

const root = join(import.meta.dirname, '..');

/** 40 KiB for the STM32: three 16 KiB sectors, a few seconds in real time. */
const STM32_IMAGE = new Uint8Array(40 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
/** 8 KiB for the DFU 1.1 gadget. */
const GADGET_IMAGE = new Uint8Array(8 * 1024).map((_, i) => (i * 7 + 1) & 0xff);

/**
 * Signed with the public demo key: the ESP-IDF "blink" app (esptool test/images at bb72741)
 * retargeted to the ESP32-S3, an STM32F4 image for ST's DfuSe bootloader (0483:df11), and an
 * image for the example DFU 1.1 gadget (1209:0001 in its application).
 */
const bundle: Uint8Array = demoRelease({
  version: '1.1.0',
  notes: 'End-to-end test bundle for a bench of serial and USB boards.',
  targets: [
    BLINK_S3_TARGET,
    {
      chip: 'stm32f4',
      protocol: 'dfuse',
      usb: { vendorId: STM32_DFU_VENDOR_ID, productId: STM32_DFU_PRODUCT_ID },
      images: [{ name: 'stm32-app', address: 0x08000000 }],
    },
    {
      chip: 'example-gadget',
      protocol: 'dfu',
      usb: { vendorId: GENERIC_DFU_VENDOR_ID, productId: GENERIC_RUNTIME_PRODUCT_ID },
      images: [{ name: 'gadget-app', slot: 0 }],
    },
  ],
  images: { ...blinkS3(), 'stm32-app': STM32_IMAGE, 'gadget-app': GADGET_IMAGE },
});

async function openBench(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/demo/demo.fwb', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bundle),
    }),
  );
  // Other work on the sources must not reload the page under this test (its state lives there).
  await page.routeWebSocket(/.*/, (ws) => ws.send(JSON.stringify({ type: 'connected' })));
  await page.goto('/?mode=bench');
  await expect(page.getByRole('heading', { name: 'webflash bench' })).toBeVisible();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');
  expect(errors).toEqual([]);
}

/** Plugs a new virtual board of `type` in from the lab panel. */
async function plug(page: Page, type: string): Promise<void> {
  await page.getByLabel('Board type').selectOption(type);
  await page.getByRole('button', { name: 'Plug in a new board' }).click();
}

/** Waits until tile `n` (1-based) is writing or further along. */
async function writing(page: Page, n: number): Promise<void> {
  await expect
    .poll(
      () =>
        page.evaluate(
          (i) =>
            ['writing', 'verifying', 'resetting', 'done'].includes(
              window.__webflashBench!.state().tiles[i]?.phase ?? '',
            ),
          n - 1,
        ),
      { timeout: 60_000 },
    )
    .toBe(true);
}

async function save(download: Download, path: string): Promise<string> {
  await download.saveAs(path);
  return readFileSync(path, 'utf8');
}

test('two DfuSe boards and a serial board plugged at different times are provisioned unattended', async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  await openBench(page);
  await page.getByLabel('Operator note').fill('usb line');
  await page.getByRole('button', { name: 'Start hands-off mode' }).click();
  await expect(page.getByTestId('hands-off')).toHaveAttribute('data-on', 'true');

  await plug(page, 'stm32f405-dfu');
  await writing(page, 1);
  await plug(page, 'esp32s3-uart');
  await writing(page, 2);
  await plug(page, 'stm32f405-dfu');

  const tiles = page.getByTestId('tile');
  await expect(tiles).toHaveCount(3);
  await expect(page.getByTestId('tally')).toHaveAttribute('data-ok', '3', { timeout: 120_000 });
  await expect(page.getByTestId('tally')).toHaveAttribute('data-failed', '0');
  await expect(page.getByTestId('audit-status')).toHaveAttribute('data-written', '3');

  const usbTiles = page.locator('[data-testid="tile"][data-transport="usb"]');
  await expect(usbTiles).toHaveCount(2);
  for (const tile of await usbTiles.all()) {
    await expect(tile).toHaveAttribute('data-state', 'done');
    await expect(tile).toHaveAttribute('data-protocol', 'dfuse');
    await expect(tile).toHaveAttribute('data-unique-id', /^336F3867[0-9A-F]{4}$/);
    await expect(tile).toContainText('ST DfuSe (USB DFU)');
    await expect(tile).toContainText('Virtual STM32F405 in DFU mode (DfuSe)');
  }
  const serialTile = page.locator('[data-testid="tile"][data-transport="serial"]');
  await expect(serialTile).toHaveAttribute('data-unique-id', /^f4:12:fa(:[0-9a-f]{2}){3}$/);
  const written = await page.evaluate(() => {
    const hook = window.__webflashBench!;
    return Promise.all(
      ['vb-1', 'vb-3'].map(async (id) => (await hook.flashCounters(id))?.programOps ?? 0),
    );
  });
  expect(written.every((n) => n > 0)).toBe(true);

  const shot = testInfo.outputPath('bench-usb.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('bench-usb', { path: shot, contentType: 'image/png' });

  // CSV report: one row per board, the same columns for serial and USB boards.
  const [csvDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (CSV)' }).click(),
  ]);
  const csv = await save(csvDownload, testInfo.outputPath('report.csv'));
  const rows = csv
    .trimEnd()
    .split('\r\n')
    .map((l) => l.split(','));
  const header = rows[0]!;
  const col = (name: string) => header.indexOf(name);
  const body = rows.slice(1);
  expect(body).toHaveLength(3);
  const bundleHash = toHex(sha256(bundle));
  expect(body.map((r) => r[col('chip')]).sort()).toEqual(['esp32s3', 'stm32f4', 'stm32f4']);
  for (const r of body) {
    expect(r[col('result')]).toBe('ok');
    expect(r[col('bundleSha256')]).toBe(bundleHash);
    expect(r[col('version')]).toBe('1.1.0');
    expect(r[col('note')]).toBe('usb line');
    expect(Number(r[col('durationMs')])).toBeGreaterThan(0);
  }
  expect(new Set(body.map((r) => r[col('uniqueId')])).size).toBe(3);

  // JSON report.
  const [jsonDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (JSON)' }).click(),
  ]);
  const report = JSON.parse(await save(jsonDownload, testInfo.outputPath('report.json'))) as {
    summary: { flashes: number; ok: number; boardsOk: number };
    records: { chip: string; port: string }[];
  };
  expect(report.summary).toMatchObject({ flashes: 3, ok: 3, boardsOk: 3 });
  expect(report.records.filter((r) => r.port.includes('DfuSe'))).toHaveLength(2);

  // The flash log, checked by the CLI.
  const [logDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export flash log' }).click(),
  ]);
  const logFile = testInfo.outputPath('flash-log.jsonl');
  await save(logDownload, logFile);
  const out = execFileSync(
    process.execPath,
    [join(root, 'bin', 'webflash.mjs'), 'log', 'verify', logFile, '--json'],
    { cwd: root, encoding: 'utf8' },
  );
  expect(JSON.parse(out)).toMatchObject({ ok: true, count: 4 });
});

test('a DFU 1.1 device that re-enumerates during its update is followed on one tile', async ({
  page,
}) => {
  test.setTimeout(90_000);
  await openBench(page);
  await page.getByRole('button', { name: 'Start hands-off mode' }).click();
  await plug(page, 'generic-dfu');
  const tile = page.getByTestId('tile');
  await expect(tile).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  // Off the bus after DFU_DETACH, back in DFU mode, off again after manifestation, back in
  // its application: followed twice, never a second tile.
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const t = window.__webflashBench!.state().tiles[0];
          return t && [t.followed, t.usbProductId, t.connected];
        }),
      { timeout: 30_000 },
    )
    .toEqual([2, 0x0001, true]);
  await expect(tile).toHaveCount(1);
  await expect(tile).toHaveAttribute('data-protocol', 'dfu');
  await expect(tile).toHaveAttribute('data-unique-id', 'GADGET0001');
  await expect(tile).toContainText('USB DFU 1.1');
  const records = await page.evaluate(() =>
    window.__webflashBench!.state().records.map((r) => [r.result, r.chip, r.uniqueId]),
  );
  expect(records).toEqual([['ok', 'example-gadget', 'GADGET0001']]);
});
