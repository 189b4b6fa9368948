/**
 * The engine against the simulated ESP32-S3 (src/sim/esp) through the real ESP driver: clean
 * flashes at several line speeds and every kind of fault the serial wire can inject, with the
 * flash contents compared byte for byte. Faults are seeded; every assertion names its seed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import type { FlashSource } from '../../src/job/source.ts';
import type { JobResult, JobSettings, ProgressEvent } from '../../src/job/types.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire, type FaultOptions } from '../../src/sim/serial-wire.ts';
import { signedBundle } from './bundle-fixture.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));
const images = {
  bootloader: firmware('bootloader_esp32c3.bin'),
  partitions: firmware('partitions_singleapp.bin'),
  app: firmware('esp_idf_blink_esp32s2.bin'),
};
const layout = [
  { name: 'bootloader', address: 0x0 },
  { name: 'partitions', address: 0x8000 },
  { name: 'app', address: 0x10000 },
] as const;
const writes = ['bootloader', 'partitions', 'app'] as const;

const bundle = signedBundle({
  images,
  targets: [{ chip: 'esp32s3', protocol: 'esp-serial', writes, images: [...layout] }],
});

/** A simulated ESP32-S3 dev board (CP2102 bridge, auto-reset circuit) on a serial wire. */
function board(seed: number) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const flash = new FlashModel({ size: 4 * 1024 * 1024 });
  const device = new EspDevice({
    chip: chipById('esp32s3')!,
    flash,
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0x01, 0x02, 0x03]),
    resetCircuit: 'auto-reset',
  });
  const wire = new SerialWire({
    clock,
    device,
    link: LINK_CP2102,
    seed,
    usbVendorId: 0x10c4,
    usbProductId: 0xea60,
  });
  return { clock, flash, wire };
}

type Board = ReturnType<typeof board>;

interface RunOptions {
  settings?: JobSettings;
  source?: FlashSource;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}

async function flash(b: Board, options: RunOptions = {}) {
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: b.wire.port!,
    connector: espDriver,
    source: options.source ?? fromVerifiedBundle(await bundle, { mode: 'customer' }),
    clock: b.clock,
    signal: options.signal,
    logger: createLogger(
      (e) => logs.push(e),
      () => b.clock.now(),
    ),
    settings: options.settings ?? {},
    advise: recoveryAdvice,
  });
  const phases: string[] = [];
  job.on('phase', (e) => phases.push(e.phase));
  job.on('progress', (p) => options.onProgress?.(p));
  const result: JobResult = await job.run();
  /** What to print when an assertion fails: seed, outcome and the log. */
  const why = (seed: number) =>
    `seed ${seed}: ${result.ok ? 'ok' : `${result.error.code}: ${result.error.message}`}\n` +
    logs.map((l) => `${l.time.toFixed(0)} ${l.source} ${l.level} ${l.message}`).join('\n');
  return { result, phases, logs, why };
}

function holdsImages(b: Board): boolean {
  const snap = b.flash.snapshot();
  return layout.every(({ name, address }) =>
    equalBytes(snap.subarray(address, address + images[name].length), images[name]),
  );
}

describe('FlashJob + ESP driver + simulated ESP32-S3', () => {
  const durations: number[] = [];

  it.each([115200, 460800, 921600])(
    'flashes a signed bundle cleanly at %i baud',
    async (baudRate) => {
      const seed = 1;
      const b = board(seed);
      const run = await flash(b, { settings: { baudRate } });
      expect(run.result.ok, run.why(seed)).toBe(true);
      expect(holdsImages(b), run.why(seed)).toBe(true);
      // Each region is compared with the board (a delta update), then written; the driver
      // reports erasing before each region's data: phases alternate comparing/erasing/writing.
      expect(run.phases.indexOf('comparing')).toBe(run.phases.indexOf('checking') + 1);
      const main = run.phases.filter((p) => p !== 'erasing' && p !== 'comparing');
      expect(main.filter((p, i) => p !== main[i - 1])).toEqual([
        'connecting',
        'identifying',
        'checking',
        'writing',
        'verifying',
        'resetting',
        'done',
      ]);
      if (run.result.ok) {
        expect(run.result.identity.chip).toBe('esp32s3');
        expect(run.result.regions.every((r) => r.verified && r.attempts === 1)).toBe(true);
        durations.push(run.result.durationMs);
      }
    },
  );

  it('takes less virtual time at higher line speeds', () => {
    expect(durations).toHaveLength(3);
    expect(durations[1]!).toBeLessThan(durations[0]!);
    expect(durations[2]!).toBeLessThan(durations[1]!);
  });

  const faultCases: [string, FaultOptions, (b: Board) => number][] = [
    ['dropped bytes', { dropRate: 2e-5 }, (b) => b.wire.stats.dropped],
    ['corrupted bytes', { corruptRate: 2e-5 }, (b) => b.wire.stats.corrupted],
    ['delayed chunks', { delayRate: 0.02, delayMs: 400 }, () => 1],
  ];
  for (const [name, faults, count] of faultCases) {
    it.each([11, 13, 14])(`recovers from ${name} (seed %i) and writes every byte`, async (seed) => {
      const b = board(seed);
      b.wire.setFaults({ seed, ...faults });
      const run = await flash(b, { settings: { baudRate: 921600 } });
      expect(count(b), `seed ${seed}: no fault was injected`).toBeGreaterThan(0);
      expect(run.result.ok, run.why(seed)).toBe(true);
      expect(holdsImages(b), run.why(seed)).toBe(true);
    });
  }

  it('reports an unplug mid-write clearly, and the board can be flashed again', async () => {
    const seed = 21;
    const b = board(seed);
    const run = await flash(b, {
      settings: { baudRate: 921600 },
      onProgress: (p) => {
        if (
          p.region === 'app' &&
          p.phase === 'writing' &&
          p.regionBytesDone >= 0.4 * p.regionBytesTotal
        ) {
          b.wire.unplug();
        }
      },
    });
    expect(run.result.ok, run.why(seed)).toBe(false);
    if (!run.result.ok) {
      expect(run.result.error.code, run.why(seed)).toBe('transport.device-lost');
      expect(run.result.error.message).toMatch(
        /^The board was disconnected while writing app at \d+ %\.$/,
      );
      expect(run.result.recovery).toMatch(/Plug the board back in and press Flash again/);
      expect(run.result.flashTouched).toBe(true);
    }
    b.wire.plug();
    const again = await flash(b, { settings: { baudRate: 921600 } });
    expect(again.result.ok, again.why(seed)).toBe(true);
    expect(holdsImages(b), again.why(seed)).toBe(true);
  });

  it('unplugging after a given byte count ends the job the same way', async () => {
    const seed = 22;
    const b = board(seed);
    b.wire.unplugAfter(60_000);
    const run = await flash(b, { settings: { baudRate: 460800 } });
    expect(run.result.ok, run.why(seed)).toBe(false);
    if (!run.result.ok) expect(run.result.error.code, run.why(seed)).toBe('transport.device-lost');
  });

  it('reconnects after a spontaneous reset mid-write and resumes', async () => {
    const seed = 31;
    const b = board(seed);
    let resetDone = false;
    const run = await flash(b, {
      settings: { baudRate: 921600 },
      onProgress: (p) => {
        if (!resetDone && p.region === 'app' && p.regionBytesDone >= p.regionBytesTotal / 2) {
          resetDone = true;
          b.wire.resetDevice();
        }
      },
    });
    expect(resetDone).toBe(true);
    expect(run.result.ok, run.why(seed)).toBe(true);
    expect(holdsImages(b), run.why(seed)).toBe(true);
    expect(run.logs.some((l) => l.message.startsWith('Connected again'))).toBe(true);
  });

  it('a cancel mid-write closes the port; the next job flashes the board', async () => {
    const seed = 41;
    const b = board(seed);
    const controller = new AbortController();
    const run = await flash(b, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.region === 'app' && p.regionBytesDone > 20_000) controller.abort();
      },
    });
    expect(run.result.ok).toBe(false);
    if (!run.result.ok) {
      expect(run.result.cancelled).toBe(true);
      expect(run.result.recovery).toMatch(/still in the bootloader; press Flash again/);
    }
    const again = await flash(b, { settings: { baudRate: 460800 } });
    expect(again.result.ok, again.why(seed)).toBe(true);
    expect(holdsImages(b), again.why(seed)).toBe(true);
  });

  it('refuses a bundle for another chip before writing anything', async () => {
    const seed = 51;
    const b = board(seed);
    const before = b.flash.snapshot();
    const other = await signedBundle({
      images,
      targets: [{ chip: 'esp32c3', protocol: 'esp-serial', writes, images: [...layout] }],
    });
    const run = await flash(b, { source: fromVerifiedBundle(other, { mode: 'customer' }) });
    expect(run.result.ok).toBe(false);
    if (!run.result.ok) {
      expect(run.result.error.code).toBe('bundle.rejected');
      expect(run.result.flashTouched).toBe(false);
    }
    expect(equalBytes(b.flash.snapshot(), before)).toBe(true);
  });
});
