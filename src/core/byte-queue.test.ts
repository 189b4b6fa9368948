import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteQueue } from './byte-queue.ts';
import { VirtualClock } from './clock.ts';
import { AbortError, TimeoutError, TransportError } from './errors.ts';

const clock = () => new VirtualClock({ yieldToHost: setImmediate });

describe('ByteQueue', () => {
  it('serves buffered bytes at once and waits for the rest', async () => {
    const q = new ByteQueue(clock());
    q.push(new Uint8Array([1, 2]));
    const pending = q.readExactly(4, { timeoutMs: 100 });
    q.push(new Uint8Array([3]));
    q.push(new Uint8Array([4, 5]));
    expect([...(await pending)]).toEqual([1, 2, 3, 4]);
    expect(q.available).toBe(1);
    expect(await q.readByte({ timeoutMs: 1 })).toBe(5);
  });

  it('drainUntilQuiet drops input until none arrives for the quiet time', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    q.push(new Uint8Array([1, 2, 3]));
    c.setTimer(30, () => q.push(new Uint8Array([4])));
    c.setTimer(70, () => q.push(new Uint8Array([5])));
    const t0 = c.now();
    await q.drainUntilQuiet(50);
    expect(c.now() - t0).toBe(120); // the last byte at 70 ms, then 50 ms of quiet
    expect(q.available).toBe(0);
    q.end(new TransportError('transport.closed', 'closed'));
    await expect(q.drainUntilQuiet(50)).rejects.toBeInstanceOf(TransportError);
  });

  it('read() returns what is there, up to max', async () => {
    const q = new ByteQueue(clock());
    q.push(new Uint8Array([9, 8, 7]));
    expect([...(await q.read(2, { timeoutMs: 1 }))]).toEqual([9, 8]);
    expect([...(await q.read(10, { timeoutMs: 1 }))]).toEqual([7]);
  });

  it('times out on the injected clock with a TimeoutError naming the wait', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = q.readExactly(1, { timeoutMs: 250, what: 'SYNC reply' });
    await expect(r).rejects.toBeInstanceOf(TimeoutError);
    await expect(r).rejects.toThrow('SYNC reply: no answer within 250 ms');
    expect(c.now()).toBe(250);
  });

  it('rejects with AbortError when the signal fires', async () => {
    const q = new ByteQueue(new VirtualClock({ auto: false }));
    const ac = new AbortController();
    const r = q.readExactly(1, { timeoutMs: 1000, signal: ac.signal });
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(AbortError);
  });

  it('drains buffered bytes before reporting the end', async () => {
    const q = new ByteQueue(clock());
    q.push(new Uint8Array([1]));
    const lost = new TransportError('transport.device-lost', 'The device was unplugged');
    q.end(lost);
    expect(await q.readByte({ timeoutMs: 1 })).toBe(1);
    await expect(q.readByte({ timeoutMs: 1 })).rejects.toBe(lost);
  });

  it('refuses a second concurrent read', async () => {
    const q = new ByteQueue(new VirtualClock({ auto: false }));
    void q.readByte({ timeoutMs: 10 }).catch(() => undefined);
    await expect(q.readByte({ timeoutMs: 10 })).rejects.toThrow('already pending');
  });

  it('delivers any chunking of a stream unchanged (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 10 }),
        async (chunks, reads) => {
          const q = new ByteQueue(clock());
          const all = chunks.flatMap((c) => [...c]);
          for (const c of chunks) q.push(c.slice());
          const got: number[] = [];
          let i = 0;
          while (got.length < all.length) {
            const n = Math.min(reads[i++ % reads.length]!, all.length - got.length);
            got.push(...(await q.readExactly(n, { timeoutMs: 1 })));
          }
          expect(got).toEqual(all);
          expect(q.available).toBe(0);
        },
      ),
    );
  });
});
