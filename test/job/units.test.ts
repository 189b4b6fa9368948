import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  AbortError,
  FramingError,
  ProtocolError,
  TimeoutError,
  TransportError,
  UsageError,
  VerificationError,
  WebflashError,
} from '../../src/core/errors.ts';
import { Emitter } from '../../src/job/emitter.ts';
import { RateMeter } from '../../src/job/rate.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import { backoffDelay, isRetryable } from '../../src/job/retry.ts';
import {
  admitSource,
  planRegions,
  type FlashSource,
  type SourceRegion,
} from '../../src/job/source.ts';
import { withDeadline } from '../../src/job/watchdog.ts';

const vclock = () => new VirtualClock({ yieldToHost: setImmediate, auto: false });

describe('Emitter', () => {
  it('delivers typed payloads in subscription order and unsubscribes', () => {
    const e = new Emitter<{ a: number; b: string }>();
    const seen: string[] = [];
    const offA = e.on('a', (n) => seen.push(`a1:${n}`));
    e.on('a', (n) => seen.push(`a2:${n}`));
    e.on('b', (s) => seen.push(`b:${s}`));
    e.emit('a', 1);
    e.emit('b', 'x');
    offA();
    offA();
    e.emit('a', 2);
    expect(seen).toEqual(['a1:1', 'a2:1', 'b:x', 'a2:2']);
    expect(e.listenerCount('a')).toBe(1);
  });

  it('a throwing listener does not stop the others', () => {
    const e = new Emitter<{ a: number }>();
    const errors: unknown[] = [];
    e.onListenerError = (err) => errors.push(err);
    const after = vi.fn();
    e.on('a', () => {
      throw new Error('listener bug');
    });
    e.on('a', after);
    e.emit('a', 1);
    expect(after).toHaveBeenCalledWith(1);
    expect(errors).toHaveLength(1);
  });

  it('the same function subscribed twice is called twice, removed one at a time', () => {
    const e = new Emitter<{ a: number }>();
    const fn = vi.fn();
    const off1 = e.on('a', fn);
    e.on('a', fn);
    off1();
    e.emit('a', 1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('RateMeter', () => {
  it('reads a steady rate exactly, and an ETA from it', () => {
    const clock = vclock();
    const m = new RateMeter({ clock });
    m.start(0);
    expect(m.sample(0, 4096)).toEqual({ bytesPerSecond: undefined, etaMs: undefined });
    for (let i = 1; i <= 4; i++) {
      clock.advance(100);
      expect(m.sample(i * 1024, 4096)).toEqual({
        bytesPerSecond: 10240,
        etaMs: ((4096 - i * 1024) / 10240) * 1000,
      });
    }
  });

  it('follows a change of speed by 1 - exp(-dt/τ) per interval', () => {
    const clock = vclock();
    const m = new RateMeter({ clock, timeConstantMs: 1000 });
    m.start(0);
    clock.advance(1000);
    expect(m.sample(1000, 1e9).bytesPerSecond).toBe(1000);
    clock.advance(1000);
    // Instant rate 3000 B/s; the average moves (1 - e^-1) of the way.
    const expected = 1000 + (1 - Math.exp(-1)) * 2000;
    expect(m.sample(4000, 1e9).bytesPerSecond).toBeCloseTo(expected, 9);
  });

  it('merges samples at the same instant and survives a count going back', () => {
    const clock = vclock();
    const m = new RateMeter({ clock });
    m.start(0);
    clock.advance(100);
    m.sample(500, 10_000);
    m.sample(1000, 10_000); // same instant: merged into the next interval
    clock.advance(100);
    expect(m.sample(2000, 10_000).bytesPerSecond).toBe(
      5000 + (1 - Math.exp(-100 / 3000)) * (15000 - 5000),
    );
    const before = m.reading(2000, 10_000).bytesPerSecond;
    clock.advance(100);
    expect(m.sample(1024, 10_000).bytesPerSecond).toBe(before); // resumed lower: average kept
  });

  it('does not count a pause after resume()', () => {
    const clock = vclock();
    const m = new RateMeter({ clock });
    m.start(0);
    clock.advance(100);
    m.sample(1000, 5000);
    clock.advance(10_000); // time in another phase
    m.resume(1000);
    clock.advance(100);
    expect(m.sample(2000, 5000).bytesPerSecond).toBe(10_000);
  });

  it('the rate of a steady transfer is exact for any step and rate (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 1 << 16 }),
        (dt, perStep) => {
          const clock = vclock();
          const m = new RateMeter({ clock });
          m.start(0);
          let r = m.reading(0, 0);
          for (let i = 1; i <= 20; i++) {
            clock.advance(dt);
            r = m.sample(i * perStep, 20 * perStep);
          }
          expect(r.bytesPerSecond).toBe((perStep * 1000) / dt);
          expect(r.etaMs).toBe(0);
        },
      ),
    );
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects timeConstantMs %s', (tau) => {
    expect(() => new RateMeter({ clock: vclock(), timeConstantMs: tau })).toThrow(UsageError);
  });
});

describe('retry policy', () => {
  it.each([
    [new TimeoutError('x', 1), true],
    [new FramingError('framing.invalid', 'x'), true],
    [new FramingError('framing.overflow', 'x'), true],
    [new ProtocolError('protocol.bad-reply', 'x'), true],
    [Object.assign(new ProtocolError('protocol.command-failed', 'x'), { retryable: true }), true],
    [Object.assign(new TimeoutError('x', 1), { retryable: false }), false],
    [Object.assign(new AbortError(), { retryable: true }), false],
    [new ProtocolError('protocol.command-failed', 'x'), false],
    [new ProtocolError('protocol.wrong-chip', 'x'), false],
    [new ProtocolError('protocol.read-protected', 'x'), false],
    [new ProtocolError('protocol.no-sync', 'x'), false],
    [new TransportError('transport.device-lost', 'x'), false],
    [new TransportError('transport.io', 'x'), false],
    [new AbortError(), false],
    [new VerificationError('x'), false],
    [new UsageError('x'), false],
    [new WebflashError('bundle.rejected', 'x'), false],
  ])('%s → retryable %s', (err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });

  it('backs off by doubling from the base, capped', () => {
    const o = { baseMs: 250, maxMs: 2000 };
    expect([2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, o))).toEqual([
      250, 500, 1000, 2000, 2000, 2000,
    ]);
  });
});

describe('admitSource and planRegions', () => {
  const data = new Uint8Array(16);
  const plan = (regions: SourceRegion[]) => planRegions(regions, { verified: true, label: 'x' });

  it('accepts regions in any order and totals their bytes', () => {
    const p = plan([
      { name: 'app', address: 0x10000, data: new Uint8Array(100) },
      { name: 'boot', address: 0x1000, data: new Uint8Array(10) },
    ]);
    expect(p.totalBytes).toBe(110);
    expect(p.verified).toBe(true);
    expect(p.regions.map((r) => r.name)).toEqual(['app', 'boot']);
  });

  it.each<[string, SourceRegion[]]>([
    ['no regions', []],
    ['not a list', 'nope' as unknown as SourceRegion[]],
    ['an empty region', [{ name: 'a', address: 0, data: new Uint8Array(0) }]],
    ['a negative address', [{ name: 'a', address: -1, data }]],
    ['a fractional address', [{ name: 'a', address: 1.5, data }]],
    ['an address past 4 GiB', [{ name: 'a', address: 2 ** 32, data }]],
    ['NaN as address', [{ name: 'a', address: Number.NaN, data }]],
    ['data that is not bytes', [{ name: 'a', address: 0, data: [1, 2] as unknown as Uint8Array }]],
    [
      'overlapping regions',
      [
        { name: 'a', address: 0, data },
        { name: 'b', address: 15, data },
      ],
    ],
    [
      'overlapping regions in one DFU slot',
      [
        { name: 'a', address: 0, data, slot: 1 },
        { name: 'b', address: 0, data, slot: 1 },
      ],
    ],
  ])('planRegions refuses %s', (_name, regions) => {
    expect(() => plan(regions)).toThrow(UsageError);
  });

  it('accepts touching regions, and images in different DFU slots', () => {
    expect(() =>
      plan([
        { name: 'a', address: 0, data },
        { name: 'b', address: 16, data },
      ]),
    ).not.toThrow();
    expect(() =>
      plan([
        { name: 'a', address: 0, data, slot: 0 },
        { name: 'b', address: 0, data, slot: 1 },
      ]),
    ).not.toThrow();
  });

  it.each<[string, FlashSource, boolean]>([
    ['an unverified image without the flag', { kind: 'unverified', address: 0, data }, false],
    ['an unverified image with a bad address', { kind: 'unverified', address: -5, data }, true],
    ['an unknown kind', { kind: 'mystery' } as unknown as FlashSource, true],
    [
      'a verified source without resolve()',
      { kind: 'verified', label: 'x' } as unknown as FlashSource,
      true,
    ],
  ])('admitSource refuses %s', (_name, source, allowUnverified) => {
    expect(() => admitSource(source, { allowUnverified })).toThrow(UsageError);
  });

  it('admitSource plans an unverified image with the flag, and defers a verified one', () => {
    const p = admitSource({ kind: 'unverified', address: 0x8000, data }, { allowUnverified: true });
    expect(p).toMatchObject({ verified: false, label: 'image', totalBytes: 16 });
    const verified: FlashSource = { kind: 'verified', label: 'x', resolve: () => [] };
    expect(admitSource(verified, { allowUnverified: false })).toBeUndefined();
  });
});

describe('withDeadline', () => {
  const clock = () => new VirtualClock({ yieldToHost: setImmediate });

  it('returns the step value and leaves no timer behind', async () => {
    const c = clock();
    const v = await withDeadline(
      { clock: c, timeoutMs: 100, signal: new AbortController().signal, what: 'x' },
      async () => 7,
    );
    expect(v).toBe(7);
    expect(c.pending).toBe(0);
  });

  it('a step that ignores its signal times out after the deadline plus grace', async () => {
    const c = clock();
    const late: number[] = [];
    let finish: (v: number) => void = () => undefined;
    const p = withDeadline(
      {
        clock: c,
        timeoutMs: 100,
        graceMs: 50,
        signal: new AbortController().signal,
        what: 'Waiting',
        discard: (v) => late.push(v),
      },
      () => new Promise<number>((resolve) => (finish = resolve)),
    );
    await expect(p).rejects.toThrow(new TimeoutError('Waiting', 100).message);
    expect(c.now()).toBe(150);
    finish(3);
    await Promise.resolve();
    await Promise.resolve();
    expect(late).toEqual([3]);
  });

  it('a step that honours its signal ends at the deadline with a TimeoutError', async () => {
    const c = clock();
    const p = withDeadline(
      { clock: c, timeoutMs: 100, signal: new AbortController().signal, what: 'x' },
      (s) =>
        new Promise<void>((_r, reject) =>
          s.addEventListener('abort', () => reject(new AbortError())),
        ),
    );
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(c.now()).toBe(100);
  });

  it('the outer signal cancels with AbortError, not a timeout', async () => {
    const c = clock();
    const outer = new AbortController();
    c.setTimer(30, () => outer.abort());
    const p = withDeadline(
      { clock: c, timeoutMs: 100, signal: outer.signal, what: 'x' },
      (s) =>
        new Promise<void>((_r, reject) =>
          s.addEventListener('abort', () => reject(new Error('stopped'))),
        ),
    );
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(c.now()).toBe(30);
  });

  it('a step throwing synchronously rejects and clears its timer', async () => {
    const c = clock();
    await expect(
      withDeadline(
        { clock: c, timeoutMs: 100, signal: new AbortController().signal, what: 'x' },
        () => {
          throw new UsageError('bad');
        },
      ),
    ).rejects.toBeInstanceOf(UsageError);
    expect(c.pending).toBe(0);
  });
});

describe('recoveryAdvice', () => {
  const base = {
    phase: 'writing' as const,
    cancelled: false,
    flashTouched: true,
    protocol: 'esp-serial' as const,
  };

  it.each<[string, Parameters<typeof recoveryAdvice>[0], RegExp]>([
    [
      'cancel before writing',
      { ...base, phase: 'checking', cancelled: true, flashTouched: false, error: new AbortError() },
      /^Nothing was written/,
    ],
    [
      'cancel while writing',
      { ...base, cancelled: true, error: new AbortError() },
      /still in the bootloader; press Flash again/,
    ],
    [
      'lost mid-write',
      { ...base, error: new TransportError('transport.device-lost', 'x') },
      /Plug the board back in.*hold BOOT, press and release RESET/,
    ],
    [
      'no sync',
      {
        ...base,
        phase: 'connecting',
        flashTouched: false,
        error: new ProtocolError('protocol.no-sync', 'x'),
      },
      /^Nothing was written\. Hold BOOT/,
    ],
    [
      'port busy',
      {
        ...base,
        phase: 'connecting',
        flashTouched: false,
        error: new TransportError('transport.port-busy', 'x'),
      },
      /Close other programs/,
    ],
    [
      'wrong chip',
      {
        ...base,
        phase: 'checking',
        flashTouched: false,
        error: new ProtocolError('protocol.wrong-chip', 'x'),
      },
      /made for this board/,
    ],
    [
      'timeouts mid-write',
      { ...base, error: new TimeoutError('x', 1) },
      /still in the bootloader; press Flash again\. If it does not answer, hold BOOT/,
    ],
    [
      'verify mismatch',
      { ...base, phase: 'verifying', error: new VerificationError('x') },
      /write-protected or worn/,
    ],
    [
      'stm32 wording',
      { ...base, protocol: 'stm32-usart', error: new TimeoutError('x', 1) },
      /BOOT0 high/,
    ],
  ])('%s', (_name, ctx, expected) => {
    expect(recoveryAdvice(ctx)).toMatch(expected);
  });
});
