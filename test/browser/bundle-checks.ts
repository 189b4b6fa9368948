/**
 * The bundle verification checks that run both in Node and inside Chromium
 * (e2e/bundle-verify.spec.ts compares the two result objects). Pure: no Node and no DOM APIs;
 * files arrive through `load`, so Node reads them from disk and the browser fetches them from
 * the Vite server.
 *
 * Vectors (sources in test/vectors/crypto/README.md): RFC 8032 §7.1, Wycheproof
 * ed25519_test.json, the ZIP-215 small-order set and ed25519-speccheck, all through the strict
 * verifier; the malicious corpus (test/bundle/corpus.ts, generated and as committed .fwb files);
 * the demo bundle (public/demo/demo.fwb).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { demoRoot } from '../../src/bundle/pinned-root.ts';
import { publicKeyOf, signMessage, verifySignature } from '../../src/bundle/ed25519.ts';
import { verifyBundle, type VerifiedBundle } from '../../src/bundle/verify.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { maliciousCases, runCase, type MaliciousCase } from '../bundle/corpus.ts';
import { pinnedTestRoot } from '../bundle/fixtures.ts';

/** Reads a repository file by its path from the repository root, e.g. "test/vectors/x.json". */
export type LoadFile = (path: string) => Promise<Uint8Array>;

/** A verified bundle reduced to comparable data. */
export interface BundleSummary {
  product: string;
  version: string;
  rootVersion: number;
  bundleBytes: number;
  images: { name: string; size: number; sha256: string; bytesSha256: string }[];
}

/** Everything the checks found, as plain data. */
export interface BundleCheckResults {
  rfc8032: { count: number; failures: number[] };
  wycheproof: { count: number; declared: number; mismatches: number[] };
  zip215: { count: number; accepted: number };
  speccheck: boolean[];
  corpusGenerated: { id: string; expect: string; got: string | null }[];
  corpusFiles: { id: string; expect: string; got: string | null; sameBytes: boolean }[];
  demo: BundleSummary;
}

/** The fixed time the demo bundle is checked at (it is valid 2026-11-01 … 2031-11-01). */
export const DEMO_NOW = new Date('2026-12-01T00:00:00Z');

interface Rfc8032Vector {
  priv: string;
  pub: string;
  msg: string;
  sig: string;
}
interface Wycheproof {
  numberOfTests: number;
  testGroups: {
    publicKey: { pk: string };
    tests: { tcId: number; msg: string; sig: string; result: string }[];
  }[];
}
interface Zip215Case {
  vk_bytes: string;
  sig_bytes: string;
}
interface SpeccheckCase {
  message: string;
  pub_key: string;
  signature: string;
}
interface CorpusEntry {
  id: string;
  attack: MaliciousCase['attack'];
  description: string;
  file: string;
  sha256: string;
  conditions: MaliciousCase['conditions'];
  expect: MaliciousCase['expect'];
}

const json = async <T>(load: LoadFile, path: string): Promise<T> =>
  JSON.parse(new TextDecoder().decode(await load(path))) as T;

/** Summarises a verified bundle, hashing the bytes it hands out. */
export function summarize(v: VerifiedBundle): BundleSummary {
  return {
    product: v.manifest.product,
    version: v.manifest.version,
    rootVersion: v.root.version,
    bundleBytes: v.bundleBytes,
    images: v.images.map((im) => ({
      name: im.name,
      size: im.size,
      sha256: im.sha256,
      bytesSha256: toHex(sha256(v.imageBytes(im.name))),
    })),
  };
}

async function reasonOf(c: MaliciousCase): Promise<string | null> {
  return (await runCase(c, pinnedTestRoot())) ?? null;
}

/** Runs every check and returns what happened (never throws for a failed vector). */
export async function runBundleChecks(load: LoadFile): Promise<BundleCheckResults> {
  const dir = 'test/vectors/crypto';
  const rfc = await json<Rfc8032Vector[]>(load, `${dir}/rfc8032-ed25519.json`);
  const rfcFailures = rfc
    .map((v, i) => {
      const ok =
        toHex(publicKeyOf(fromHex(v.priv))) === v.pub &&
        toHex(signMessage(fromHex(v.msg), fromHex(v.priv))) === v.sig &&
        verifySignature({
          signature: fromHex(v.sig),
          message: fromHex(v.msg),
          publicKey: fromHex(v.pub),
        });
      return ok ? -1 : i + 1;
    })
    .filter((i) => i >= 0);

  const wp = await json<Wycheproof>(load, `${dir}/wycheproof-ed25519_test.json`);
  const wpTests = wp.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));
  const mismatches = wpTests
    .filter(
      (t) =>
        verifySignature({
          signature: fromHex(t.sig),
          message: fromHex(t.msg),
          publicKey: fromHex(t.pk),
        }) !==
        (t.result === 'valid'),
    )
    .map((t) => t.tcId);

  const zip = await json<Zip215Case[]>(load, `${dir}/zip215-small-order.json`);
  const zcash = new TextEncoder().encode('Zcash');
  const accepted = zip.filter((c) =>
    verifySignature({
      signature: fromHex(c.sig_bytes),
      message: zcash,
      publicKey: fromHex(c.vk_bytes),
    }),
  ).length;

  const spec = await json<SpeccheckCase[]>(load, `${dir}/ed25519-speccheck-cases.json`);
  const speccheck = spec.map((c) =>
    verifySignature({
      signature: fromHex(c.signature),
      message: fromHex(c.message),
      publicKey: fromHex(c.pub_key),
    }),
  );

  const corpusGenerated = [];
  for (const c of maliciousCases()) {
    corpusGenerated.push({ id: c.id, expect: c.expect, got: await reasonOf(c) });
  }
  const generatedBytes = new Map(maliciousCases().map((c) => [c.id, toHex(sha256(c.bytes))]));
  const index = await json<CorpusEntry[]>(load, 'test/bundle/corpus/index.json');
  const corpusFiles = [];
  for (const e of index) {
    const bytes = await load(`test/bundle/corpus/${e.file}`);
    const got = await reasonOf({ ...e, bytes });
    const digest = toHex(sha256(bytes));
    corpusFiles.push({
      id: e.id,
      expect: e.expect,
      got,
      sameBytes: digest === e.sha256 && digest === generatedBytes.get(e.id),
    });
  }

  const demoBytes = await load('public/demo/demo.fwb');
  const demo = summarize(
    await verifyBundle(demoBytes, { trustRoot: await demoRoot(), now: DEMO_NOW }),
  );

  return {
    rfc8032: { count: rfc.length, failures: rfcFailures },
    wycheproof: { count: wpTests.length, declared: wp.numberOfTests, mismatches },
    zip215: { count: zip.length, accepted },
    speccheck,
    corpusGenerated,
    corpusFiles,
    demo,
  };
}
