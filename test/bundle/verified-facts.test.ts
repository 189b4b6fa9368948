/**
 * `VerifiedBundle.bundleSha256` (the whole file, hashed while it streams) and
 * `VerifiedBundle.signers` (the root's key ids whose signatures verified), on the direct path
 * and through the verification worker's hand-off (src/bundle/_handoff.ts).
 */
import { MessageChannel } from 'node:worker_threads';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdOf, publicKeyOf } from '../../src/bundle/ed25519.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { toHex } from '../../src/core/bytes.ts';
import { verifyInWorker, type VerifyWorkerLike } from '../../src/platform/browser/verify-client.ts';
import { serveVerification, type VerifyEndpoint } from '../../src/platform/browser/verify-worker.ts';
import { chunked, goodBundle, key, NOW, pinnedTestRoot } from './fixtures.ts';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

function worker(): VerifyWorkerLike {
  const channel = new MessageChannel();
  channels.push(channel);
  serveVerification(channel.port1 as unknown as VerifyEndpoint);
  channel.port1.start();
  channel.port2.start();
  return channel.port2 as unknown as VerifyWorkerLike;
}

const idOf = (n: number): string => keyIdOf(publicKeyOf(key(n)));

describe('VerifiedBundle facts', () => {
  it.each([
    ['one array', (b: Uint8Array) => b],
    ['sync chunks', (b: Uint8Array) => chunked(b, [1, 7, 300])],
    [
      'async chunks',
      (b: Uint8Array) =>
        (async function* () {
          yield* chunked(b, [4096, 3]);
        })(),
    ],
  ])('bundleSha256 is the SHA-256 of the file (%s)', async (_name, as) => {
    const bytes = goodBundle();
    const v = await verifyBundle(as(bytes), { trustRoot: pinnedTestRoot(), now: NOW });
    expect(v.bundleSha256).toBe(toHex(sha256(bytes)));
    expect(v.bundleBytes).toBe(bytes.length);
  });

  it.each([
    [
      [1, 2],
      [1, 2],
    ],
    [
      [3, 1],
      [1, 3],
    ],
    [
      [1, 2, 3],
      [1, 2, 3],
    ],
  ])('signers names exactly the keys that signed (%j)', async (signedBy, expected) => {
    const v = await verifyBundle(goodBundle({}, signedBy), {
      trustRoot: pinnedTestRoot(),
      now: NOW,
    });
    expect(v.signers).toEqual(expected.map(idOf).sort());
    expect(Object.isFrozen(v.signers)).toBe(true);
  });

  it('keeps both through the worker hand-off', async () => {
    const bytes = goodBundle({}, [2, 3]);
    const v = await verifyInWorker({
      worker: worker(),
      source: bytes.slice(),
      trustRoot: pinnedTestRoot(),
      now: NOW,
    });
    expect(v.bundleSha256).toBe(toHex(sha256(bytes)));
    expect(v.signers).toEqual([idOf(2), idOf(3)].sort());
  });
});
