/**
 * One release policy and one rollback store for every face (src/bundle/release-policy.ts,
 * src/job/verify-release.ts): a trust root, once seen, retires the older root's keys for every
 * product, at verification (worker or not) and again before writing.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createBundle } from '../../src/bundle/create.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { checkRelease } from '../../src/bundle/release-policy.ts';
import { MemoryRollbackStore, recordInstalled } from '../../src/bundle/rollback-store.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import type { JobFailure } from '../../src/job/types.ts';
import { verifyRelease } from '../../src/job/verify-release.ts';
import { createWorkerVerifier } from '../../src/platform/browser/worker-verifier.ts';
import { serveVerification, type VerifyEndpoint } from '../../src/platform/browser/verify-worker.ts';
import type { VerifyWorkerLike } from '../../src/platform/browser/verify-client.ts';
import { harness } from '../job/harness.ts';
import {
  goodBundle,
  key,
  NOW,
  pinnedTestRoot,
  rotatedRoot,
  testImages,
  testManifest,
} from './fixtures.ts';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

function channelWorker(): VerifyWorkerLike & { terminate(): void } {
  const channel = new MessageChannel();
  channels.push(channel);
  serveVerification(channel.port1 as unknown as VerifyEndpoint);
  channel.port1.start();
  channel.port2.start();
  const port = channel.port2 as unknown as VerifyWorkerLike;
  return {
    postMessage: (m, t) => port.postMessage(m, t),
    addEventListener: (type, l) => port.addEventListener(type, l),
    removeEventListener: (type, l) => port.removeEventListener(type, l),
    terminate: () => channel.port2.close(),
  };
}

/** The technician console's and the bench's verifier, over a channel instead of a Worker. */
function technicianVerifier(store: MemoryRollbackStore) {
  return createWorkerVerifier({
    buildMode: 'production',
    productionRoot: new TextDecoder().decode(pinnedTestRoot().envelope),
    rollbackStore: store,
    startWorker: channelWorker,
  });
}

const load = (v: ReturnType<typeof technicianVerifier>, bytes: Uint8Array) =>
  v.verifyBundle({ source: bytes, signal: new AbortController().signal, onProgress: () => {} });

/** A root-2 bundle: keys 4 and 5 sign, root 2 rides along. */
function rotatedBundle(product = 'acme-sensor'): Uint8Array {
  return createBundle({
    manifest: testManifest({ product }),
    images: testImages(),
    signers: [key(4), key(5)],
    roots: [rotatedRoot()],
  });
}

async function storeWithRoot2(): Promise<MemoryRollbackStore> {
  const store = new MemoryRollbackStore();
  await recordInstalled(store, {
    product: 'acme-sensor',
    version: '1.4.2',
    securityCounter: 3,
    rootVersion: 2,
  });
  return store;
}

describe('trust-root rollback on every face', () => {
  it('the technician verifier (worker) refuses a bundle signed only by root-1 keys', async () => {
    const err = await load(technicianVerifier(await storeWithRoot2()), goodBundle()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ reason: 'root.rollback' });
  });

  it('the root floor holds for every product, not only the one recorded', async () => {
    const store = await storeWithRoot2();
    await expect(
      load(technicianVerifier(store), goodBundle({ product: 'other-board' })),
    ).rejects.toMatchObject({ reason: 'root.rollback' });
    await expect(
      checkRelease({
        manifest: { product: 'other-board', version: '1.0.0', securityCounter: 0 },
        rootVersion: 1,
        store,
        mode: 'technician',
        stage: 'load',
      }),
    ).rejects.toMatchObject({ reason: 'root.rollback' });
  });

  it('a root seen in a verified bundle retires the older keys at once, before any flash', async () => {
    const store = new MemoryRollbackStore();
    const verifier = technicianVerifier(store);
    expect((await load(verifier, goodBundle())).root.version).toBe(1);
    expect((await load(verifier, rotatedBundle('other-board'))).root.version).toBe(2);
    expect(await store.getRootVersion()).toBe(2);
    await expect(load(verifier, goodBundle())).rejects.toMatchObject({ reason: 'root.rollback' });
  });

  it('the customer path (verifyBundle on the page) records and enforces the same floor', async () => {
    const store = new MemoryRollbackStore();
    const common = { verify: verifyBundle, trustRoot: pinnedTestRoot(), now: NOW };
    const opts = { ...common, rollbackStore: store, mode: 'customer' as const };
    await verifyRelease({ ...opts, source: rotatedBundle() });
    await expect(verifyRelease({ ...opts, source: goodBundle() })).rejects.toMatchObject({
      reason: 'root.rollback',
    });
  });

  it('a verifier that skips the store is not accepted', async () => {
    await expect(
      verifyRelease({
        verify: (source: Uint8Array, o) =>
          verifyBundle(source, { trustRoot: o.trustRoot, now: o.now }),
        source: goodBundle(),
        trustRoot: pinnedTestRoot(),
        now: NOW,
        rollbackStore: new MemoryRollbackStore(),
        mode: 'technician',
      }),
    ).rejects.toThrow(/rollback store/);
  });

  it('the flash job refuses a root-1 bundle once root 2 was recorded, before writing', async () => {
    const store = new MemoryRollbackStore();
    const verified = await verifyBundle(goodBundle(), { trustRoot: pinnedTestRoot(), now: NOW });
    await store.putRootVersion(2); // e.g. another bundle was verified while this one waited
    const h = harness({
      source: fromVerifiedBundle(verified, { mode: 'technician', rollbackStore: store }),
    });
    const r = (await h.job.run()) as JobFailure;
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ reason: 'root.rollback' });
    expect(h.session.writes).toEqual([]);
  });

  it('a technician loads an older release, which then needs the override to flash', async () => {
    const store = new MemoryRollbackStore();
    await recordInstalled(store, {
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      rootVersion: 1,
    });
    const older = await load(
      technicianVerifier(store),
      goodBundle({ version: '1.3.0', securityCounter: 2 }),
    );
    expect(older.rollback).toMatchObject({ needsOverride: true, requiredCounter: 3 });
    const h = harness({
      source: fromVerifiedBundle(older, { mode: 'technician', rollbackStore: store }),
    });
    expect(((await h.job.run()) as JobFailure).error).toMatchObject({ reason: 'rollback.counter' });
  });
});
