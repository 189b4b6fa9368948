/**
 * Bundle verification in Chromium: serves the repository with Vite, opens
 * benchmarks/pages/bundle-bench.html in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium)
 * with the launch flags of playwright.config.ts plus `--enable-precise-memory-info`, and runs
 * the page's measurements for each bundle size.
 */
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import playwrightConfig from '../playwright.config.ts';
import type { BundleBenchOptions, BundleBenchResult } from './pages/bundle-bench.ts';

const MiB = 1024 * 1024;

/** One row of the bundle table. */
interface BundleRow extends BundleBenchResult {
  /** verifyPageMs ÷ nobleSha256Ms (target ≤ 1.15). */
  verifyOverHash: number;
  /** peakHeapBytes ÷ bundleBytes (target ≤ 1.5). */
  memoryOverBundle: number | undefined;
}

export interface BundleSuiteResult {
  chromium: string;
  paceMbit: number;
  chunkBytes: number;
  repeats: number;
  rows: BundleRow[];
}

/** Runs the bundle sizes (MiB) in one browser session. */
export async function runBundleSuite(options: {
  sizesMiB: readonly number[];
  repeats: number;
  log: (line: string) => void;
}): Promise<BundleSuiteResult> {
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'warn',
    worker: { format: 'es' },
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not start');
  const launchArgs = playwrightConfig.use?.launchOptions?.args ?? [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...launchArgs, '--enable-precise-memory-info'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${address.port}/bench/pages/bundle-bench.html`);
    await page.waitForFunction(() => typeof window.bundleBench === 'function', undefined, {
      timeout: 60_000,
    });
    const paceMbit = 100;
    const chunkBytes = 64 * 1024;
    const rows: BundleRow[] = [];
    for (const size of options.sizesMiB) {
      const o: BundleBenchOptions = {
        imageBytes: size * MiB,
        repeats: options.repeats,
        chunkBytes,
        paceMbit,
      };
      const r = await page.evaluate((opts) => window.bundleBench!(opts), o);
      const row: BundleRow = {
        ...r,
        verifyOverHash: r.verifyPageMs / r.nobleSha256Ms,
        memoryOverBundle:
          r.peakHeapBytes === undefined ? undefined : r.peakHeapBytes / r.bundleBytes,
      };
      rows.push(row);
      options.log(
        `bundle ${size} MiB: verify ${r.verifyPageMs.toFixed(0)} ms, noble ${r.nobleSha256Ms.toFixed(0)} ms, ` +
          `last byte → verified ${r.pacedLastByteMs.toFixed(1)} ms (paced), ${r.burstLastByteMs.toFixed(1)} ms (burst)`,
      );
    }
    return { chromium: browser.version(), paceMbit, chunkBytes, repeats: options.repeats, rows };
  } finally {
    await browser.close();
    await server.close();
  }
}
