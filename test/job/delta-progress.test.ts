/**
 * Progress of a delta update through the engine, against the in-memory FakeSession in virtual
 * time: the comparison before each region's write is a phase of its own ('comparing') with the
 * session's compared bytes, and every phase's progress only grows and ends at 100 %.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/core/errors.ts';
import type { ProgressEvent, TransferPhase } from '../../src/job/types.ts';
import { defaultRegions, harness } from './harness.ts';

type Harness = ReturnType<typeof harness>;

/** The board already holds the bootloader (4 blocks of 1 KiB); the app (10 blocks) is new. */
function withBootloaderInstalled(h: Harness): void {
  const boot = defaultRegions[0]!;
  h.session.flash.set(boot.data, boot.address);
}

function byPhase(events: readonly ProgressEvent[]): Map<TransferPhase, ProgressEvent[]> {
  const out = new Map<TransferPhase, ProgressEvent[]>();
  for (const p of events) out.set(p.phase, [...(out.get(p.phase) ?? []), p]);
  return out;
}

/** Progress in each phase never goes back and ends at 100 %. */
function expectMonotonicToFull(events: readonly ProgressEvent[], phases: TransferPhase[]): void {
  const grouped = byPhase(events);
  expect([...grouped.keys()].sort()).toEqual([...phases].sort());
  for (const [phase, list] of grouped) {
    for (let i = 1; i < list.length; i++) {
      expect(list[i]!.bytesDone, `${phase} #${i}`).toBeGreaterThanOrEqual(list[i - 1]!.bytesDone);
    }
    expect(list.at(-1)!.percent, phase).toBe(100);
  }
}

const phasesOf = (h: Harness) => h.events.phase.map((e) => e.phase);

describe('delta update progress (engine + FakeSession)', () => {
  it('compares each region before writing it, with progress that grows to 100 % in every phase', async () => {
    const h = harness({ session: { withDelta: true } });
    withBootloaderInstalled(h);
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(result.ok && result.delta).toEqual({ unchanged: 4, total: 14 });
    expect(h.session.calls.slice(0, 4)).toEqual([
      'compare:bootloader',
      'compare:app',
      'write:app',
      'verify:bootloader',
    ]);
    expect(phasesOf(h)).toEqual([
      'connecting',
      'identifying',
      'checking',
      'comparing',
      'writing',
      'comparing',
      'writing',
      'verifying',
      'resetting',
      'done',
    ]);
    expectMonotonicToFull(h.events.progress, ['comparing', 'writing', 'verifying']);

    // The session's own reports, block by block, over both regions' bytes.
    const compared = h.events.progress.filter((p) => p.phase === 'comparing');
    const total = defaultRegions.reduce((n, r) => n + r.data.length, 0);
    expect(compared.every((p) => p.bytesTotal === total)).toBe(true);
    expect(new Set(compared.map((p) => p.bytesDone))).toEqual(
      new Set(Array.from({ length: 14 }, (_, i) => (i + 1) * 1024)),
    );
    // Each region is compared to its end before its first byte is written.
    const seq = h.events.progress.map((p) => `${p.phase}:${p.region}`);
    for (const r of defaultRegions) {
      const lastCompare = seq.lastIndexOf(`comparing:${r.name}`);
      expect(lastCompare).toBeGreaterThanOrEqual(0);
      expect(h.events.progress[lastCompare]!.regionBytesDone).toBe(r.data.length);
      expect(seq.indexOf(`writing:${r.name}`)).toBeGreaterThan(lastCompare);
    }
  });

  it('the comparing phase has its rate and time left, measured in its own time', async () => {
    const h = harness({ session: { withDelta: true } });
    await h.job.run();
    const compared = h.events.progress.filter((p) => p.phase === 'comparing');
    const last = compared.at(-1)!;
    // 1 KiB per 25 ms of virtual time; the writing between the two regions is not counted.
    expect(last.bytesPerSecond).toBeCloseTo(1024 / 0.025, 6);
    expect(last.etaMs).toBe(0);
    const before = compared[compared.findIndex((p) => p.percent === 100) - 1]!;
    expect(before.etaMs).toBeCloseTo(((last.bytesTotal - before.bytesDone) / 1024) * 25, 6);
  });

  it('regions the session does not compare count as compared once it says so', async () => {
    const h = harness({ session: { withDelta: 'decline' } });
    withBootloaderInstalled(h);
    const result = await h.job.run();
    expect(result.ok && result.delta).toBeUndefined();
    expect(h.session.calls.slice(0, 4)).toEqual([
      'compare:bootloader',
      'write:bootloader',
      'compare:app',
      'write:app',
    ]);
    expectMonotonicToFull(h.events.progress, ['comparing', 'writing', 'verifying']);
    const compared = h.events.progress.filter((p) => p.phase === 'comparing');
    expect(compared.map((p) => p.regionBytesDone)).toEqual(
      defaultRegions.map((r) => r.data.length),
    );
  });

  it('a comparison that times out: the region counts as compared and is written in full', async () => {
    const h = harness({
      session: {
        withDelta: true,
        faults: [
          {
            op: 'compare',
            region: 'app',
            atByte: 5 * 1024,
            error: () => new TimeoutError('MD5', 100),
          },
        ],
      },
    });
    withBootloaderInstalled(h);
    const result = await h.job.run();
    expect(result.ok).toBe(true);
    expect(result.ok && result.regions.map((r) => r.delta)).toEqual([
      { unchanged: 4, total: 4 },
      undefined,
    ]);
    expect(h.session.calls).toContain('resync');
    expect(h.session.writes).toEqual([{ region: 'app', resumeFrom: 0 }]);
    expectMonotonicToFull(h.events.progress, ['comparing', 'writing', 'verifying']);
    const app = h.events.progress.filter((p) => p.phase === 'comparing' && p.region === 'app');
    expect(app.map((p) => p.regionBytesDone)).toEqual([1, 2, 3, 4, 5, 10].map((k) => k * 1024));
  });

  it('cancelled while comparing: nothing was written, and the recovery says so', async () => {
    const controller = new AbortController();
    const h = harness({ session: { withDelta: true }, signal: controller.signal });
    h.job.on('progress', (p) => {
      if (p.phase === 'comparing' && p.regionBytesDone >= 2048) controller.abort();
    });
    const result = await h.job.run();
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.cancelled).toBe(true);
      expect(result.phase).toBe('comparing');
      expect(result.flashTouched).toBe(false);
      expect(result.recovery).toMatch(/^Nothing was written\./);
    }
    expect(h.session.writes).toEqual([]);
  });
});

describe('delta update retries', () => {
  /**
   * The board holds app blocks 1 and 4 (1 KiB each): the app is written in three parts of 1, 2
   * and 5 blocks, and each part fails once, in a block only it has.
   */
  function threeParts(settings: { maxAttemptsTotal: number }) {
    const faults = [0, 1024, 2048].map((atByte) => ({
      op: 'write' as const,
      region: 'app',
      atByte,
      error: () => new TimeoutError('FLASH_DATA', 3000),
    }));
    const h = harness({ settings, session: { withDelta: true, faults } });
    const app = defaultRegions[1]!;
    for (const at of [1024, 4096])
      h.session.flash.set(app.data.subarray(at, at + 1024), app.address + at);
    return h;
  }

  it('maxAttemptsTotal bounds a region written in parts as a whole, not each part', async () => {
    // Each part fails once and is resumed: four attempts on the app in all.
    const enough = threeParts({ maxAttemptsTotal: 4 });
    const result = await enough.job.run();
    expect(result.ok).toBe(true);
    expect(result.ok && result.regions[1]!.attempts).toBe(4);
    expect(enough.events.retry.map((e) => e.attempt)).toEqual([2, 3, 4]);

    const capped = threeParts({ maxAttemptsTotal: 3 });
    const r = await capped.job.run();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('timeout');
    expect(capped.events.retry.map((e) => e.attempt)).toEqual([2, 3]);
  });
});
