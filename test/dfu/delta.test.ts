/**
 * Delta updates on the DfuSe driver under the engine, against the simulated STM32F405
 * bootloader in virtual time: UPLOAD-compare per sector before erasing it. What was erased is
 * read from the simulated flash's counters.
 */
import { describe, expect, it } from 'vitest';
import { runFlashJob, type JobResult, type JobSettings } from '../../src/job/index.ts';
import type { JobListeners } from '../../src/job/runner.ts';
import { connectDfuse } from '../../src/protocols/dfu/dfuse-driver.ts';
import { STM32L476_DFUSE } from '../../src/sim/dfu/dfuse-sim.ts';
import { dfuseRig, pattern } from './rig.ts';

const FLASH = 0x08000000;
type Rig = Awaited<ReturnType<typeof dfuseRig>>;

function flash(
  rig: Rig,
  data: Uint8Array,
  settings: JobSettings = {},
  on: JobListeners = {},
): Promise<JobResult> {
  return runFlashJob({
    on,
    port: rig.handle,
    connector: { id: 'dfuse', connect: connectDfuse },
    source: { kind: 'unverified', name: 'app', address: FLASH, data },
    clock: rig.clock,
    allowUnverified: true,
    settings: { reset: false, ...settings },
  });
}

function erasedSince(rig: Rig, before: readonly number[]): number[] {
  const out: number[] = [];
  rig.device.flash.counters.sectorErases.forEach((n, i) => {
    if (n > (before[i] ?? 0)) out.push(i);
  });
  return out;
}

// 256 KiB on the F405: sectors 0–3 (16 KiB), 4 (64 KiB), 5 (128 KiB).
const image = pattern(256 * 1024, 9);

describe('DfuSe delta updates', () => {
  it('an identical image is not erased or written again', async () => {
    const rig = await dfuseRig();
    rig.device.flash.load(FLASH, image);
    const before = [...rig.device.flash.counters.sectorErases];
    const programs = rig.device.flash.counters.programOps;
    const result = await flash(rig, image);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erasedSince(rig, before)).toEqual([]);
    expect(rig.device.flash.counters.programOps).toBe(programs);
    expect(result.ok && result.delta).toEqual({ unchanged: 6, total: 6 });
  });

  it('a change in two sectors erases and writes only those', async () => {
    const rig = await dfuseRig();
    rig.device.flash.load(FLASH, image);
    const update = image.slice();
    update[0x4000 + 10] = update[0x4000 + 10]! ^ 0xff; // sector 1
    update[0x30000] = update[0x30000]! ^ 0xff; // sector 5
    const before = [...rig.device.flash.counters.sectorErases];
    const result = await flash(rig, update);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erasedSince(rig, before)).toEqual([1, 5]);
    expect(rig.device.flash.read(FLASH, update.length)).toEqual(update);
    expect(result.ok && result.delta).toEqual({ unchanged: 4, total: 6 });
  });

  it('the UPLOAD-compare reports each block read, through every sector, before any erase', async () => {
    const rig = await dfuseRig();
    rig.device.flash.load(FLASH, image);
    const update = image.slice();
    update[0x30000] = update[0x30000]! ^ 0xff; // sector 5
    const erases = () => rig.device.flash.counters.sectorErases.reduce((n, k) => n + k, 0);
    const start = erases();
    const seen = new Set<number>();
    const compared: number[] = [];
    const result = await flash(
      rig,
      update,
      {},
      {
        progress: (p) => {
          if (p.phase !== 'comparing') return;
          seen.add(erases());
          compared.push(p.regionBytesDone);
        },
      },
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect([...seen]).toEqual([start]);
    expect(erases()).toBe(start + 1);
    for (let i = 1; i < compared.length; i++) {
      expect(compared[i]).toBeGreaterThanOrEqual(compared[i - 1]!);
    }
    expect(compared.at(-1)).toBe(image.length);
    // Sector ends (16, 32, 48, 64, 128 KiB) are passed on the way, with steps of one
    // transfer block inside each sector, not one jump per sector.
    for (const end of [16, 32, 48, 64, 128].map((k) => k * 1024)) {
      expect(compared).toContain(end);
    }
    const steps = new Set(compared.slice(1).map((d, i) => d - compared[i]!));
    expect(Math.max(...steps)).toBeLessThanOrEqual(2048);
  });

  it('a sector covered in part is rewritten when bytes past the image are not erased', async () => {
    const rig = await dfuseRig();
    const short = image.subarray(0, 20 * 1024); // sector 0, and sector 1 in part
    rig.device.flash.load(FLASH, image.subarray(0, 32 * 1024));
    const before = [...rig.device.flash.counters.sectorErases];
    const result = await flash(rig, short);
    expect(result.ok && result.delta).toEqual({ unchanged: 1, total: 2 });
    expect(erasedSince(rig, before)).toEqual([1]);
    expect(rig.device.flash.isErased(FLASH + short.length, 32 * 1024 - short.length)).toBe(true);
  });

  it('delta off writes every sector', async () => {
    const rig = await dfuseRig();
    const data = image.subarray(0, 64 * 1024);
    rig.device.flash.load(FLASH, data);
    const before = [...rig.device.flash.counters.sectorErases];
    const result = await flash(rig, data, { delta: false });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(result.ok && result.delta).toBeUndefined();
    expect(erasedSince(rig, before)).toEqual([0, 1, 2, 3]);
  });

  it('STM32L476 (2 KiB pages): a 5 % spread change erases and writes only the changed pages', async () => {
    const rig = await dfuseRig({ chip: STM32L476_DFUSE });
    rig.device.flash.load(FLASH, image);
    const pages = [3, 23, 43, 63, 83, 103, 123]; // every 20th of 128 pages
    const update = image.slice();
    for (const p of pages) update[p * 2048 + 100] = update[p * 2048 + 100]! ^ 0x3c;
    const before = [...rig.device.flash.counters.sectorErases];
    const programmed = rig.device.flash.counters.programmedBytes;
    const result = await flash(rig, update);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erasedSince(rig, before)).toEqual(pages);
    expect(rig.device.flash.counters.programmedBytes - programmed).toBe(pages.length * 2048);
    expect(rig.device.flash.read(FLASH, update.length)).toEqual(update);
    expect(result.ok && result.delta).toEqual({ unchanged: 121, total: 128 });
  });
});
