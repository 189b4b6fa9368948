/**
 * Bundle verification in Chromium: serves the repository with Vite, opens
 * benchmarks/pages/bundle-bench.html in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium)
 * with the launch flags of playwright.config.ts plus `--enable-precise-memory-info`, and runs
 * the page's measurements for each bundle size.
 *
 * Every wait has a deadline sized to its work, and a page that fails says why (HTTP status,
 * errors thrown on the page) instead of a bare timeout.
 */
import { chromium, type Page } from '@playwright/test';
import { createServer } from 'vite';
import playwrightConfig from '../playwright.config.ts';
import type { BundleBenchOptions, BundleBenchResult } from './pages/bundle-bench.ts';

const MiB = 1024 * 1024;
const PAGE_PATH = '/benchmarks/pages/bundle-bench.html';
/** Vite transforms the page's module graph (noble, src/bundle, the worker) on first request. */
const PAGE_LOAD_MS = 120_000;

/** One row of the bundle table. */
export interface BundleRow extends BundleBenchResult {
  /** verifyPageMs ÷ nobleSha256Ms, signatures included (the former target, ≤ 1.15). */
  verifyOverHash: number;
  /** hashingMs ÷ nobleSha256Ms (target ≤ 1.05), and the same of the medians. */
  hashingOverHash: number;
  hashingOverHashMedian: number;
  /** (nobleSha256Ms + freshCopyMs) ÷ nobleSha256Ms: the least the hashing part can cost. */
  hashingFloor: number;
  /** signaturesMs ÷ signatures (target ≤ 2.5 ms), and the same of the median. */
  perSignatureMs: number;
  perSignatureMedianMs: number;
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

/**
 * Longest time one size may take: the warm-up and every repetition each pace a download and
 * hash the image about six times (noble, verify twice, worker and hand-off, twice). Allows
 * 1 s of hashing per MiB and repetition, about ten times a quiet machine's figure.
 */
function sizeBudgetMs(o: BundleBenchOptions): number {
  const pacedMs = (o.imageBytes * 8) / (o.paceMbit * 1000);
  return Math.max(30_000, (o.repeats + 1) * (pacedMs + (o.imageBytes / MiB) * 1000));
}

/** Rejects with `what` and the page's errors when `work` outlasts `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string, errors: string[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seen = errors.length > 0 ? `; page errors: ${errors.join(' | ')}` : '';
      reject(new Error(`bundle bench: ${what} took over ${(ms / 1000).toFixed(0)} s${seen}`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function openBenchPage(page: Page, url: string, errors: string[]): Promise<void> {
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  const response = await page.goto(url, { timeout: PAGE_LOAD_MS }).catch((err: unknown) => {
    throw new Error(`bundle bench: could not open ${url}`, { cause: err });
  });
  if (!response?.ok()) throw new Error(`bundle bench: HTTP ${response?.status()} for ${url}`);
  await within(
    page.waitForFunction(() => typeof window.bundleBench === 'function', undefined, {
      timeout: 0,
    }),
    PAGE_LOAD_MS,
    `loading ${url} (window.bundleBench never appeared)`,
    errors,
  );
}

function toRow(r: BundleBenchResult): BundleRow {
  return {
    ...r,
    verifyOverHash: r.verifyPageMs / r.nobleSha256Ms,
    hashingOverHash: r.hashingMs / r.nobleSha256Ms,
    hashingOverHashMedian: r.hashingMedianMs / r.nobleSha256MedianMs,
    hashingFloor: (r.nobleSha256Ms + r.freshCopyMs) / r.nobleSha256Ms,
    perSignatureMs: r.signaturesMs / r.signatures,
    perSignatureMedianMs: r.signaturesMedianMs / r.signatures,
    memoryOverBundle: r.peakHeapBytes === undefined ? undefined : r.peakHeapBytes / r.bundleBytes,
  };
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
    // No fallback to index.html: a wrong page path is a 404, not an app that never answers.
    appType: 'mpa',
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
    const errors: string[] = [];
    await openBenchPage(page, `http://127.0.0.1:${address.port}${PAGE_PATH}`, errors);
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
      const budget = sizeBudgetMs(o);
      const row = toRow(
        await within(
          page.evaluate((opts) => window.bundleBench!(opts), o),
          budget,
          `${size} MiB (${o.repeats} repetitions)`,
          errors,
        ),
      );
      rows.push(row);
      options.log(
        `bundle ${size} MiB: noble ${row.nobleSha256Ms.toFixed(1)} ms, ` +
          `verify ${row.verifyPageMs.toFixed(1)} ms = hashing ${row.hashingMs.toFixed(1)} ms ` +
          `(${row.hashingOverHash.toFixed(3)}×, median ${row.hashingOverHashMedian.toFixed(3)}×, ` +
          `floor ${row.hashingFloor.toFixed(3)}×) + ` +
          `${row.signatures} signatures at ${row.perSignatureMs.toFixed(2)} ms ` +
          `(median ${row.perSignatureMedianMs.toFixed(2)} ms); last byte → verified ` +
          `${row.pacedLastByteMs.toFixed(1)} ms (paced), ${row.burstLastByteMs.toFixed(1)} ms (burst)`,
      );
    }
    return { chromium: browser.version(), paceMbit, chunkBytes, repeats: options.repeats, rows };
  } finally {
    await browser.close();
    await server.close();
  }
}
