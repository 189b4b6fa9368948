import { readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { unzlibSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, UsageError } from '../../src/core/errors.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import {
  compressInline,
  createCompressClient,
  type CompressClient,
  type WorkerLike,
} from '../../src/worker/compress-client.ts';
import { serveCompression, type MessageEndpoint } from '../../src/worker/compress-worker.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see ../shared/README.md).
const blink = new Uint8Array(
  readFileSync(new URL('../../../shared/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);

const clients: CompressClient[] = [];
const ports: { close(): void }[] = [];

/** A client whose "worker" is the real worker code on the other end of a MessageChannel. */
function client(blockSize = 16 * 1024): CompressClient {
  const channel = new MessageChannel();
  serveCompression(channel.port1 as unknown as MessageEndpoint);
  channel.port1.start();
  channel.port2.start();
  ports.push(channel.port1, channel.port2);
  const c = createCompressClient({
    blockSize,
    createWorker: () => channel.port2 as unknown as WorkerLike,
  });
  clients.push(c);
  return c;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  for (const p of ports.splice(0)) p.close();
});

describe('compression worker', () => {
  it('produces a zlib stream of the firmware that inflates back to it', async () => {
    const copy = blink.slice();
    const progress: number[] = [];
    const out = await client().compress(blink, { onProgress: (done) => progress.push(done) });
    expect(out[0]).toBe(0x78); // RFC 1950 §2.2: CMF for deflate with a 32 KiB window
    expect(equalBytes(unzlibSync(out), blink)).toBe(true);
    expect(equalBytes(blink, copy)).toBe(true);
    // About 0.56 of the size at level 6 (../shared/README.md).
    expect(out.length / blink.length).toBeLessThan(0.58);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    expect(progress.at(-1)).toBe(blink.length);
  });

  it('round-trips any bytes at any level and block size, like compressInline', async () => {
    const c = client(1000);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 0, max: 9 }),
        async (data, level) => {
          const viaWorker = await c.compress(data, { level });
          const inline = await compressInline(data, { level });
          expect(equalBytes(unzlibSync(viaWorker), data)).toBe(true);
          expect(equalBytes(unzlibSync(inline), data)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('runs several requests at once without mixing them up', async () => {
    const c = client(4096);
    const inputs = [blink.subarray(0, 50_000), blink.subarray(50_000, 60_000), new Uint8Array(0)];
    const outs = await Promise.all(inputs.map((d) => c.compress(d)));
    outs.forEach((o, i) => expect(equalBytes(unzlibSync(o), inputs[i]!)).toBe(true));
  });

  it.each([
    ['level -1', { level: -1 }],
    ['level 10', { level: 10 }],
    ['level 1.5', { level: 1.5 }],
    ['level NaN', { level: Number.NaN }],
  ])('rejects a bad argument: %s', async (_name, opts) => {
    await expect(client().compress(blink, opts)).rejects.toBeInstanceOf(UsageError);
    await expect(compressInline(blink, opts)).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects data that is not a Uint8Array', async () => {
    const bad = [1, 2, 3] as unknown as Uint8Array;
    await expect(client().compress(bad)).rejects.toBeInstanceOf(UsageError);
  });

  it('stops on abort, and the worker keeps serving', async () => {
    const c = client(1024);
    const controller = new AbortController();
    const running = c.compress(blink, {
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 4096) controller.abort();
      },
    });
    await expect(running).rejects.toBeInstanceOf(AbortError);
    const again = await c.compress(blink.subarray(0, 1000));
    expect(equalBytes(unzlibSync(again), blink.subarray(0, 1000))).toBe(true);
    const preAborted = new AbortController();
    preAborted.abort();
    await expect(c.compress(blink, { signal: preAborted.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
  });

  it('dispose rejects what is pending and refuses new work', async () => {
    const c = client(1024);
    const running = c.compress(blink);
    c.dispose();
    await expect(running).rejects.toBeInstanceOf(AbortError);
    await expect(c.compress(blink)).rejects.toBeInstanceOf(UsageError);
  });
});
