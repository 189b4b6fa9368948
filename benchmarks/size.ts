/**
 * Download sizes (docs/embedding.md, "Size"): what a browser fetches for the embeddable customer
 * updater and for the technician app, gzip level 9 as served with `Content-Encoding: gzip`.
 * The figures come from `scripts/size-report.mjs --json`, which makes a production build in
 * memory; this suite runs it in its own Node process and keeps its result.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A set of files and their total size, raw and gzipped. */
interface SizeTotal {
  files: string[];
  bytes: number;
  gzipBytes: number;
}

/** The JSON that `scripts/size-report.mjs --json` prints. */
interface SizeReport {
  /** `webflash-update.js` and every chunk it imports statically. */
  customerEntry: SizeTotal;
  /** Loaded on top to update an ESP board (driver, compressor, their lazy imports). */
  customerEspFlash: SizeTotal;
  /** Loaded on top to update an STM32 board. */
  customerStm32Flash: SizeTotal;
  /** Loaded on top to update a DFU or DfuSe board over WebUSB. */
  customerDfuFlash?: SizeTotal;
  /** Workers the customer element starts (none expected). */
  customerWorkers: SizeTotal;
  /** index.html's entry chunks and CSS. */
  app: SizeTotal;
  /** Entry + ESP chunks, each file counted once. */
  customerEspTotalGzipBytes: number;
  /** ESP flasher stub data fetched per chip (JSON, not script). */
  customerEspStubData: Record<string, { file: string; bytes: number; gzipBytes: number }>;
}

export interface SizeSuiteResult extends SizeReport {
  /** Vite version that made the build. */
  vite: string;
}

/**
 * Target for the customer updater's JavaScript on a complete ESP update, gzipped: 60 KB, read
 * as decimal kilobytes (the stricter reading; 60 KiB would allow 61,440 bytes).
 */
export const CUSTOMER_JS_TARGET_BYTES = 60_000;

const root = join(import.meta.dirname, '..');

/** Runs the size report and returns its figures; fails when the report does. */
export async function runSizeSuite(opts: {
  log: (line: string) => void;
}): Promise<SizeSuiteResult> {
  const script = join(root, 'scripts', 'size-report.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--json'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const report = JSON.parse(stdout) as SizeReport;
  const vite = (
    JSON.parse(readFileSync(join(root, 'node_modules', 'vite', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  opts.log(
    `size: customer entry ${kb(report.customerEntry.gzipBytes)}, complete ESP update ` +
      `${kb(report.customerEspTotalGzipBytes)}, technician app ${kb(report.app.gzipBytes)} (gzip)`,
  );
  return { ...report, vite };
}
