/**
 * Bench provisioning in Chromium (docs/bench-guide.md, "How many boards at once"): the bench
 * view of the app in demo mode (`/?mode=bench`, served by Vite with the project's config) flashes
 * 1, 2, 4, 8 and 16 virtual native-USB ESP32-S3 boards at once, all plugged in together in
 * hands-off mode. Reported per run: wall time from the first board appearing to the last one
 * done, aggregate image throughput, its ratio to one board's (target: 16 boards ≥ 14× one), the
 * longest main-thread task seen by a PerformanceObserver for 'longtask' (Long Tasks API: tasks
 * over 50 ms) while the boards flash (target for 16 boards: under 50 ms, i.e. none), and where
 * the CPU time went: the busy time of the page's main thread and of the worker that runs the
 * simulated boards, from V8's sampling profiler over the Chrome DevTools Protocol (1 ms samples;
 * busy = every sample that is not "(idle)").
 *
 * The simulated boards run in their own worker (src/demo/bench-worker.ts), so the main thread
 * carries only the host: the engine, the drivers, Web Serial streams and the view. Compression
 * runs in the app's own worker.
 */
import { chromium, type CDPSession, type Page } from '@playwright/test';
import { createServer } from 'vite';
import { join } from 'node:path';
import type {} from '../src/demo/bench-lab.ts';
import { e2eBundle } from '../e2e/demo-fixture.ts';
import playwrightConfig from '../playwright.config.ts';

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
  const root = join(import.meta.dirname, '..');
  const server = await createServer({
    configFile: join(root, 'vite.config.ts'),
    root,
    logLevel: 'warn',
    // No hot reload: edits to the sources during a run must not reload the page under it.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not start');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: playwrightConfig.use?.launchOptions?.args ?? [],
  });
  const counts = options.quick ? [1, 16] : [1, 2, 4, 8, 16];
  const rows: ProvisioningRow[] = [];
  try {
    // A warm-up run so Vite's on-demand transforms do not count against the first figure.
    await runOnce(browser, address.port, 1);
    let single: number | undefined;
    for (const boards of counts) {
      // The median of a few runs: one board's time varies by several percent from run to run,
      // and it is the baseline of every ratio.
      const runs: PageRun[] = [];
      for (let i = 0; i < (options.quick ? 1 : REPEATS); i++) {
        runs.push(await runOnce(browser, address.port, boards));
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
    }
    return { chromium: browser.version(), board: BOARD, rows };
  } finally {
    await browser.close();
    await server.close();
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

async function runOnce(
  browser: Awaited<ReturnType<typeof chromium.launch>>,
  port: number,
  boards: number,
): Promise<PageRun> {
  const page = await browser.newPage();
  try {
    await page.route('**/demo/demo.fwb', (route) =>
      route.fulfill({ status: 200, body: Buffer.from(e2eBundle) }),
    );
    const profiler = await Profilers.attach(page);
    await page.goto(`http://127.0.0.1:${port}/?mode=bench`);
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
    const busy = await profiler.stop();
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
    return { ...run, mainBusyMs: busy.main, workerBusyMs: busy.worker };
  } finally {
    await page.close();
  }
}

/** A V8 CPU profile as the DevTools Protocol returns it (the parts used here). */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string } }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Busy time of a profile, ms: the time of every sample that is not "(idle)". */
function busyMs(profile: CpuProfile): number {
  const idle = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  );
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let us = 0;
  // timeDeltas[i + 1] is the time from sample i to the next: sample i's share.
  for (let i = 0; i + 1 < samples.length; i++) {
    if (!idle.has(samples[i]!)) us += deltas[i + 1] ?? 0;
  }
  return us / 1000;
}

/**
 * V8's sampling profiler on the page's main thread and on the worker that runs the simulated
 * boards (found by its script, bench-worker), through a DevTools Protocol session on the page;
 * the worker is reached through the page session's auto-attached target (non-flat mode).
 */
class Profilers {
  private worker: string | undefined;
  private next = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(private readonly cdp: CDPSession) {
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker' && e.targetInfo.url.includes('bench-worker')) {
        this.worker = e.sessionId;
      }
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const m = JSON.parse(e.message) as { id?: number; result?: unknown };
      if (m.id !== undefined) this.pending.get(m.id)?.(m.result);
    });
  }

  static async attach(page: Page): Promise<Profilers> {
    const cdp = await page.context().newCDPSession(page);
    const p = new Profilers(cdp);
    await cdp.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: false,
    });
    return p;
  }

  async start(): Promise<void> {
    if (!this.worker) throw new Error('The simulated boards’ worker did not start');
    for (const method of ['Profiler.enable', 'Profiler.start']) {
      if (method === 'Profiler.start') {
        await this.cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
        await this.inWorker('Profiler.setSamplingInterval', { interval: 1000 });
      }
      await this.cdp.send(method as 'Profiler.enable');
      await this.inWorker(method);
    }
  }

  async stop(): Promise<{ main: number; worker: number }> {
    const main = await this.cdp.send('Profiler.stop');
    const worker = (await this.inWorker('Profiler.stop')) as { profile: CpuProfile };
    return { main: busyMs(main.profile), worker: busyMs(worker.profile) };
  }

  private inWorker(method: string, params: object = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      void this.cdp.send('Target.sendMessageToTarget', {
        sessionId: this.worker!,
        message: JSON.stringify({ id, method, params }),
      });
    });
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
    'Every board plugged in at once in hands-off mode, the median of 3 runs per count; the simulated boards run in a worker of their own, so the main thread carries only the host. Busy times are CPU time from V8’s sampling profiler over the median run.',
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
