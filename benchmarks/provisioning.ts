/**
 * Bench provisioning in Chromium (docs/bench-guide.md, "How many boards at once"): the bench
 * view of the app in demo mode (`/?mode=bench`) in a production build of the demo
 * (`VITE_WEBFLASH_DEMO=1 vite build`, served by `vite preview` with its security headers) flashes
 * 1, 2, 4, 8 and 16 virtual native-USB ESP32-S3 boards at once, all plugged in together in
 * hands-off mode. Reported per run: wall time from the first board appearing to the last one
 * done, aggregate image throughput, its ratio to one board's (target: 16 boards ≥ 14× one), the
 * longest main-thread task seen by a PerformanceObserver for 'longtask' (Long Tasks API: tasks
 * over 50 ms) while the boards flash (target for 16 boards: under 50 ms, i.e. none), and where
 * the CPU time went: the busy time of the page's main thread and of the worker that runs the
 * simulated boards, from V8's sampling profiler over the Chrome DevTools Protocol (1 ms samples;
 * busy = every sample that is not "(idle)"), with the largest items of the 16-board run's
 * profiles by script and by function.
 *
 * The simulated boards run in their own worker (src/demo/bench-worker.ts), so the main thread
 * carries only the host: the engine, the drivers, Web Serial streams and the view. Compression
 * runs in the app's own worker.
 */
import { chromium } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type {} from '../src/demo/bench-lab.ts';
import { e2eBundle } from '../e2e/demo-fixture.ts';
import { startPreview } from '../e2e/preview-server.ts';
import playwrightConfig from '../playwright.config.ts';
import {
  busyMs,
  Profilers,
  selfTimeBreakdown,
  selfTimeByScript,
  type CpuProfile,
} from './cpu-profile.ts';

/** One run: `boards` boards flashed at once. */
interface ProvisioningRow {
  boards: number;
  /** Image bytes written per board (every region of the release). */
  imageBytes: number;
  /** First board seen → last board done, ms. */
  wallMs: number;
  /** Mean of the boards' own job durations, ms. */
  meanJobMs: number;
  /** Image bytes per second over all boards. */
  aggregateBytesPerSecond: number;
  /** aggregate ÷ the 1-board aggregate. */
  speedup: number;
  /** Long tasks (> 50 ms) on the main thread during the run, and the longest. */
  longTasks: number;
  longestTaskMs: number;
  /** CPU time of the page's main thread and of the boards' worker during the run, ms. */
  mainBusyMs: number;
  workerBusyMs: number;
  ok: number;
}

export interface ProvisioningResult {
  chromium: string;
  board: string;
  rows: ProvisioningRow[];
}

interface PageRun {
  wallMs: number;
  meanJobMs: number;
  imageBytes: number;
  ok: number;
  longTasks: number[];
  mainBusyMs: number;
  workerBusyMs: number;
  profiles: { main: CpuProfile; worker: CpuProfile };
}

declare global {
  interface Window {
    __benchLongTasks?: number[];
  }
}

const BOARD = 'esp32s3';

/** Runs 1, 2, 4, 8 boards (`quick`: 1 and 8) in one browser, a fresh page for each. */
export async function runProvisioningSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<ProvisioningResult> {
  // What users run: a production build of the demo (minified, React's production build), served
  // by `vite preview` with the deployment's security headers.
  const server = await startPreview();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: playwrightConfig.use?.launchOptions?.args ?? [],
  });
  const counts = options.quick ? [1, 16] : [1, 2, 4, 8, 16];
  const rows: ProvisioningRow[] = [];
  try {
    // A warm-up run so Vite's on-demand transforms do not count against the first figure.
    await runOnce(browser, server.url, 1);
    let single: number | undefined;
    for (const boards of counts) {
      // The median of a few runs: one board's time varies by several percent from run to run,
      // and it is the baseline of every ratio.
      const runs: PageRun[] = [];
      for (let i = 0; i < (options.quick ? 1 : REPEATS); i++) {
        runs.push(await runOnce(browser, server.url, boards));
      }
      const r = medianRun(runs);
      const aggregate = (boards * r.imageBytes) / (r.wallMs / 1000);
      single ??= aggregate;
      const row: ProvisioningRow = {
        boards,
        imageBytes: r.imageBytes,
        wallMs: r.wallMs,
        meanJobMs: r.meanJobMs,
        aggregateBytesPerSecond: aggregate,
        speedup: aggregate / single,
        longTasks: r.longTasks.length,
        longestTaskMs: Math.max(0, ...r.longTasks),
        mainBusyMs: r.mainBusyMs,
        workerBusyMs: r.workerBusyMs,
        ok: r.ok,
      };
      rows.push(row);
      options.log(
        `provisioning ${boards} board(s): ${(r.wallMs / 1000).toFixed(2)} s, ` +
          `${(aggregate / 1024).toFixed(0)} KiB/s (${row.speedup.toFixed(2)}× one board), ` +
          `${row.longTasks} long task(s), longest ${row.longestTaskMs.toFixed(0)} ms, ` +
          `main thread busy ${(r.mainBusyMs / 1000).toFixed(2)} s, ` +
          `board worker busy ${(r.workerBusyMs / 1000).toFixed(2)} s, ${r.ok}/${boards} ok`,
      );
      if (boards === counts[counts.length - 1]) logProfiles(r, options.log);
    }
    return { chromium: browser.version(), board: BOARD, rows };
  } finally {
    await browser.close();
    await server.stop();
  }
}

/** Runs per board count (median reported). */
const REPEATS = 3;

/** The run with the median wall time; long tasks and failures count from every run. */
function medianRun(runs: readonly PageRun[]): PageRun {
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  return {
    ...sorted[Math.floor(sorted.length / 2)]!,
    longTasks: runs.flatMap((r) => r.longTasks),
    ok: Math.min(...runs.map((r) => r.ok)),
  };
}

/**
 * Where the median run's CPU time went, main thread and boards' worker (self time by script and
 * by function); the profiles go to test-results/provisioning/ for Chrome DevTools.
 */
function logProfiles(r: PageRun, log: (line: string) => void): void {
  const dir = join(import.meta.dirname, '..', 'test-results', 'provisioning');
  mkdirSync(dir, { recursive: true });
  for (const [thread, profile] of Object.entries(r.profiles)) {
    writeFileSync(join(dir, `${thread}.cpuprofile`), JSON.stringify(profile));
    const total = busyMs(profile);
    const share = (ms: number): string =>
      `${ms.toFixed(0)} ms (${((100 * ms) / total).toFixed(1)} %)`;
    log(`  ${thread} thread busy ${total.toFixed(0)} ms; by script:`);
    for (const s of selfTimeByScript(profile).slice(0, 8)) log(`    ${share(s.ms)}  ${s.what}`);
    log(`  ${thread} thread, by function:`);
    for (const s of selfTimeBreakdown(profile)) log(`    ${share(s.ms)}  ${s.what}`);
  }
}

async function runOnce(
  browser: Awaited<ReturnType<typeof chromium.launch>>,
  origin: string,
  boards: number,
): Promise<PageRun> {
  // Without the app's service worker, so that the routed demo bundle below is what the page gets.
  const page = await browser.newPage({ serviceWorkers: 'block' });
  try {
    await page.route('**/demo/demo.fwb', (route) =>
      route.fulfill({ status: 200, body: Buffer.from(e2eBundle) }),
    );
    const profiler = await Profilers.attach(page, 'bench-worker');
    await page.goto(`${origin}/?mode=bench`);
    await page.getByRole('button', { name: 'Load demo bundle' }).click();
    await page.waitForSelector('[data-testid="bench-bundle"][data-status="verified"]');
    await page.getByRole('button', { name: 'Start hands-off mode' }).click();
    // Starts the boards' worker (asking it anything does) before the clock starts.
    await page.evaluate(() => window.__webflashBench!.flashCounters('none'));
    await profiler.start();
    await page.evaluate(() => {
      const seen: number[] = [];
      window.__benchLongTasks = seen;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) seen.push(e.duration);
      }).observe({ type: 'longtask' });
    });
    await page.evaluate(
      ([n, type]) => {
        for (let i = 0; i < n; i++) window.__webflashBench!.add({ type });
      },
      [boards, BOARD] as const,
    );
    await page.waitForFunction(
      (n) => {
        const s = window.__webflashBench!.state();
        return s.tiles.length === n && s.tiles.every((t) => t.state !== 'running');
      },
      boards,
      { timeout: 300_000, polling: 250 },
    );
    const profiles = await profiler.stop();
    const run = await page.evaluate(() => {
      const s = window.__webflashBench!.state();
      const start = Math.min(...s.tiles.map((t) => t.createdAt));
      const end = Math.max(...s.tiles.map((t) => t.createdAt + (t.durationMs ?? 0)));
      const jobs = s.tiles.map((t) => t.durationMs ?? 0);
      const longTasks = [...(window.__benchLongTasks ?? [])];
      return {
        wallMs: end - start,
        meanJobMs: jobs.reduce((a, b) => a + b, 0) / jobs.length,
        imageBytes: s.tiles[0]?.progress?.bytesTotal ?? 0,
        ok: s.tiles.filter((t) => t.state === 'done').length,
        longTasks,
      };
    });
    return {
      ...run,
      mainBusyMs: busyMs(profiles.main),
      workerBusyMs: busyMs(profiles.worker),
      profiles,
    };
  } finally {
    await page.close();
  }
}

const mark = (ok: boolean): string => (ok ? 'met' : '**missed**');

/** "1.20 s (48 %)": busy time and its share of the run's wall time. */
const busyShare = (busyMs: number | undefined, wallMs: number): string =>
  busyMs === undefined
    ? '—'
    : `${(busyMs / 1000).toFixed(2)} s (${((100 * busyMs) / wallMs).toFixed(0)} %)`;

/** The table for docs/benchmarks.md's generated section (benchmarks/report.ts). */
export function provisioningSection(
  r: { machine: { date: string }; result: ProvisioningResult },
  machineLine: string,
): string {
  const rows = r.result.rows.map((row) => {
    const target = row.boards === 16;
    return [
      String(row.boards),
      `${(row.wallMs / 1000).toFixed(2)} s`,
      `${(row.meanJobMs / 1000).toFixed(2)} s`,
      `${(row.aggregateBytesPerSecond / 1024).toFixed(0)} KiB/s`,
      `${row.speedup.toFixed(2)}×${target ? ` (${mark(row.speedup >= 14)})` : ''}`,
      String(row.longTasks),
      `${row.longestTaskMs.toFixed(0)} ms${target ? ` (${mark(row.longestTaskMs < 50)})` : ''}`,
      busyShare(row.mainBusyMs, row.wallMs),
      busyShare(row.workerBusyMs, row.wallMs),
      `${row.ok}/${row.boards}`,
    ];
  });
  const head = [
    'boards at once',
    'first seen → last done',
    'mean job',
    'aggregate image rate',
    'vs one board (16: ≥ 14×)',
    'long tasks',
    'longest main-thread task (16: < 50 ms)',
    'main thread busy (share of wall)',
    'board worker busy (share of wall)',
    'done',
  ];
  return [
    `### Bench provisioning in Chromium ${r.result.chromium} (virtual ${r.result.board}, real time)`,
    '',
    machineLine,
    'A production build of the demo; every board plugged in at once in hands-off mode, the median of 3 runs per count; the simulated boards run in a worker of their own, so the main thread carries only the host. Busy times are CPU time from V8’s sampling profiler over the median run.',
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
