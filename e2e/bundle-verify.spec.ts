/**
 * Bundle verification inside Chromium: the test page (test/browser/bundle-verify.html) imports
 * the real src/bundle code and runs the vectors (RFC 8032, Wycheproof, ZIP-215, speccheck), the
 * malicious corpus and the demo bundle, then the same bundles through the real verification Web
 * Worker. Every result must equal what the same checks give in Node, run here by this spec.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runBundleChecks, type BundleCheckResults } from '../test/browser/bundle-checks.ts';
import type { BrowserResults } from '../test/browser/bundle-verify.ts';

const root = join(import.meta.dirname, '..');
let node: BundleCheckResults;

test.beforeAll(async () => {
  node = await runBundleChecks(async (path) => new Uint8Array(await readFile(join(root, path))));
});

test('bundle verification gives the same results in Chromium as in Node', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/browser/bundle-verify.html');
  const browser = await page.evaluate(
    () => (window as unknown as { bundleChecks: Promise<BrowserResults> }).bundleChecks,
  );
  expect(browser.userAgent).toMatch(/Chrom/);

  // The vectors in Node: every one as specified.
  expect(node.rfc8032).toEqual({ count: 4, failures: [] });
  expect(node.wycheproof).toEqual({ count: 151, declared: 151, mismatches: [] });
  expect(node.zip215).toEqual({ count: 196, accepted: 0 });
  for (const c of [...node.corpusGenerated, ...node.corpusFiles])
    expect(c.got, c.id).toBe(c.expect);
  expect(node.corpusFiles.every((c) => c.sameBytes)).toBe(true);
  expect(node.corpusGenerated.length).toBeGreaterThanOrEqual(30);
  expect(node.demo.product).toBe('webflash-demo');

  // Chromium agrees with Node on every single result.
  expect(browser.checks.rfc8032).toEqual(node.rfc8032);
  expect(browser.checks.wycheproof).toEqual(node.wycheproof);
  expect(browser.checks.zip215).toEqual(node.zip215);
  expect(browser.checks.speccheck).toEqual(node.speccheck);
  expect(browser.checks.corpusGenerated).toEqual(node.corpusGenerated);
  expect(browser.checks.corpusFiles).toEqual(node.corpusFiles);
  expect(browser.checks.demo).toEqual(node.demo);

  // Through the Web Worker: the same bundles, the same outcome.
  expect(browser.worker.good).toEqual(browser.worker.goodDirect);
  expect(browser.worker.demoByUrl).toEqual(node.demo);
  expect(browser.worker.corpus).toEqual(node.corpusGenerated);
  expect(errors).toEqual([]);
});
