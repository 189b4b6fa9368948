/**
 * Bundle verification benchmark, run inside Chromium (benchmarks/pages/bundle-bench.html, driven by
 * benchmarks/bundle.ts). Everything for one bundle size is measured in the same page, one after the
 * other, so the ratios compare like with like: raw noble SHA-256 and WebCrypto SHA-256 of the
 * image bytes, the bundle's signature checks alone, `verifyBundle` on the page, and
 * `verifyInWorker` fed as a paced download and as an unpaced burst (time from the last chunk
 * handed over to "verified").
 *
 * The signature checks are timed through the call `verifyBundle` makes for them
 * (`requireManifestSignatures` in src/bundle/_signed-head.ts: the root's keys, the DSSE PAE and
 * one strict ed25519 verification per signature). The hashing part of verification (container,
 * manifest, image hashing: everything but the signatures) is the best `verifyBundle` time less the
 * best signature time (and the same of the medians): a run disturbed by other programs only ever
 * takes longer, so the best of each is the least disturbed. Its floor is noble's time plus one copy of the
 * image into a fresh buffer (the verifier hashes the copy it keeps, never the caller's bytes),
 * timed here as `verifyBundle` makes it: a new array filled chunk by chunk.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { requireManifestSignatures } from '../../src/bundle/_signed-head.ts';
import { createBundle, readBundleUnverified } from '../../src/bundle/create.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import {
  startVerifyWorker,
  verifyInWorker,
  type VerifyWorkerLike,
} from '../../src/platform/browser/verify-client.ts';
import type { VerifyResponse } from '../../src/platform/browser/verify-worker.ts';
import { key, NOW, pinnedTestRoot, testManifest } from '../../test/bundle/fixtures.ts';

/** Options for one bundle size. */
export interface BundleBenchOptions {
  /** Image size in bytes (the bundle adds its header and manifest). */
  imageBytes: number;
  /** Repetitions per measurement. */
  repeats: number;
  /** Download chunk size. */
  chunkBytes: number;
  /** Simulated download speed for the paced run, in Mbit/s. */
  paceMbit: number;
}

/**
 * Milliseconds. Verify and hash times are the best of the repetitions (the least disturbed by
 * other work on the machine), with their medians beside them; the latencies are medians.
 */
export interface BundleBenchResult {
  imageBytes: number;
  bundleBytes: number;
  nobleSha256Ms: number;
  nobleSha256MedianMs: number;
  webCryptoSha256Ms: number;
  /** The image copied into a new array in download-sized pieces. */
  freshCopyMs: number;
  verifyPageMs: number;
  verifyPageMedianMs: number;
  /** Signatures `verifyBundle` checks on this bundle (each one strict ed25519 verification). */
  signatures: number;
  /** Checking all of them, as `verifyBundle` does. */
  signaturesMs: number;
  signaturesMedianMs: number;
  /** `verifyBundle` less its signature checks: container, manifest, image hashing. */
  hashingMs: number;
  hashingMedianMs: number;
  /** Paced download through the worker: last chunk handed over → VerifiedBundle on the page. */
  pacedLastByteMs: number;
  /** The same with every chunk handed over at once (the worker's backlog included). */
  burstLastByteMs: number;
  /** Whole worker verification of the burst, first chunk → VerifiedBundle. */
  burstTotalMs: number;
  /** 'verified' message received → VerifiedBundle returned (the page-side hand-off). */
  handoffMs: number;
  /**
   * Peak page heap above the baseline while verifying on the page (precise memory info), median
   * over the repetitions (a garbage collection at the wrong moment moves single runs).
   */
  peakHeapBytes: number | undefined;
  /** Heap growth when allocating a buffer of the image size: shows what the heap figure sees. */
  probeHeapBytes: number | undefined;
}

declare global {
  interface Window {
    bundleBench?: (options: BundleBenchOptions) => Promise<BundleBenchResult>;
  }
  interface Performance {
    memory?: { usedJSHeapSize: number };
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Incompressible, seeded image bytes (xorshift32). */
function randomImage(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, n);
}

function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const heap = (): number | undefined => performance.memory?.usedJSHeapSize;
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A download: chunks handed over at `mbit` Mbit/s (or all at once), timestamping the last. */
async function* download(
  chunks: readonly Uint8Array[],
  mbit: number | undefined,
  stamp: { last: number; first: number },
): AsyncGenerator<Uint8Array> {
  stamp.first = performance.now();
  let sent = 0;
  for (const [i, chunk] of chunks.entries()) {
    if (mbit !== undefined) {
      const due = stamp.first + (sent * 8) / (mbit * 1000);
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    sent += chunk.length;
    if (i === chunks.length - 1) stamp.last = performance.now();
    yield chunk;
  }
}

/** Wraps the worker to timestamp the arrival of its 'verified' message. */
function timedWorker(worker: Worker, arrived: { at: number }): VerifyWorkerLike {
  worker.addEventListener('message', (event: MessageEvent<VerifyResponse>) => {
    if (event.data.type === 'verified') arrived.at = performance.now();
  });
  return worker;
}

async function run(options: BundleBenchOptions): Promise<BundleBenchResult> {
  const trustRoot = pinnedTestRoot();
  const image = randomImage(options.imageBytes, options.imageBytes);
  const bundle = createBundle({
    manifest: testManifest({
      targets: [
        { chip: 'esp32s3', protocol: 'esp-serial', images: [{ name: 'app', address: 0x10000 }] },
      ],
    }),
    images: { app: image },
    signers: [key(1), key(2)],
  });
  const chunks = chunksOf(bundle, options.chunkBytes);
  const { envelope } = await readBundleUnverified(bundle);
  const signatures = envelope.signatures.length;
  const worker = startVerifyWorker();
  const arrived = { at: 0 };
  const client = timedWorker(worker, arrived);
  const r = {
    noble: [] as number[],
    copy: [] as number[],
    webCrypto: [] as number[],
    page: [] as number[],
    signatures: [] as number[],
    paced: [] as number[],
    burst: [] as number[],
    burstTotal: [] as number[],
    handoff: [] as number[],
    heap: [] as number[],
  };
  try {
    // Warm-up, not measured: JIT, WebCrypto (and below, the worker's module graph).
    await verifyBundle(chunks, { trustRoot, now: NOW });
    sha256(image);
    await crypto.subtle.digest('SHA-256', image);
    requireManifestSignatures(envelope, trustRoot);
    for (let i = 0; i < options.repeats; i++) {
      let t = performance.now();
      sha256(image);
      r.noble.push(performance.now() - t);
      await tick();

      t = performance.now();
      const copy = new Uint8Array(image.length);
      for (let at = 0; at < image.length; at += options.chunkBytes)
        copy.set(image.subarray(at, at + options.chunkBytes), at);
      r.copy.push(performance.now() - t);
      await tick();

      t = performance.now();
      await crypto.subtle.digest('SHA-256', image);
      r.webCrypto.push(performance.now() - t);
      await tick();

      t = performance.now();
      const signers = requireManifestSignatures(envelope, trustRoot);
      r.signatures.push(performance.now() - t);
      if (signers.length !== signatures) throw new Error('a signature did not verify');
      await tick();

      t = performance.now();
      const v = await verifyBundle(chunks, { trustRoot, now: NOW });
      r.page.push(performance.now() - t);
      if (v.bundleBytes !== bundle.length) throw new Error('verified the wrong bundle');
      if (v.signers.length !== signatures) throw new Error('verified other signatures');
      await tick();
    }
    // The runs that leave copies of the bundle behind come after all the timed ones above, so
    // their garbage is not collected during a timed run.
    await verifyInWorker({ worker: client, source: chunks, trustRoot, now: NOW });
    for (let i = 0; i < options.repeats; i++) {
      // Memory in a separate, untimed run: sampling the heap costs time.
      const base = heap();
      let peak = base ?? 0;
      await verifyBundle(chunks, {
        trustRoot,
        now: NOW,
        onProgress: () => (peak = Math.max(peak, heap() ?? 0)),
      });
      peak = Math.max(peak, heap() ?? 0);
      if (base !== undefined) r.heap.push(peak - base);
      await tick();

      for (const mode of ['paced', 'burst'] as const) {
        const stamp = { first: 0, last: 0 };
        const verified = await verifyInWorker({
          worker: client,
          source: download(chunks, mode === 'paced' ? options.paceMbit : undefined, stamp),
          trustRoot,
          now: NOW,
        });
        const done = performance.now();
        if (verified.bundleBytes !== bundle.length) throw new Error('verified the wrong bundle');
        r[mode].push(done - stamp.last);
        r.handoff.push(done - arrived.at);
        if (mode === 'burst') r.burstTotal.push(done - stamp.first);
        await tick();
      }
    }
  } finally {
    worker.terminate();
  }
  const before = heap();
  const probe = new Uint8Array(options.imageBytes).fill(1);
  const probeHeapBytes = before === undefined ? undefined : (heap() ?? 0) - before;
  if (probe[0] !== 1) throw new Error('unreachable');
  return {
    imageBytes: options.imageBytes,
    bundleBytes: bundle.length,
    nobleSha256Ms: Math.min(...r.noble),
    nobleSha256MedianMs: median(r.noble),
    webCryptoSha256Ms: Math.min(...r.webCrypto),
    freshCopyMs: Math.min(...r.copy),
    verifyPageMs: Math.min(...r.page),
    verifyPageMedianMs: median(r.page),
    signatures,
    signaturesMs: Math.min(...r.signatures),
    signaturesMedianMs: median(r.signatures),
    hashingMs: Math.min(...r.page) - Math.min(...r.signatures),
    hashingMedianMs: median(r.page) - median(r.signatures),
    pacedLastByteMs: median(r.paced),
    burstLastByteMs: median(r.burst),
    burstTotalMs: median(r.burstTotal),
    handoffMs: median(r.handoff),
    peakHeapBytes: r.heap.length > 0 ? median(r.heap) : undefined,
    probeHeapBytes,
  };
}

window.bundleBench = run;
