/**
 * The one job runner (src/job/runner.ts) and the engine's plan-check hook, against the simulated
 * STM32F4 on a simulated USB-UART link in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { UsageError } from '../../src/core/errors.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { runFlashJob } from '../../src/job/runner.ts';
import type { FlashPlan } from '../../src/job/source.ts';
import type { JobPhase, JobResult } from '../../src/job/types.ts';
import { createStm32Driver } from '../../src/protocols/stm32/driver.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { Stm32SimBoard } from '../../src/sim/stm32/board.ts';

const FLASH = 0x08000000;

function rig() {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new Stm32SimBoard({ chip: 'stm32f4', wiring: 'dtr-boot0-rts-nrst', boot0: 'low' });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed: 3 });
  const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
  const base = {
    port: wire.port!,
    connector: createStm32Driver(),
    source: { kind: 'unverified' as const, name: 'app', address: FLASH, data },
    clock,
    allowUnverified: true,
  };
  return { device, data, base };
}

const touched = (device: Stm32SimBoard): number => {
  const c = device.memory.flash.counters;
  return c.programmedBytes + c.sectorErases.reduce((a, b) => a + b, 0) + c.chipErases;
};

describe('runFlashJob', () => {
  it('runs the job, calls the listeners in order and records the result once', async () => {
    const r = rig();
    const phases: JobPhase[] = [];
    const recorded: JobResult[] = [];
    const result = await runFlashJob({
      ...r.base,
      on: { phase: (e) => phases.push(e.phase) },
      record: (res) => recorded.push(res),
    });
    expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
    expect(phases).toEqual(
      expect.arrayContaining(['connecting', 'checking', 'writing', 'verifying', 'done']),
    );
    expect(phases.indexOf('checking')).toBeLessThan(phases.indexOf('writing'));
    expect(recorded).toEqual([result]);
    expect(r.device.memory.flash.read(FLASH, r.data.length)).toEqual(r.data);
  });

  it('a plan check that refuses ends the job before anything is erased or written', async () => {
    const r = rig();
    const seen: FlashPlan[] = [];
    const recorded: JobResult[] = [];
    const result = await runFlashJob({
      ...r.base,
      checkPlan: (plan, board) => {
        seen.push(plan);
        expect(board.identity.chip).toBe('stm32f4');
        throw new UsageError('The image overlaps a kept range.');
      },
      record: (res) => recorded.push(res),
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('usage.invalid-argument');
    expect(result.error.message).toBe('The image overlaps a kept range.');
    expect(result.flashTouched).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.regions.map((x) => [x.name, x.address, x.data.length])).toEqual([
      ['app', FLASH, r.data.length],
    ]);
    expect(touched(r.device)).toBe(0);
    expect(recorded).toEqual([result]);
  });

  it('a failure to record is logged and leaves the result as it was', async () => {
    const r = rig();
    const lines: LogEntry[] = [];
    const result = await runFlashJob({
      ...r.base,
      logger: createLogger(
        (e) => lines.push(e),
        () => 0,
      ),
      record: () => Promise.reject(new Error('disk full')),
    });
    expect(result.ok).toBe(true);
    expect(
      lines.some((l) => l.level === 'error' && /Could not record.*disk full/.test(l.message)),
    ).toBe(true);
  });
});
