/**
 * Test page script (test/browser/bundle-verify.html, served by Vite): runs the shared bundle
 * checks (bundle-checks.ts) in the browser, then the same bundles through the real verification
 * Web Worker (src/platform/browser/verify-worker.ts via verify-client.ts). The results are published as
 * `window.bundleChecks` for e2e/bundle-verify.spec.ts.
 */
import { BundleError } from '../../src/bundle/errors.ts';
import { demoRoot } from '../../src/bundle/pinned-root.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { startVerifyWorker, verifyInWorker } from '../../src/platform/browser/verify-client.ts';
import {
  caseVerifyOptions,
  checkCaseBoard,
  maliciousCases,
  type MaliciousCase,
} from '../bundle/corpus.ts';
import { chunked, goodBundle, NOW, pinnedTestRoot } from '../bundle/fixtures.ts';
import {
  type BundleCheckResults,
  type BundleSummary,
  DEMO_NOW,
  runBundleChecks,
  summarize,
} from './bundle-checks.ts';

/** What the worker produced for the same inputs. */
interface WorkerResults {
  good: BundleSummary;
  goodDirect: BundleSummary;
  demoByUrl: BundleSummary;
  corpus: { id: string; expect: string; got: string | null }[];
}

export interface BrowserResults {
  checks: BundleCheckResults;
  worker: WorkerResults;
  userAgent: string;
}

declare global {
  interface Window {
    bundleChecks?: Promise<BrowserResults>;
  }
}

async function load(path: string): Promise<Uint8Array> {
  const url = path.startsWith('public/') ? `/${path.slice('public/'.length)}` : `/${path}`;
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** `runCase` (test/bundle/corpus.ts) with verification done by the worker. */
async function workerCase(worker: Worker, c: MaliciousCase): Promise<string | null> {
  try {
    const options = await caseVerifyOptions(c, pinnedTestRoot());
    checkCaseBoard(
      c,
      await verifyInWorker({ worker, source: chunked(c.bytes, [700]), ...options }),
    );
    return null;
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
}

async function run(): Promise<BrowserResults> {
  const checks = await runBundleChecks(load);
  const worker = startVerifyWorker();
  try {
    const bytes = goodBundle();
    const good = summarize(
      await verifyInWorker({
        worker,
        source: chunked(bytes, [1000, 4096]),
        trustRoot: pinnedTestRoot(),
        now: NOW,
      }),
    );
    const goodDirect = summarize(
      await verifyBundle(bytes, { trustRoot: pinnedTestRoot(), now: NOW }),
    );
    const demoByUrl = summarize(
      await verifyInWorker({
        worker,
        source: { url: '/demo/demo.fwb' },
        trustRoot: await demoRoot(),
        now: DEMO_NOW,
      }),
    );
    const corpus = [];
    for (const c of maliciousCases()) {
      corpus.push({ id: c.id, expect: c.expect, got: await workerCase(worker, c) });
    }
    return {
      checks,
      worker: { good, goodDirect, demoByUrl, corpus },
      userAgent: navigator.userAgent,
    };
  } finally {
    worker.terminate();
  }
}

window.bundleChecks = run();
const out = document.getElementById('out')!;
window.bundleChecks.then(
  (r) => (out.textContent = JSON.stringify(r, null, 2)),
  (err: unknown) => (out.textContent = `failed: ${String(err)}`),
);
