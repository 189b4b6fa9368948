import { readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { unzlibSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { UsageError } from '../../src/core/errors.ts';
import { compressImage, type CompressOptions } from '../../src/protocols/esp/compress.ts';
import {
  createCompressClient,
  type CompressClient,
  type WorkerLike,
} from '../../src/platform/browser/compress-client.ts';
import { serveCompression, type MessageEndpoint } from '../../src/platform/browser/compress-worker.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const blink = new Uint8Array(
  readFileSync(new URL('../fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);

const clients: CompressClient[] = [];
const ports: { close(): void }[] = [];

/** A client whose worker is the real worker code on the other end of a MessageChannel. */
function client(): CompressClient {
  const channel = new MessageChannel();
  serveCompression(channel.port1 as unknown as MessageEndpoint);
  channel.port1.start();
  channel.port2.start();
  ports.push(channel.port1, channel.port2);
  const c = createCompressClient({ createWorker: () => channel.port2 as unknown as WorkerLike });
  clients.push(c);
  return c;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  for (const p of ports.splice(0)) p.close();
});

const opts: CompressOptions = { chunkSize: 4096, level: 6 };

describe('compression worker', () => {
  it('gives exactly the inline result for the firmware, which inflates back to it', async () => {
    const copy = blink.slice();
    const image = await client().compress(blink, opts);
    const inline = compressImage(blink, opts);
    expect(equalBytes(image.data, inline.data)).toBe(true);
    expect(image.boundaries).toEqual(inline.boundaries);
    expect(image.chunkSize).toBe(4096);
    expect(image.data[0]).toBe(0x78); // RFC 1950 §2.2: CMF, deflate with a 32 KiB window
    expect(equalBytes(unzlibSync(image.data), blink)).toBe(true);
    expect(equalBytes(blink, copy)).toBe(true); // input neither changed nor detached
    // About 0.56 of the size at level 6 (test/fixtures/README.md).
    expect(image.data.length / blink.length).toBeLessThan(0.58);
  });

  it('matches the inline compressor for any bytes, chunk size and level (property)', async () => {
    const c = client();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 6000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 9 }),
        async (data, chunkSize, level) => {
          const viaWorker = await c.compress(data, { chunkSize, level });
          const inline = compressImage(data, { chunkSize, level });
          expect(equalBytes(viaWorker.data, inline.data)).toBe(true);
          expect(viaWorker.boundaries).toEqual(inline.boundaries);
          expect(equalBytes(unzlibSync(viaWorker.data), data)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('runs several requests at once without mixing them up', async () => {
    const c = client();
    const inputs = [blink.subarray(0, 50_000), blink.subarray(50_000, 60_000), new Uint8Array(0)];
    const outs = await Promise.all(inputs.map((d) => c.compress(d, opts)));
    outs.forEach((o, i) => expect(equalBytes(unzlibSync(o.data), inputs[i]!)).toBe(true));
  });

  it.each<[string, CompressOptions]>([
    ['level -1', { chunkSize: 4096, level: -1 }],
    ['level 10', { chunkSize: 4096, level: 10 }],
    ['level 1.5', { chunkSize: 4096, level: 1.5 }],
    ['chunk size 0', { chunkSize: 0, level: 6 }],
    ['chunk size NaN', { chunkSize: Number.NaN, level: 6 }],
  ])('rejects %s with RangeError, like the inline compressor', async (_name, bad) => {
    await expect(client().compress(blink, bad)).rejects.toBeInstanceOf(RangeError);
    expect(() => compressImage(blink, bad)).toThrow(RangeError);
  });

  it('rejects data that is not a Uint8Array with TypeError', async () => {
    const bad = [1, 2, 3] as unknown as Uint8Array;
    await expect(client().compress(bad, opts)).rejects.toBeInstanceOf(TypeError);
  });

  it('dispose rejects what is pending and refuses new work', async () => {
    const c = client();
    const running = c.compress(blink, opts);
    c.dispose();
    await expect(running).rejects.toBeInstanceOf(UsageError);
    await expect(c.compress(blink, opts)).rejects.toBeInstanceOf(UsageError);
  });

  it('falls back to this thread when the worker cannot start or fails', async () => {
    const noWorker = createCompressClient({
      createWorker: () => {
        throw new Error('Worker is not defined');
      },
    });
    const a = await noWorker.compress(blink, opts);
    expect(equalBytes(a.data, compressImage(blink, opts).data)).toBe(true);

    let onError: ((e: Event) => void) | undefined;
    const broken: WorkerLike = {
      postMessage: () => queueMicrotask(() => onError?.({} as Event)),
      addEventListener: (type: string, listener: unknown) => {
        if (type === 'error') onError = listener as (e: Event) => void;
      },
    };
    const crashing = createCompressClient({ createWorker: () => broken });
    const b = await crashing.compress(blink, opts);
    expect(equalBytes(unzlibSync(b.data), blink)).toBe(true);
  });
});
