import { describe, expect, it } from 'vitest';
import {
  AbortError,
  FramingError,
  ProtocolError,
  TimeoutError,
  TransportError,
  UsageError,
  WebflashError,
} from '../../src/core/errors.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import type { JobFailure, JobPhase } from '../../src/job/types.ts';
import type { Fault } from './fake-session.ts';
import { defaultRegions, harness, pattern, verifiedSource } from './harness.ts';

function flashHolds(session: { flash: Uint8Array }, regions = defaultRegions): boolean {
  return regions.every((r) =>
    equalBytes(session.flash.subarray(r.address, r.address + r.data.length), r.data),
  );
}

function failed(result: unknown): JobFailure {
  const r = result as JobFailure;
  expect(r.ok).toBe(false);
  return r;
}

describe('FlashJob: a clean run', () => {
  it('emits phases, device and result in order, writes and verifies every region, closes', async () => {
    const h = harness();
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.order).toEqual([
      'phase:connecting',
      'phase:identifying',
      'device',
      'phase:checking',
      'phase:writing',
      'phase:verifying',
      'phase:resetting',
      'phase:done',
      'result',
    ]);
    expect(flashHolds(h.session)).toBe(true);
    expect(h.session.calls).toEqual([
      'write:bootloader',
      'write:app',
      'verify:bootloader',
      'verify:app',
      'reset',
      'close',
    ]);
    expect(h.session.closeCount).toBe(1);
    const source = h.source as ReturnType<typeof verifiedSource>;
    expect(source.resolved.map((b) => b.identity.chip)).toEqual(['esp32s3']);
    expect(source.resolved[0]!.port).toBeUndefined();
    expect(source.written).toBe(1);
    if (result.ok) {
      expect(result.regions.map((r) => [r.name, r.attempts, r.verified])).toEqual([
        ['bootloader', 1, true],
        ['app', 1, true],
      ]);
      expect(result.identity.chip).toBe('esp32s3');
      // 200 ms connect + 14 blocks × 100 ms write + 14 × 25 ms verify.
      expect(result.durationMs).toBe(200 + 1400 + 350);
      expect(result.notice).toBeUndefined();
    }
    expect(h.events.result).toHaveLength(1);
    expect(h.job.phase).toBe('done');
    expect(
      h.events.log.some(
        (l) => l.source === 'engine' && l.message.includes('Release: test firmware'),
      ),
    ).toBe(true);
  });

  it('reports progress that never decreases and ends at 100 % in each phase', async () => {
    const h = harness();
    await h.job.run();
    for (const phase of ['writing', 'verifying'] as const) {
      const ps = h.events.progress.filter((p) => p.phase === phase);
      expect(ps.length).toBe(14);
      for (let i = 1; i < ps.length; i++) {
        expect(ps[i]!.bytesDone).toBeGreaterThanOrEqual(ps[i - 1]!.bytesDone);
        expect(ps[i]!.percent).toBeGreaterThanOrEqual(ps[i - 1]!.percent);
      }
      const last = ps.at(-1)!;
      expect(last.percent).toBe(100);
      expect(last.bytesDone).toBe(14 * 1024);
      expect(last.etaMs).toBe(0);
      expect(last.region).toBe('app');
      expect(last.regionIndex).toBe(1);
      expect(last.regionCount).toBe(2);
      expect(last.regionBytesDone).toBe(10 * 1024);
    }
  });

  it('measures rate and ETA exactly in virtual time', async () => {
    const h = harness();
    await h.job.run();
    const writes = h.events.progress.filter((p) => p.phase === 'writing');
    // 1024 bytes every 100 ms of virtual time: exactly 10240 B/s throughout.
    for (const p of writes) {
      expect(p.bytesPerSecond).toBe(10240);
      expect(p.etaMs).toBe(((14 * 1024 - p.bytesDone) / 10240) * 1000);
    }
    const verifies = h.events.progress.filter((p) => p.phase === 'verifying');
    for (const p of verifies) expect(p.bytesPerSecond).toBe(40960);
  });

  it('passes the baud rate, clock and a logger to the connector', async () => {
    const h = harness({ settings: { baudRate: 921600 } });
    await h.job.run();
    expect(h.connector.lastOptions?.baudRate).toBe(921600);
    expect(h.connector.lastOptions?.clock).toBe(h.clock);
  });

  it('reads the installed firmware and hands it to the source before writing', async () => {
    const source = verifiedSource();
    const h = harness({ source, session: { installed: { project: 'blink', securityVersion: 2 } } });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(source.resolved.map((b) => b.installed)).toEqual([
      { project: 'blink', securityVersion: 2 },
    ]);
    expect(h.events.installed).toEqual([{ project: 'blink', securityVersion: 2 }]);
  });

  it('skips verify and reset when told to', async () => {
    const h = harness({ settings: { verify: false, reset: false } });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.calls).toEqual(['write:bootloader', 'write:app', 'close']);
    expect((h.source as ReturnType<typeof verifiedSource>).written).toBe(1);
    expect(h.events.phase.map((p) => p.phase)).not.toContain('verifying');
  });

  it('refuses to run twice', async () => {
    const h = harness();
    await h.job.run();
    await expect(h.job.run()).rejects.toBeInstanceOf(UsageError);
  });
});

describe('FlashJob: checks before writing', () => {
  it('a target mismatch stops the job before any write', async () => {
    const h = harness({ source: verifiedSource(defaultRegions, 'esp32c3') });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('protocol.wrong-chip');
    expect(r.phase).toBe('checking');
    expect(r.flashTouched).toBe(false);
    expect(r.recovery).toMatch(/^Nothing was written/);
    expect(h.session.writes).toEqual([]);
    expect(h.session.calls).toEqual(['close']);
    expect(h.job.phase).toBe('failed');
  });

  it('a failed rollback check stops the job before any write', async () => {
    const source = {
      ...verifiedSource(),
      resolve: async () => {
        await Promise.resolve();
        throw new WebflashError('bundle.rejected', 'This would install an older security version.');
      },
    };
    const h = harness({ source, session: { installed: { securityVersion: 5 } } });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('bundle.rejected');
    expect(h.session.writes).toEqual([]);
  });

  it('a check that throws a plain Error becomes a bundle rejection', async () => {
    const source = {
      ...verifiedSource(),
      resolve: () => {
        throw new Error('boom');
      },
    };
    const h = harness({ source });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('bundle.rejected');
    expect(h.session.writes).toEqual([]);
  });

  it('regions a source resolves to are checked before any write', async () => {
    const overlapping = [
      { name: 'a', address: 0x1000, data: pattern(100, 1) },
      { name: 'b', address: 0x1010, data: pattern(100, 2) },
    ];
    const h = harness({ source: verifiedSource(overlapping) });
    const r = failed(await h.job.run());
    expect(r.error).toBeInstanceOf(UsageError);
    expect(r.phase).toBe('checking');
    expect(h.session.writes).toEqual([]);
  });

  it('a failure to record the release is logged, not fatal', async () => {
    const source = {
      ...verifiedSource(),
      onWritten: () => Promise.reject(new Error('storage full')),
    };
    const h = harness({ source });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(
      h.events.log.some((l) => l.level === 'error' && l.message.includes('storage full')),
    ).toBe(true);
  });

  it('refuses an unverified image unless the development flag is set, without touching the port', async () => {
    const source = { kind: 'unverified' as const, address: 0x10000, data: pattern(3000, 9) };
    const refused = harness({ source });
    const r = failed(await refused.job.run());
    expect(r.error).toBeInstanceOf(UsageError);
    expect(r.phase).toBe('idle');
    expect(refused.connector.connects).toBe(0);
    expect(refused.session.calls).toEqual([]);

    const allowed = harness({ source, allowUnverified: true });
    const ok = await allowed.job.run();
    expect(ok.ok).toBe(true);
    expect(allowed.session.writes).toEqual([{ region: 'image', resumeFrom: 0 }]);
    expect(
      allowed.events.log.some((l) => l.level === 'warn' && /unverified/i.test(l.message)),
    ).toBe(true);
  });

  it('a failing installed-firmware read after a timeout is logged and skipped', async () => {
    const h = harness({
      session: {
        installed: { project: 'x' },
        faults: [{ op: 'readInstalled', error: () => new TimeoutError('READ_FLASH', 3000) }],
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.calls.slice(0, 2)).toEqual(['readInstalled', 'resync']);
  });
});

describe('FlashJob: retries', () => {
  it('after a timeout it resyncs and resumes from the confirmed bytes', async () => {
    const h = harness({
      session: {
        faults: [
          {
            op: 'write',
            region: 'app',
            atByte: 4096,
            error: () => new TimeoutError('FLASH_DATA', 3000),
          },
        ],
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.writes).toEqual([
      { region: 'bootloader', resumeFrom: 0 },
      { region: 'app', resumeFrom: 0 },
      { region: 'app', resumeFrom: 4096 },
    ]);
    expect(h.session.calls.filter((c) => c === 'resync')).toHaveLength(1);
    expect(h.events.retry).toHaveLength(1);
    const retry = h.events.retry[0]!;
    expect(retry).toMatchObject({
      region: 'app',
      phase: 'writing',
      attempt: 2,
      maxAttempts: 3,
      maxAttemptsTotal: 10,
      attemptsWithoutProgress: 1,
      resumeFrom: 4096,
      delayMs: 250,
    });
    expect(retry.error).toBeInstanceOf(TimeoutError);
    expect(flashHolds(h.session)).toBe(true);
    if (result.ok) {
      expect(result.regions[1]!.attempts).toBe(2);
      // Clean run time + 250 ms backoff + 50 ms resync; the resumed write skips no block twice.
      expect(result.durationMs).toBe(200 + 1400 + 350 + 250 + 50);
    }
    const app = h.events.progress.filter((p) => p.phase === 'writing' && p.region === 'app');
    expect(app.map((p) => p.attempt)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    for (let i = 1; i < app.length; i++)
      expect(app[i]!.bytesDone).toBeGreaterThanOrEqual(app[i - 1]!.bytesDone);
  });

  it('resumes at a block boundary but never reports progress going back', async () => {
    // The driver confirms 4000 bytes (not a block boundary): it restarts at 3072.
    const h = harness({
      session: {
        faults: [
          {
            op: 'write',
            region: 'app',
            atByte: 4096,
            bare: true,
            error: () =>
              Object.assign(new FramingError('framing.invalid', 'bad SLIP escape'), {
                confirmedBytes: 4000,
              }),
          },
        ],
      },
    });
    await h.job.run();
    expect(h.session.writes.at(-1)).toEqual({ region: 'app', resumeFrom: 4000 });
    const ps = h.events.progress.filter((p) => p.phase === 'writing');
    for (let i = 1; i < ps.length; i++)
      expect(ps[i]!.bytesDone).toBeGreaterThanOrEqual(ps[i - 1]!.bytesDone);
  });

  it.each([
    ['a timeout', () => new TimeoutError('FLASH_DATA', 3000)],
    ['a framing error', () => new FramingError('framing.invalid', 'bad frame')],
    ['a garbled reply', () => new ProtocolError('protocol.bad-reply', 'reply for another command')],
    [
      'a driver-marked retryable status',
      () =>
        Object.assign(new ProtocolError('protocol.command-failed', 'bad checksum'), {
          retryable: true,
        }),
    ],
  ])('retries %s at most maxAttempts times, then fails', async (_name, error) => {
    const h = harness({
      settings: { maxAttempts: 3 },
      session: { faults: [{ op: 'write', region: 'app', atByte: 2048, error, repeat: true }] },
    });
    const r = failed(await h.job.run());
    expect(h.session.writes.filter((w) => w.region === 'app')).toHaveLength(3);
    expect(h.events.retry.map((e) => [e.attempt, e.delayMs])).toEqual([
      [2, 250],
      [3, 500],
    ]);
    expect(r.phase).toBe('writing');
    expect(r.flashTouched).toBe(true);
    expect(r.recovery).toContain('still in the bootloader; press Flash again');
    expect(r.recovery).toContain('hold BOOT');
    expect(h.session.closed).toBe(true);
  });

  it.each([
    [
      'device lost',
      () => new TransportError('transport.device-lost', 'The device was disconnected'),
    ],
    ['wrong chip', () => new ProtocolError('protocol.wrong-chip', 'not this chip')],
    ['read-protected', () => new ProtocolError('protocol.read-protected', 'RDP is set')],
    [
      'command failed',
      () => new ProtocolError('protocol.command-failed', 'flash write error', { status: 0x06 }),
    ],
    ['marked not retryable', () => Object.assign(new TimeoutError('x', 1), { retryable: false })],
    ['a plain Error', () => new Error('bug')],
  ])('does not retry a fatal error: %s', async (_name, error) => {
    const h = harness({
      session: { faults: [{ op: 'write', region: 'app', atByte: 5000, error }] },
    });
    const r = failed(await h.job.run());
    expect(h.session.writes.filter((w) => w.region === 'app')).toHaveLength(1);
    expect(h.session.calls).not.toContain('resync');
    expect(h.events.retry).toEqual([]);
    expect(r.cancelled).toBe(false);
    expect(h.session.closed).toBe(true);
  });

  it('says where the board was lost and how to get it back', async () => {
    const h = harness({
      session: {
        faults: [
          {
            op: 'write',
            region: 'app',
            atByte: 4500,
            error: () => new TransportError('transport.device-lost', 'lost'),
          },
        ],
      },
    });
    const r = failed(await h.job.run());
    // 4 of 10 blocks confirmed: 40 %.
    expect(r.error.message).toBe('The board was disconnected while writing app at 40 %.');
    expect(r.error.code).toBe('transport.device-lost');
    expect(r.error.cause).toBeInstanceOf(TransportError);
    expect(r.recovery).toMatch(/Plug the board back in and press Flash again/);
  });

  it('when the board does not answer a resync, it connects again and resumes', async () => {
    const h = harness({
      session: {
        faults: [
          {
            op: 'write',
            region: 'app',
            atByte: 5120,
            error: () => new TimeoutError('FLASH_DEFL_DATA', 3000),
          },
          { op: 'resync', error: () => new TimeoutError('SYNC', 100) },
        ],
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.connector.connects).toBe(2);
    expect(h.session.calls.slice(2, 6)).toEqual(['resync', 'close', 'open', 'write:app']);
    expect(h.session.writes.at(-1)).toEqual({ region: 'app', resumeFrom: 5120 });
    expect(flashHolds(h.session)).toBe(true);
    expect(h.events.log.some((l) => l.message.startsWith('Connected again'))).toBe(true);
  });

  it('after a reconnect that failed, the next attempt connects again and resumes', async () => {
    const h = harness({
      session: {
        faults: [
          { op: 'write', region: 'app', atByte: 4096, error: () => new TimeoutError('x', 1) },
          { op: 'resync', error: () => new ProtocolError('protocol.no-sync', 'no answer') },
        ],
      },
      connect: { failOn: [2] },
    });
    const result = await h.job.run();
    expect(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`).toBe(true);
    expect(h.connector.connects).toBe(3);
    // Attempt 2 ended in its failed reconnect; attempt 3 connected again and resumed.
    expect(h.session.writes.filter((w) => w.region === 'app').map((w) => w.resumeFrom)).toEqual([
      0, 4096,
    ]);
    expect(flashHolds(h.session)).toBe(true);
  });

  it('a different board answering the reconnect stops the job', async () => {
    const h = harness({
      session: {
        identity: { uniqueId: '24:6f:28:01:02:03' },
        faults: [
          { op: 'write', region: 'app', atByte: 0, error: () => new TimeoutError('x', 1) },
          { op: 'resync', error: () => new ProtocolError('protocol.no-sync', 'no answer') },
        ],
      },
      connect: { identityOnReconnect: { uniqueId: '24:6f:28:99:99:99' } },
    });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('protocol.wrong-chip');
    expect(r.error.message).toMatch(/A different board answered/);
    expect(h.session.writes.filter((w) => w.region === 'app')).toHaveLength(1);
  });

  it('keeps going while attempts make progress, up to maxAttemptsTotal', async () => {
    const faults: Fault[] = [1, 2, 3, 4, 5, 6].map((k) => ({
      op: 'write',
      region: 'app',
      atByte: k * 1024,
      error: () => new TimeoutError('FLASH_DATA', 3000),
    }));
    const ok = harness({ session: { faults: faults.map((f) => ({ ...f })) } });
    const result = await ok.job.run();
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.regions[1]!.attempts).toBe(7);
    expect(ok.events.retry.map((e) => [e.attempt, e.attemptsWithoutProgress, e.delayMs])).toEqual([
      [2, 1, 250],
      [3, 1, 250],
      [4, 1, 250],
      [5, 1, 250],
      [6, 1, 250],
      [7, 1, 250],
    ]);

    const capped = harness({
      settings: { maxAttemptsTotal: 4 },
      session: { faults: faults.map((f) => ({ ...f })) },
    });
    const r = failed(await capped.job.run());
    expect(r.error.code).toBe('timeout');
    expect(capped.session.writes.filter((w) => w.region === 'app')).toHaveLength(4);
  });

  it('a verify that keeps timing out further on resumes where it got, and that is progress', async () => {
    const timeout = () => new TimeoutError('READ_PAGE', 1000);
    const h = harness({
      session: {
        faults: [2048, 5120, 8192].map((atByte) => ({
          op: 'verify' as const,
          region: 'app',
          atByte,
          error: timeout,
        })),
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.verifies.filter((v) => v.region === 'app').map((v) => v.resumeFrom)).toEqual([
      0, 2048, 5120, 8192,
    ]);
    expect(h.events.retry.map((r) => r.resumeFrom)).toEqual([2048, 5120, 8192]);
  });

  it('a verify timeout is retried after resync', async () => {
    const h = harness({
      session: {
        faults: [
          { op: 'verify', region: 'app', error: () => new TimeoutError('SPI_FLASH_MD5', 8000) },
        ],
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.calls.filter((c) => c === 'verify:app')).toHaveLength(2);
    expect(h.events.retry[0]).toMatchObject({ phase: 'verifying', region: 'app', attempt: 2 });
  });

  it('a verify mismatch rewrites the region once, then verifies again', async () => {
    const h = harness({ session: { faults: [{ op: 'verify', region: 'app', corrupt: true }] } });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.calls).toEqual([
      'write:bootloader',
      'write:app',
      'verify:bootloader',
      'verify:app',
      'write:app',
      'verify:app',
      'reset',
      'close',
    ]);
    expect(h.session.writes.at(-1)).toEqual({ region: 'app', resumeFrom: 0 });
    expect(h.events.phase.map((p) => p.phase)).toEqual([
      'connecting',
      'identifying',
      'checking',
      'writing',
      'verifying',
      'writing',
      'verifying',
      'resetting',
      'done',
    ]);
    if (result.ok) expect(result.regions[1]!.attempts).toBe(2);
  });

  it('a mismatch that persists after the rewrite fails the job', async () => {
    const h = harness({
      session: {
        faults: [{ op: 'verify', region: 'app', atByte: 0, corrupt: true, repeat: true }],
      },
    });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('verify.mismatch');
    expect(r.phase).toBe('verifying');
    expect(r.recovery).toContain('press Flash again');
    expect(h.session.calls.filter((c) => c === 'write:app')).toHaveLength(2);
  });
});

describe('FlashJob: deadlines', () => {
  it('a connect that never answers ends with a TimeoutError at the connect deadline', async () => {
    const h = harness({ connect: { hang: true }, settings: { timeouts: { connect: 5000 } } });
    const r = failed(await h.job.run());
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect(r.phase).toBe('connecting');
    expect(r.recovery).toMatch(/^Nothing was written\. Hold BOOT/);
    // The deadline plus the grace period the step gets to wind down.
    expect(r.durationMs).toBe(5000 + 1000);
  });

  it('a write that hangs, ignoring its signal, is cut off by the watchdog and retried', async () => {
    const h = harness({
      settings: { timeouts: { transferBase: 2000, transferFactor: 1 } },
      session: {
        faults: [
          { op: 'write', region: 'bootloader', atByte: 1024, hang: true, ignoreSignal: true },
        ],
      },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.events.retry[0]?.error).toBeInstanceOf(TimeoutError);
    expect(h.session.writes.slice(0, 2)).toEqual([
      { region: 'bootloader', resumeFrom: 0 },
      { region: 'bootloader', resumeFrom: 0 },
    ]);
  });

  it('a reset that fails leaves a success with a notice', async () => {
    const h = harness({
      session: { faults: [{ op: 'reset', error: () => new TimeoutError('reset', 100) }] },
    });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.notice).toMatch(/did not restart by itself/);
  });

  it('a board leaving the bus on reset is a normal restart', async () => {
    const h = harness({
      session: {
        faults: [{ op: 'reset', error: () => new TransportError('transport.device-lost', 'gone') }],
      },
    });
    const result = await h.job.run();
    expect(result.ok && result.notice).toBe(undefined);
  });
});

describe('FlashJob: erase mode', () => {
  it('"all" erases the chip first when the session can', async () => {
    const h = harness({ settings: { eraseMode: 'all' }, session: { withEraseAll: true } });
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(h.session.calls[0]).toBe('eraseAll');
    expect(h.events.phase.map((p) => p.phase).slice(0, 5)).toEqual([
      'connecting',
      'identifying',
      'checking',
      'erasing',
      'writing',
    ]);
  });

  it('"all" is refused before writing when the session cannot', async () => {
    const h = harness({ settings: { eraseMode: 'all' } });
    const r = failed(await h.job.run());
    expect(r.error.code).toBe('protocol.unsupported');
    expect(h.session.writes).toEqual([]);
  });
});

describe('FlashJob: cancel', () => {
  const phases: JobPhase[] = [
    'connecting',
    'identifying',
    'checking',
    'writing',
    'verifying',
    'resetting',
  ];

  it.each(phases)(
    'abort on entering %s closes the session and reports cancelled',
    async (phase) => {
      const controller = new AbortController();
      const h = harness({ signal: controller.signal, session: { installed: { project: 'p' } } });
      h.job.on('phase', (e) => {
        if (e.phase === phase) controller.abort();
      });
      const r = failed(await h.job.run());
      expect(r.cancelled).toBe(true);
      expect(r.error).toBeInstanceOf(AbortError);
      expect(r.phase).toBe(phase);
      expect(h.job.phase).toBe('cancelled');
      expect(h.events.phase.at(-1)?.phase).toBe('cancelled');
      // connect had not returned a session yet when cancelled while connecting.
      expect(h.session.closeCount).toBe(phase === 'connecting' ? 0 : 1);
      expect(h.session.active).toBe(0);
      expect(h.session.calls).not.toContain('reset');
      const firstWrite = h.session.calls.indexOf('write:bootloader');
      if (['connecting', 'identifying', 'checking'].includes(phase)) {
        expect(firstWrite).toBe(-1);
        expect(r.recovery).toMatch(/^Nothing was written/);
      } else {
        expect(r.recovery).toMatch(/incomplete/);
      }
    },
  );

  it('abort in the middle of a write stops at once and leaves nothing running', async () => {
    const controller = new AbortController();
    const h = harness({ signal: controller.signal });
    h.job.on('progress', (p) => {
      if (p.region === 'app' && p.regionBytesDone === 3072) controller.abort();
    });
    const r = failed(await h.job.run());
    expect(r.cancelled).toBe(true);
    expect(r.phase).toBe('writing');
    expect(h.session.closed).toBe(true);
    expect(h.session.active).toBe(0);
    expect(h.events.progress.at(-1)?.regionBytesDone).toBe(3072);
    expect(h.clock.pending).toBe(0);
  });

  it('abort while a write ignores its signal still ends after the grace period and closes', async () => {
    const controller = new AbortController();
    const h = harness({
      signal: controller.signal,
      session: {
        faults: [{ op: 'write', region: 'app', atByte: 0, hang: true, ignoreSignal: true }],
      },
    });
    h.job.on('phase', (e) => {
      if (e.phase === 'writing') h.clock.setTimer(700, () => controller.abort());
    });
    const r = failed(await h.job.run());
    expect(r.cancelled).toBe(true);
    expect(h.session.closed).toBe(true);
  });

  it('a signal aborted before run never touches the port', async () => {
    const controller = new AbortController();
    controller.abort();
    const h = harness({ signal: controller.signal });
    const r = failed(await h.job.run());
    expect(r.cancelled).toBe(true);
    expect(h.connector.connects).toBe(0);
  });

  it('abort during the retry pause is not retried further', async () => {
    const controller = new AbortController();
    const h = harness({
      signal: controller.signal,
      session: {
        faults: [
          { op: 'write', region: 'app', atByte: 1024, error: () => new TimeoutError('x', 1) },
        ],
      },
    });
    h.job.on('retry', () => controller.abort());
    const r = failed(await h.job.run());
    expect(r.cancelled).toBe(true);
    expect(h.session.calls).not.toContain('resync');
  });
});
