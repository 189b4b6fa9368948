/**
 * A production build of the demo (`VITE_WEBFLASH_DEMO=1 vite build`) served by `vite preview`
 * on a free port, for the specs that need what a deployment has: the strict headers and the
 * service worker. Built once per Playwright worker into a temporary directory; each spec starts
 * and stops its own server. The e2e bundle (demo-fixture.ts) is served at /e2e/bench.fwb.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eBundle } from './demo-fixture.ts';

const root = join(import.meta.dirname, '..');
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');

/** Path of the e2e bundle on the preview server. */
export const BENCH_BUNDLE_PATH = '/e2e/bench.fwb';

let outDir: string | undefined;

function build(): string {
  if (outDir) return outDir;
  const dir = mkdtempSync(join(tmpdir(), 'webflash-preview-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: root,
      env: { ...process.env, VITE_WEBFLASH_DEMO: '1' },
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  mkdirSync(join(dir, 'e2e'), { recursive: true });
  writeFileSync(join(dir, BENCH_BUNDLE_PATH), e2eBundle);
  outDir = dir;
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited:\n${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`vite preview did not answer at ${url} within 30 s:\n${log()}`);
}

/** A running preview server. */
export interface PreviewServer {
  /** "http://127.0.0.1:PORT" */
  url: string;
  stop(): Promise<void>;
}

/** Builds (once) and serves the demo build; `env` adds server-side settings. */
export async function startPreview(env: Record<string, string> = {}): Promise<PreviewServer> {
  const dir = build();
  const port = await freePort();
  let output = '';
  const child = spawn(
    process.execPath,
    [vite, 'preview', '--outDir', dir, '--port', String(port), '--strictPort'],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, child, () => output);
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
