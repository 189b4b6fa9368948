/**
 * The production bench in demo mode, end to end in Chromium: eight virtual boards plugged in
 * one after another (each when the one before starts writing — driven by the page's state, not
 * by sleeps) are provisioned hands-off; one is unplugged mid-write by fault injection and is
 * reported while the others finish; native-USB boards that restart and re-enumerate are
 * followed, not flashed twice. The CSV and JSON reports are downloaded and checked, and the
 * exported flash log passes `webflash log verify` (and fails it once a byte is changed).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { sha256 } from '@noble/hashes/sha2.js';
import { expect, test, type Download, type Page } from '@playwright/test';
import { toHex } from '../src/core/bytes.ts';
import type {} from '../src/demo/bench-lab.ts';
import { e2eBundle, serveDemoBundle } from './demo-fixture.ts';

const root = join(import.meta.dirname, '..');

/**
 * Cuts the dev server's hot-reload channel: other work on the sources while this long test runs
 * must not reload the page under it (the bench's state lives in the page).
 */
async function noHotReload(page: Page): Promise<void> {
  await page.routeWebSocket(/.*/, (ws) => ws.send(JSON.stringify({ type: 'connected' })));
}

async function openBench(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await serveDemoBundle(page);
  await noHotReload(page);
  await page.goto('/?mode=bench');
  await expect(page.getByRole('heading', { name: 'webflash bench' })).toBeVisible();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');
  expect(errors).toEqual([]);
}

async function save(download: Download, path: string): Promise<string> {
  await download.saveAs(path);
  return readFileSync(path, 'utf8');
}

/** `webflash log verify FILE --json`: exit status and parsed output. */
function logVerify(file: string): { status: number; out: { ok: boolean; count?: number } } {
  try {
    const out = execFileSync(
      process.execPath,
      [join(root, 'bin', 'webflash.mjs'), 'log', 'verify', file, '--json'],
      { cwd: root, encoding: 'utf8' },
    );
    return { status: 0, out: JSON.parse(out) as { ok: boolean } };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { status: e.status, out: JSON.parse(e.stdout) as { ok: boolean } };
  }
}

test('eight boards plugged at different times are provisioned hands-off; one faulty board is reported', async ({
  page,
}, testInfo) => {
  test.setTimeout(240_000);
  await openBench(page);
  await page.getByLabel('Operator note').fill('batch 42, line 3');
  await page.getByRole('button', { name: 'Start hands-off mode' }).click();
  await expect(page.getByTestId('hands-off')).toHaveAttribute('data-on', 'true');

  const FAULTY = 5;
  for (let i = 1; i <= 8; i++) {
    const type = i % 3 === 0 ? 'esp32s3-uart' : 'esp32s3';
    await page.evaluate(
      ([type, faulty]) =>
        window.__webflashBench!.add({
          type,
          ...(faulty ? { unplugAfterBytes: 40_000 } : {}),
        }),
      [type, i === FAULTY] as const,
    );
    // The next board goes in once this one is writing: staggered, and all at once in the end.
    await expect
      .poll(
        () =>
          page.evaluate(
            () =>
              window
                .__webflashBench!.state()
                .tiles.filter((t) =>
                  ['writing', 'verifying', 'resetting', 'done', 'failed'].includes(t.phase),
                ).length,
          ),
        { timeout: 60_000 },
      )
      .toBeGreaterThanOrEqual(i);
  }

  const tiles = page.getByTestId('tile');
  await expect(tiles).toHaveCount(8);
  await expect(page.getByTestId('tally')).toHaveAttribute('data-ok', '7', { timeout: 120_000 });
  await expect(page.getByTestId('tally')).toHaveAttribute('data-failed', '1');
  const faulty = page.locator('[data-testid="tile"][data-state="failed"]');
  await expect(faulty).toHaveAttribute('data-code', 'transport.device-lost');
  await expect(faulty).toContainText('disconnected');

  // Native-USB boards restart into the new firmware and come back on a new port: followed.
  await expect
    .poll(
      () =>
        page.evaluate(() =>
          window
            .__webflashBench!.state()
            .tiles.filter((t) => t.state === 'done' && t.usbVendorId === 0x303a)
            .every((t) => t.followed >= 1),
        ),
      { timeout: 30_000 },
    )
    .toBe(true);
  const state = await page.evaluate(() => {
    const s = window.__webflashBench!.state();
    return { tiles: s.tiles.length, records: s.records.length, written: s.audit.written };
  });
  expect(state).toEqual({ tiles: 8, records: 8, written: 8 });
  await expect(page.getByTestId('audit-status')).toHaveAttribute('data-written', '8');

  const shot = testInfo.outputPath('bench.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('bench', { path: shot, contentType: 'image/png' });
  if (process.env.WEBFLASH_SCREENSHOTS === '1') {
    // docs/bench-guide.md shows this view.
    await page.screenshot({
      path: join(import.meta.dirname, '..', 'docs', 'img', 'bench.png'),
      fullPage: true,
    });
  }

  // CSV report.
  const [csvDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (CSV)' }).click(),
  ]);
  expect(csvDownload.suggestedFilename()).toMatch(/^webflash-bench-\d{8}-\d{6}\.csv$/);
  const csv = await save(csvDownload, testInfo.outputPath('report.csv'));
  const rows = csv
    .trimEnd()
    .split('\r\n')
    .map((l) => l.split(','));
  const header = rows[0]!;
  const col = (name: string) => header.indexOf(name);
  expect(header).toEqual(expect.arrayContaining(['uniqueId', 'bundleSha256', 'result', 'note']));
  const body = rows.slice(1);
  expect(body).toHaveLength(8);
  const bundleHash = toHex(sha256(e2eBundle));
  expect(body.filter((r) => r[col('result')] === 'ok')).toHaveLength(7);
  const failedRows = body.filter((r) => r[col('result')] === 'failed');
  expect(failedRows.map((r) => r[col('errorCode')])).toEqual(['transport.device-lost']);
  for (const r of body) {
    expect(r[col('bundleSha256')]).toBe(bundleHash);
    expect(r[col('version')]).toBe('1.0.0');
    expect(r[col('uniqueId')]).toMatch(/^f4:12:fa(:[0-9a-f]{2}){3}$/);
    expect(Number(r[col('durationMs')])).toBeGreaterThan(0);
  }
  expect(csv).toContain('"batch 42, line 3"');
  expect(new Set(body.map((r) => r[col('uniqueId')])).size).toBe(8);

  // JSON report.
  const [jsonDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (JSON)' }).click(),
  ]);
  const report = JSON.parse(await save(jsonDownload, testInfo.outputPath('report.json'))) as {
    format: string;
    bundle: { sha256: string; product: string };
    summary: { flashes: number; ok: number; failed: number; boardsOk: number };
    records: { note: string }[];
  };
  expect(report.format).toBe('webflash-bench-report');
  expect(report.bundle).toMatchObject({ sha256: bundleHash, product: 'webflash-demo' });
  expect(report.summary).toEqual({ flashes: 8, ok: 7, failed: 1, cancelled: 0, boardsOk: 7 });
  expect(report.records.every((r) => r.note === 'batch 42, line 3')).toBe(true);

  // The tamper-evident flash log, checked by the CLI.
  const [logDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export flash log' }).click(),
  ]);
  const logFile = testInfo.outputPath('flash-log.jsonl');
  const log = await save(logDownload, logFile);
  const verdict = logVerify(logFile);
  expect(verdict).toEqual({ status: 0, out: expect.objectContaining({ ok: true, count: 9 }) });
  const tampered = testInfo.outputPath('flash-log-tampered.jsonl');
  writeFileSync(tampered, log.replace('"result":"failed"', '"result":"ok"'));
  expect(logVerify(tampered).status).toBe(1);
});

test('the bench is labelled, keyboard operable and has no serious axe violations', async ({
  page,
}) => {
  test.setTimeout(90_000);
  await serveDemoBundle(page);
  await noHotReload(page);
  await page.goto('/?mode=bench');
  const load = page.getByRole('button', { name: 'Load demo bundle' });
  await load.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');
  await page.getByRole('button', { name: 'Start hands-off mode' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Stop hands-off mode' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await page.getByRole('button', { name: 'Plug in a new board' }).focus();
  await page.keyboard.press('Enter');
  const tile = page.getByRole('article', { name: /Board 1/ });
  await expect(tile).toBeVisible();
  await expect(page.getByRole('progressbar', { name: /Board 1/ })).toBeVisible({
    timeout: 30_000,
  });
  await expect(page.getByRole('article', { name: 'Board 1, Done' })).toBeVisible({
    timeout: 60_000,
  });
  await page.getByRole('button', { name: 'Remove Board 1' }).focus();
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const result = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual(
      [],
    );
  }
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('tile')).toHaveCount(0);
});
