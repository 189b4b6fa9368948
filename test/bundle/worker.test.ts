/**
 * The verification worker protocol over a MessageChannel (the same code the module worker
 * runs), with the page-side client: chunks in, progress and a re-verified bundle out.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { VerifiedBundle } from '../../src/bundle/verify.ts';
import { verifyInWorker, type VerifyWorkerLike } from '../../src/worker/verify-client.ts';
import { serveVerification, type VerifyEndpoint } from '../../src/worker/verify-worker.ts';
import { chunked, goodBundle, NOW, pinnedTestRoot, testImages } from './fixtures.ts';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

function connect(): VerifyWorkerLike {
  const channel = new MessageChannel();
  channels.push(channel);
  serveVerification(channel.port1 as unknown as VerifyEndpoint);
  channel.port1.start();
  channel.port2.start();
  return channel.port2 as unknown as VerifyWorkerLike;
}

describe('verification worker', () => {
  it('verifies chunks sent by the page and returns a bundle verified again on this side', async () => {
    const bytes = goodBundle();
    const source = chunked(bytes, [1000, 3333]);
    const progress: number[] = [];
    const verified = await verifyInWorker({
      worker: connect(),
      source,
      trustRoot: pinnedTestRoot(),
      now: NOW,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(VerifiedBundle.is(verified)).toBe(true);
    expect(verified.imageBytes('app')).toEqual(testImages().get('app'));
    expect(progress.at(-1)).toBe(bytes.length);
    expect(source[0]!.length).toBe(1000); // the page's own buffers were copied, not transferred
  });

  it('reports a rejection with its reason code', async () => {
    const bytes = goodBundle({}, [1]);
    const err = await verifyInWorker({
      worker: connect(),
      source: bytes,
      trustRoot: pinnedTestRoot(),
      now: NOW,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ reason: 'signature.threshold' });
  });
});
