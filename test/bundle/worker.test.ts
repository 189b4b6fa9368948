/**
 * The verification worker protocol over a MessageChannel (the same code the module worker
 * runs), with the page-side client: chunks in, progress out, and the hand-off that rebuilds the
 * VerifiedBundle on the page from the transferred bytes without hashing them again
 * (src/bundle/_handoff.ts, docs/threat-model.md "The verification worker").
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createBundle, readBundleUnverified } from '../../src/bundle/create.ts';
import { encodeEnvelope } from '../../src/bundle/dsse.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { MemoryRollbackStore, recordInstalled } from '../../src/bundle/rollback-store.ts';
import { rehydrateVerifiedBundle } from '../../src/bundle/rehydrate.ts';
import { verifyBundle, VerifiedBundle } from '../../src/bundle/verify.ts';
import { AbortError } from '../../src/core/errors.ts';
import { verifyInWorker, type VerifyWorkerLike } from '../../src/platform/browser/verify-client.ts';
import {
  serveVerification,
  type VerifyEndpoint,
  type VerifyResponse,
} from '../../src/platform/browser/verify-worker.ts';
import {
  chunked,
  goodBundle,
  key,
  NOW,
  pinnedTestRoot,
  rotatedRoot,
  testImages,
  testManifest,
} from './fixtures.ts';

type Handoff = Extract<VerifyResponse, { type: 'verified' }>['handoff'];

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/**
 * The page's end of a channel served by the real worker code. `tamper` rewrites the hand-off on
 * its way to the client, standing in for a worker that lies.
 */
function connect(tamper?: (h: Handoff) => Handoff): VerifyWorkerLike {
  const channel = new MessageChannel();
  channels.push(channel);
  serveVerification(channel.port1 as unknown as VerifyEndpoint);
  channel.port1.start();
  channel.port2.start();
  const port = channel.port2 as unknown as VerifyWorkerLike;
  if (!tamper) return port;
  type Listener = (event: MessageEvent<VerifyResponse>) => void;
  const wrapped = new Map<Listener, Listener>();
  return {
    postMessage: (m, t) => port.postMessage(m, t),
    addEventListener(type, listener) {
      const w: Listener = (event) => {
        const msg = event.data;
        const data = msg.type === 'verified' ? { ...msg, handoff: tamper(msg.handoff) } : msg;
        listener({ data } as MessageEvent<VerifyResponse>);
      };
      wrapped.set(listener, w);
      port.addEventListener(type, w);
    },
    removeEventListener(type, listener) {
      port.removeEventListener(type, wrapped.get(listener) ?? listener);
    },
  };
}

const base = { trustRoot: pinnedTestRoot(), now: NOW };

describe('verification worker', () => {
  it('verifies chunks sent by the page and rebuilds the same bundle on this side', async () => {
    const bytes = goodBundle();
    const source = chunked(bytes, [1000, 3333]);
    const progress: number[] = [];
    const verified = await verifyInWorker({
      ...base,
      worker: connect(),
      source,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(VerifiedBundle.is(verified)).toBe(true);
    expect(Object.isFrozen(verified)).toBe(true);
    const direct = await verifyBundle(bytes, base);
    expect(verified.manifest).toEqual(direct.manifest);
    expect(verified.images).toEqual(direct.images);
    expect(verified.bundleBytes).toBe(bytes.length);
    expect(verified.root).toBe(base.trustRoot); // the page's own pinned root object
    for (const [name, data] of testImages()) expect(verified.imageBytes(name)).toEqual(data);
    expect(verified.toChunks()).toEqual(direct.toChunks());
    expect(progress.at(-1)).toBe(bytes.length);
    expect(source[0]!.length).toBe(1000); // the page's own buffers were copied, not transferred
  });

  it('reports a rejection with its reason code', async () => {
    const bytes = goodBundle({}, [1]);
    const err = await verifyInWorker({ ...base, worker: connect(), source: bytes }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ reason: 'signature.threshold' });
  });

  it('rebuilds the rotated root a bundle carries', async () => {
    const bytes = createBundle({
      manifest: testManifest(),
      images: testImages(),
      signers: [key(4), key(5)],
      roots: [rotatedRoot()],
    });
    const verified = await verifyInWorker({ ...base, worker: connect(), source: bytes });
    expect(verified.root.version).toBe(2);
    expect(verified.root.keys).toEqual(rotatedRoot().keys);
    expect(verified.bundleBytes).toBe(bytes.length);
  });

  it("runs the rollback check on the page with the page's store", async () => {
    const store = new MemoryRollbackStore();
    await recordInstalled(store, {
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      rootVersion: 1,
    });
    const older = goodBundle({ version: '1.3.0', securityCounter: 2 });
    await expect(
      verifyInWorker({ ...base, worker: connect(), source: older, rollbackStore: store }),
    ).rejects.toMatchObject({ reason: 'rollback.counter' });
    const ok = await verifyInWorker({
      ...base,
      worker: connect(),
      source: goodBundle(),
      rollbackStore: store,
    });
    expect(ok.rollback).toMatchObject({ downgrade: false, requiredCounter: 3 });
  });

  it('stops at once when the signal has already fired', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      verifyInWorker({ ...base, worker: connect(), source: goodBundle(), signal: abort.signal }),
    ).rejects.toBeInstanceOf(AbortError);
  });
});

describe('hand-off invariants on the page', () => {
  const im = (h: Handoff, name: string): Uint8Array => h.images.find((i) => i.name === name)!.bytes;
  // A worker that hands over something other than what it verified, and the reason the page
  // gives; each is the reason verifyBundle gives for the same defect in a file.
  const cases: [string, (h: Handoff) => Handoff, string][] = [
    [
      'an image shorter than signed',
      (h) => ({
        ...h,
        images: h.images.map((i) =>
          i.name === 'app' ? { name: 'app', bytes: i.bytes.subarray(1) } : i,
        ),
        bundleBytes: h.bundleBytes - 1,
      }),
      'image.size-mismatch',
    ],
    [
      'an image longer than signed',
      (h) => ({
        ...h,
        images: h.images.map((i) =>
          i.name === 'app' ? { name: 'app', bytes: new Uint8Array(i.bytes.length + 1) } : i,
        ),
      }),
      'image.size-mismatch',
    ],
    [
      'a missing image',
      (h) => ({ ...h, images: h.images.filter((i) => i.name !== 'bootloader') }),
      'container.missing-entry',
    ],
    [
      'an undeclared image',
      (h) => ({ ...h, images: [...h.images, { name: 'extra', bytes: new Uint8Array(4) }] }),
      'container.undeclared-entry',
    ],
    [
      'an image twice',
      (h) => ({ ...h, images: [...h.images, { name: 'app', bytes: im(h, 'app').slice() }] }),
      'container.duplicate-entry',
    ],
    [
      'something other than bytes',
      (h) => ({
        ...h,
        images: h.images.map((i) =>
          i.name === 'app' ? { name: 'app', bytes: [...i.bytes] as unknown as Uint8Array } : i,
        ),
      }),
      'image.size-mismatch',
    ],
    [
      'a wrong bundle size',
      (h) => ({ ...h, bundleBytes: h.bundleBytes + 1 }),
      'container.malformed',
    ],
    [
      'an envelope that is not JSON',
      (h) => ({ ...h, envelope: new TextEncoder().encode('{"payloadType":') }),
      'json.malformed',
    ],
    [
      'a root chain with a gap',
      (h) => ({
        ...h,
        roots: [{ version: 3, envelope: new Uint8Array(8) }],
        bundleBytes: h.bundleBytes + 6 + 1 + 8,
      }),
      'root.version',
    ],
  ];

  it.each(cases)('refuses %s', async (_name, tamper, reason) => {
    const err = await verifyInWorker({
      ...base,
      worker: connect(tamper),
      source: goodBundle(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ reason });
  });

  it.each<[string, () => Promise<(h: Handoff) => Handoff>, string]>([
    [
      'an envelope without signatures',
      async () => {
        const { envelope } = await readBundleUnverified(goodBundle());
        const unsigned = encodeEnvelope({ ...envelope, signatures: [] });
        return (h) => ({ ...h, envelope: unsigned });
      },
      'signature.threshold',
    ],
    [
      'an envelope signed by one key of a 2-of-3 root',
      async () => {
        const { manifest } = await readBundleUnverified(goodBundle({}, [1]));
        return (h) => ({ ...h, envelope: manifest });
      },
      'signature.threshold',
    ],
    [
      'other app bytes of the same length',
      async () => (h) => ({
        ...h,
        images: h.images.map((i) =>
          i.name === 'app' ? { name: 'app', bytes: i.bytes.map((b) => b ^ 1) } : i,
        ),
      }),
      'image.hash-mismatch',
    ],
    [
      'an expired manifest, correctly signed',
      async () => {
        const old = goodBundle({
          created: '2025-01-01T00:00:00Z',
          expires: '2026-01-01T00:00:00Z',
        });
        const { manifest } = await readBundleUnverified(old);
        return (h) => ({ ...h, envelope: manifest });
      },
      'expired',
    ],
  ])('re-checks what the worker claims: refuses %s', async (_name, makeTamper, reason) => {
    const err = await verifyInWorker({
      ...base,
      worker: connect(await makeTamper()),
      source: goodBundle(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ reason });
  });

  it('cannot be used without the hand-off token', async () => {
    const data: Handoff = { roots: [], envelope: new Uint8Array(), images: [], bundleBytes: 0 };
    const rehydrate = rehydrateVerifiedBundle as unknown as (
      token: symbol,
      ...rest: [Handoff, typeof base]
    ) => Promise<VerifiedBundle>;
    await expect(rehydrate(Symbol('VerifiedBundle.handoff'), data, base)).rejects.toThrow(
      TypeError,
    );
  });
});
