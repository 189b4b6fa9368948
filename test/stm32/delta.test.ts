/**
 * Delta updates on the 'stm32-usart' driver under the engine, against the simulated STM32 in
 * virtual time: GET_CHECKSUM per page/sector where the bootloader lists it, read-compare where
 * the cost model says it pays, a full write where it does not. What was erased is read from the
 * simulated flash's counters.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import { runFlashJob, type JobResult, type JobSettings } from '../../src/job/index.ts';
import type { JobListeners } from '../../src/job/runner.ts';
import { STM32_CHIPS } from '../../src/protocols/stm32/chips.ts';
import { Command } from '../../src/protocols/stm32/commands.ts';
import { readCompareWorthIt } from '../../src/protocols/stm32/delta.ts';
import { createStm32Driver } from '../../src/protocols/stm32/driver.ts';
import { flashSectors } from '../../src/protocols/stm32/chips.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { Stm32SimBoard, type Stm32BoardOptions } from '../../src/sim/stm32/board.ts';

const FLASH = 0x08000000;

function image(n: number, seed = 7): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

function rig(board: Partial<Stm32BoardOptions> = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new Stm32SimBoard({
    chip: 'stm32f4',
    wiring: 'dtr-boot0-rts-nrst',
    boot0: 'low',
    ...board,
  });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed: 1 });
  return { clock, device, wire };
}
type Rig = ReturnType<typeof rig>;

function flash(
  r: Rig,
  data: Uint8Array,
  settings: JobSettings = {},
  on: JobListeners = {},
): Promise<JobResult> {
  return runFlashJob({
    on,
    port: r.wire.port!,
    connector: createStm32Driver(),
    source: { kind: 'unverified', name: 'app', address: FLASH, data },
    clock: r.clock,
    allowUnverified: true,
    settings,
  });
}

/** Indexes of the sectors erased since `before`. */
function erased(r: Rig, before: readonly number[]): number[] {
  const out: number[] = [];
  r.device.memory.flash.counters.sectorErases.forEach((n, i) => {
    if (n > (before[i] ?? 0)) out.push(i);
  });
  return out;
}

function changed(data: Uint8Array, offsets: readonly number[]): Uint8Array {
  const out = data.slice();
  for (const o of offsets) out[o] = out[o]! ^ 0xa5;
  return out;
}

describe('stm32-usart delta updates', () => {
  it.each([
    ['GET_CHECKSUM', true],
    ['read-compare', false],
  ])('an identical image is not erased or written again (%s)', async (_, checksumCommand) => {
    const r = rig({ checksumCommand });
    const data = image(40 * 1024);
    expect((await flash(r, data)).ok).toBe(true);
    const before = [...r.device.memory.flash.counters.sectorErases];
    const programs = r.device.memory.flash.counters.programOps;
    r.device.commandLog.length = 0;
    const result = await flash(r, data);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(erased(r, before)).toEqual([]);
    expect(r.device.memory.flash.counters.programOps).toBe(programs);
    expect(r.device.commandLog.includes(Command.WRITE_MEMORY)).toBe(false);
    expect(r.device.commandLog.includes(Command.GET_CHECKSUM)).toBe(checksumCommand);
    // 40 KiB on the F4: sectors 0, 1 (16 KiB) and the start of sector 2.
    expect(result.ok && result.delta).toEqual({ unchanged: 3, total: 3 });
  });

  it('a spread change on 2 KiB pages (G0) erases and writes only those pages', async () => {
    const r = rig({ chip: 'stm32g0', checksumCommand: true });
    const data = image(60 * 1024);
    r.device.memory.flash.load(FLASH, data);
    const offsets = [3 * 1024 + 5, 29 * 2048 + 7, 55 * 1024];
    const update = changed(data, offsets);
    const before = [...r.device.memory.flash.counters.sectorErases];
    const result = await flash(r, update);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    const page = flashSectors(r.device.chip)[0]!.size;
    const expected = [...new Set(offsets.map((o) => Math.floor(o / page)))].sort((a, b) => a - b);
    expect(erased(r, before)).toEqual(expected);
    expect(equalBytes(r.device.memory.flash.read(FLASH, update.length), update)).toBe(true);
  });

  it('a sector the image covers in part is rewritten when bytes past the image are not erased', async () => {
    const r = rig({ checksumCommand: true });
    const data = image(20 * 1024); // sector 0 whole, sector 1 (16 KiB) in part
    r.device.memory.flash.load(FLASH, data);
    r.device.memory.flash.load(FLASH + 30 * 1024, Uint8Array.of(0x12)); // sector 1, past the image
    const before = [...r.device.memory.flash.counters.sectorErases];
    const result = await flash(r, data);
    expect(result.ok && result.delta).toEqual({ unchanged: 1, total: 2 });
    expect(erased(r, before)).toEqual([1]);
    expect(r.device.memory.flash.read(FLASH + 30 * 1024, 1)[0]).toBe(0xff); // as a full write leaves it
  });

  it.each([
    ['GET_CHECKSUM, one report per sector', true],
    ['read-compare, one report per block read', false],
  ])(
    'the comparison reports progress before anything is erased (%s)',
    async (_, checksumCommand) => {
      const r = rig({ checksumCommand });
      const data = image(40 * 1024); // F4: sectors 0 and 1 (16 KiB) and half of sector 2
      r.device.memory.flash.load(FLASH, data);
      const update = changed(data, [20 * 1024]); // sector 1
      const counters = r.device.memory.flash.counters;
      const touched = () => counters.programOps + counters.sectorErases.reduce((n, k) => n + k, 0);
      const start = touched();
      const seen = new Set<number>();
      const compared: number[] = [];
      const result = await flash(
        r,
        update,
        {},
        {
          progress: (p) => {
            if (p.phase !== 'comparing') return;
            seen.add(touched());
            compared.push(p.regionBytesDone);
          },
        },
      );
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect([...seen]).toEqual([start]); // nothing erased or written while comparing
      expect(touched()).toBeGreaterThan(start);
      for (let i = 1; i < compared.length; i++) {
        expect(compared[i]).toBeGreaterThanOrEqual(compared[i - 1]!);
      }
      expect(compared.at(-1)).toBe(update.length);
      if (checksumCommand) {
        // Each sector's CRC, then the engine's own report at the end of the comparison.
        expect(compared).toEqual([16, 32, 40, 40].map((k) => k * 1024));
      } else {
        // Each 256-byte read, and each sector's end: all 64 reads of sector 0; sector 1 differs
        // in its 17th read, where its comparison stops.
        const reads = (from: number, n: number) =>
          Array.from({ length: n }, (_, i) => from + (i + 1) * 256);
        expect(compared.slice(0, 65)).toEqual([...reads(0, 64), 16 * 1024]);
        expect(compared.slice(65, 83)).toEqual([...reads(16 * 1024, 17), 32 * 1024]);
      }
    },
  );

  it('delta off erases and writes every sector', async () => {
    const r = rig({ checksumCommand: true });
    const data = image(40 * 1024);
    r.device.memory.flash.load(FLASH, data);
    const before = [...r.device.memory.flash.counters.sectorErases];
    const result = await flash(r, data, { delta: false });
    expect(result.ok && result.delta).toBeUndefined();
    expect(erased(r, before)).toEqual([0, 1, 2]);
  });

  it('without GET_CHECKSUM on a slow link the cost model writes in full', async () => {
    const f1 = STM32_CHIPS.find((c) => c.chip === 'stm32f1')!;
    const page = flashSectors(f1)[0]!;
    expect(readCompareWorthIt(f1, page, 115_200)).toBe(true);
    expect(readCompareWorthIt(f1, page, 19_200)).toBe(false);
    const r = rig({ chip: 'stm32f1' });
    const data = image(4 * 1024);
    r.device.memory.flash.load(FLASH, data);
    const before = [...r.device.memory.flash.counters.sectorErases];
    const result = await flash(r, data, { baudRate: 19_200 });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(result.ok && result.delta).toBeUndefined();
    expect(erased(r, before)).toHaveLength(4);
  });
});
