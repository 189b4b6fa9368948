/**
 * Delta updates through the engine, the real ESP driver and the simulated ESP32-S3 (virtual
 * clock): what is erased and programmed is read from the simulated flash's counters
 * (FlashCounters). Faults are seeded; every assertion names its seed.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { Connector, JobResult, JobSettings, ProgressEvent } from '../../src/job/types.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import { connectEsp, espDriver } from '../../src/protocols/esp/driver.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { pattern } from './harness.ts';

const SECTOR = 4096;
const APP = 0x10000;

function board(seed: number, chip = 'esp32s3') {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const flash = new FlashModel({ size: 4 * 1024 * 1024 });
  const device = new EspDevice({
    chip: chipById(chip)!,
    flash,
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0x01, 0x02, 0x03]),
    resetCircuit: 'auto-reset',
  });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed, usbVendorId: 0x10c4 });
  return { clock, flash, wire };
}
type Board = ReturnType<typeof board>;

async function flash(
  b: Board,
  data: Uint8Array,
  options: {
    settings?: JobSettings;
    onProgress?: (p: ProgressEvent) => void;
    connector?: Connector<SerialPortHandle>;
  } = {},
) {
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: b.wire.port!,
    connector: options.connector ?? espDriver,
    source: { kind: 'unverified', name: 'app', address: APP, data },
    allowUnverified: true,
    clock: b.clock,
    logger: createLogger(
      (e) => logs.push(e),
      () => b.clock.now(),
    ),
    settings: { baudRate: 921600, ...options.settings },
  });
  let retries = 0;
  job.on('retry', () => retries++);
  job.on('progress', (p) => options.onProgress?.(p));
  const result: JobResult = await job.run();
  const why = (seed: number) =>
    `seed ${seed}: ${result.ok ? 'ok' : `${result.error.code}: ${result.error.message}`}\n` +
    logs.map((l) => `${l.time.toFixed(0)} ${l.source} ${l.level} ${l.message}`).join('\n');
  return { result, logs, why, retries };
}

/** Sector erases and program operations since `before`, per sector index of the app. */
function erasedSectors(b: Board, before: number[]): number[] {
  const out: number[] = [];
  b.flash.counters.sectorErases.forEach((n, i) => {
    if (n > (before[i] ?? 0)) out.push((i * SECTOR - APP) / SECTOR);
  });
  return out;
}

function holds(b: Board, data: Uint8Array): boolean {
  return equalBytes(b.flash.read(APP, data.length), data);
}

/** A copy of `data` with one byte changed in each of the given sectors. */
function changed(data: Uint8Array, sectors: readonly number[]): Uint8Array {
  const out = data.slice();
  for (const s of sectors) out[s * SECTOR + 123] = out[s * SECTOR + 123]! ^ 0x5a;
  return out;
}

const image = pattern(64 * SECTOR, 7); // 256 KiB, 64 sectors, incompressible

describe('delta update (engine + ESP driver + simulated ESP32-S3)', () => {
  it('an identical image erases and programs nothing, and says 64 of 64 blocks unchanged', async () => {
    const seed = 1;
    const b = board(seed);
    expect((await flash(b, image)).result.ok).toBe(true);
    const erases = [...b.flash.counters.sectorErases];
    const programs = b.flash.counters.programOps;
    const run = await flash(b, image);
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(erasedSectors(b, erases)).toEqual([]);
    expect(b.flash.counters.programOps).toBe(programs);
    expect(run.result.ok && run.result.delta).toEqual({ unchanged: 64, total: 64 });
    expect(run.result.ok && run.result.regions[0]!.verified).toBe(true);
    const said = run.logs.map((l) => l.message);
    const comparing = said.findIndex((m) => m.includes('with what the board holds'));
    const result = said.findIndex((m) => m.includes('64 of 64 blocks unchanged'));
    // The console says what takes the time before the answer comes.
    expect(comparing).toBeGreaterThanOrEqual(0);
    expect(result).toBeGreaterThan(comparing);
  });

  it('the ESP8266 ROM loader has no SPI_FLASH_MD5: the console says so and writes it all', async () => {
    const seed = 3;
    const b = board(seed, 'esp8266');
    const romOnly: Connector<SerialPortHandle> = {
      ...espDriver,
      connect: (port, o) => connectEsp(port, { ...o, useStub: 'never' }),
    };
    const run = await flash(b, image.subarray(0, 8 * SECTOR), { connector: romOnly });
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(run.result.ok && run.result.delta).toBeUndefined();
    expect(holds(b, image.subarray(0, 8 * SECTOR))).toBe(true);
    expect(run.logs.some((l) => l.message.includes('app: not compared'))).toBe(true);
  });

  it('a 5 % spread change erases and writes only the changed sectors', async () => {
    const seed = 2;
    const b = board(seed);
    b.flash.load(APP, image);
    const update = changed(image, [3, 24, 50]);
    const erases = [...b.flash.counters.sectorErases];
    const bytes = b.flash.counters.programmedBytes;
    const run = await flash(b, update);
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(erasedSectors(b, erases)).toEqual([3, 24, 50]);
    expect(b.flash.counters.programmedBytes - bytes).toBe(3 * SECTOR);
    expect(holds(b, update)).toBe(true);
    expect(run.result.ok && run.result.delta).toEqual({ unchanged: 61, total: 64 });
  });

  it('a partly covered last sector: compared whole, rewritten (and erased past the image) when it differs', async () => {
    const seed = 3;
    const b = board(seed);
    const short = image.subarray(0, 10 * SECTOR + 1000);
    b.flash.load(APP, image.subarray(0, 11 * SECTOR)); // the sector holds more than the image
    const erases = [...b.flash.counters.sectorErases];
    const run = await flash(b, short);
    expect(run.result.ok, run.why(seed)).toBe(true);
    // Only the last sector differs from what a write leaves (0xFF after the image).
    expect(erasedSectors(b, erases)).toEqual([10]);
    expect(b.flash.read(APP + short.length, 10).every((x) => x === 0xff)).toBe(true);
    expect(holds(b, short)).toBe(true);

    // Now the board holds exactly what a write leaves: nothing to do, also for a changed byte
    // in the other sectors only those are written.
    const again = [...b.flash.counters.sectorErases];
    const edited = changed(short, [10]);
    const second = await flash(b, edited);
    expect(second.result.ok, second.why(seed)).toBe(true);
    expect(erasedSectors(b, again)).toEqual([10]);
    expect(holds(b, edited)).toBe(true);
  });

  it('the comparison reports growing progress up to the image before anything is erased or written', async () => {
    const seed = 5;
    const b = board(seed);
    b.flash.load(APP, image);
    const update = changed(image, [3, 24, 50]);
    const erases = () => b.flash.counters.sectorErases.reduce((n, k) => n + k, 0);
    const before = { erases: erases(), programs: b.flash.counters.programOps };
    const seen: { phase: string; done: number; erases: number; programs: number }[] = [];
    const run = await flash(b, update, {
      onProgress: (p) =>
        seen.push({
          phase: p.phase,
          done: p.regionBytesDone,
          erases: erases(),
          programs: b.flash.counters.programOps,
        }),
    });
    expect(run.result.ok, run.why(seed)).toBe(true);
    const compared = seen.filter((e) => e.phase === 'comparing');
    expect(compared.length, run.why(seed)).toBeGreaterThan(2);
    for (let i = 1; i < compared.length; i++) {
      expect(compared[i]!.done).toBeGreaterThanOrEqual(compared[i - 1]!.done);
    }
    expect(compared[0]!.done).toBeLessThan(update.length);
    expect(compared.at(-1)!.done).toBe(update.length);
    // Every comparing event comes before the first erase or write, and the board was untouched.
    const lastCompare = seen.map((e) => e.phase).lastIndexOf('comparing');
    expect(seen.findIndex((e) => e.phase !== 'comparing')).toBeGreaterThan(lastCompare);
    for (const e of compared) {
      expect({ erases: e.erases, programs: e.programs }).toEqual(before);
    }
    expect(erases()).toBe(before.erases + 3); // then the three changed sectors
  });

  it('delta off writes every sector', async () => {
    const seed = 4;
    const b = board(seed);
    b.flash.load(APP, image);
    const erases = [...b.flash.counters.sectorErases];
    const run = await flash(b, image, { settings: { delta: false } });
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(erasedSectors(b, erases)).toHaveLength(64);
    expect(run.result.ok && run.result.delta).toBeUndefined();
  });

  it('resumes after corrupted bytes mid-delta and ends with the image', async () => {
    const seed = 13;
    const b = board(seed);
    b.flash.load(APP, image);
    const update = changed(
      image,
      Array.from({ length: 16 }, (_, i) => i * 4 + 1),
    );
    b.wire.setFaults({ seed, corruptRate: 1e-4 });
    const run = await flash(b, update);
    b.wire.setFaults({});
    expect(b.wire.stats.corrupted, `seed ${seed}: no fault was injected`).toBeGreaterThan(0);
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(holds(b, update), run.why(seed)).toBe(true);
  });

  it('an unplug mid-delta: the next job writes only what is still different', async () => {
    const seed = 21;
    const b = board(seed);
    b.flash.load(APP, image);
    const update = changed(
      image,
      Array.from({ length: 16 }, (_, i) => i * 4),
    );
    const first = await flash(b, update, {
      onProgress: (p) => {
        if (p.phase === 'writing' && p.regionBytesDone >= update.length / 2) b.wire.unplug();
      },
    });
    expect(first.result.ok, first.why(seed)).toBe(false);
    b.wire.plug();
    const erases = [...b.flash.counters.sectorErases];
    const second = await flash(b, update);
    expect(second.result.ok, second.why(seed)).toBe(true);
    expect(holds(b, update)).toBe(true);
    const rewritten = erasedSectors(b, erases);
    expect(rewritten.length, second.why(seed)).toBeGreaterThan(0);
    expect(rewritten.length, second.why(seed)).toBeLessThan(16);
    expect(rewritten.every((s) => s % 4 === 0 && s >= 28)).toBe(true);
  });

  it('a garbled MD5 reply is never taken as "unchanged"', async () => {
    for (const [seed, how] of [
      [31, 'digest'],
      [32, 'cut'],
    ] as const) {
      const b = board(seed);
      b.flash.load(APP, image);
      let tampered = 0;
      let writing = false;
      // Only replies of the comparison, which ends before the first FLASH_DEFL_BEGIN (0x10);
      // a reply cut short ends it at the first. The final verification is left alone.
      const limit = how === 'digest' ? Infinity : 1;
      b.wire.setReplyTamper((reply) => {
        if (reply[0] === 0xc0 && reply[1] === 0x01 && reply[2] === 0x10) writing = true;
        if (reply[0] !== 0xc0 || reply[1] !== 0x01 || reply[2] !== 0x13) return reply;
        if (writing || tampered >= limit) return reply;
        tampered++;
        const out = reply.slice();
        if (how === 'digest') {
          out[12] = out[12] === 0x55 ? 0x56 : 0x55;
          return out;
        }
        return Uint8Array.of(...out.subarray(0, 12), 0xc0);
      });
      const erases = [...b.flash.counters.sectorErases];
      const run = await flash(b, image);
      expect(tampered, `seed ${seed}`).toBeGreaterThan(0);
      expect(run.result.ok, run.why(seed)).toBe(true);
      expect(holds(b, image)).toBe(true);
      expect(erasedSectors(b, erases).length, run.why(seed)).toBeGreaterThan(0);
      if (run.result.ok && run.result.delta) {
        expect(run.result.delta.unchanged, run.why(seed)).toBeLessThan(64);
      }
    }
  });
});
