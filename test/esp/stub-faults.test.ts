/**
 * The flash engine with the flasher stub on a simulated ESP32 behind a CP2102 at 921600 baud,
 * under seeded line faults: dropped and corrupted bytes (a 16 KiB block is hit far more often
 * than a 1 KiB one), and an unplug mid-write. The job must resume where the board is known to
 * hold the image (whole 32 KiB stub output buffers) and finish byte for byte.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { JobResult, ProgressEvent } from '../../src/job/types.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import type { FaultOptions } from '../../src/sim/serial-wire.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const app = new Uint8Array(
  readFileSync(new URL('../fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);
const ADDRESS = 0x10000;

async function flash(seed: number, faults?: FaultOptions, onProgress?: (p: ProgressEvent) => void) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard('esp32', { clock, seed }) as EspSimBoard;
  if (faults) board.wire!.setFaults({ seed, ...faults });
  const run = async () => {
    const logs: LogEntry[] = [];
    const job = new FlashJob({
      port: board.wire!.port!,
      connector: espDriver,
      source: { kind: 'unverified', name: 'app', address: ADDRESS, data: app },
      allowUnverified: true,
      clock,
      logger: createLogger(
        (e) => logs.push(e),
        () => clock.now(),
      ),
      settings: { baudRate: 921600 },
    });
    if (onProgress) job.on('progress', onProgress);
    const result: JobResult = await job.run();
    const why =
      `seed ${seed}: ${result.ok ? 'ok' : `${result.error.code}: ${result.error.message}`}\n` +
      logs.map((l) => `${l.time.toFixed(0)} ${l.source} ${l.level} ${l.message}`).join('\n');
    return { result, logs, why };
  };
  const holds = () => equalBytes(board.flash.read(ADDRESS, app.length), app);
  return { board, run, holds };
}

describe('flasher stub under line faults', () => {
  // A block that lost bytes has a size field that does not match: the stub answers "bad data
  // length" without using it; a corrupted one fails its checksum. Either is simply sent again.
  const cases: [string, FaultOptions, RegExp][] = [
    ['dropped bytes', { dropRate: 3e-5 }, /rejected \(bad data length\), resending/],
    ['corrupted bytes', { corruptRate: 3e-5 }, /rejected \(bad data checksum\), resending/],
  ];
  for (const [name, faults, resent] of cases) {
    it.each([5, 6, 7])(`recovers from ${name} (seed %i) and writes every byte`, async (seed) => {
      const rig = await flash(seed, faults);
      const { result, logs, why } = await rig.run();
      const injected = rig.board.wire!.stats.dropped + rig.board.wire!.stats.corrupted;
      expect(injected, `seed ${seed}: no fault was injected`).toBeGreaterThan(0);
      expect(result.ok, why).toBe(true);
      if (result.ok) expect(result.identity.details?.['Loader'], why).toBe('flasher stub');
      expect(rig.holds(), why).toBe(true);
      // Every rejected block was sent again, never skipped.
      expect(
        logs.some((l) => resent.test(l.message)),
        why,
      ).toBe(true);
    });
  }

  it('after a spontaneous reset mid-write, connects again, uploads the stub and resumes', async () => {
    const seed = 9;
    let reset = false;
    const rig = await flash(seed, undefined, (p) => {
      if (!reset && p.phase === 'writing' && p.regionBytesDone >= p.regionBytesTotal / 2) {
        reset = true;
        rig.board.wire!.resetDevice();
      }
    });
    const { result, logs, why } = await rig.run();
    expect(reset).toBe(true);
    expect(result.ok, why).toBe(true);
    expect(rig.holds(), why).toBe(true);
    expect(logs.filter((l) => /flasher stub running/.test(l.message)).length, why).toBe(2);
    const resumed = logs.find((l) => /board holds the first \d+ bytes/.test(l.message));
    expect(resumed, why).toBeDefined();
  });

  it('an unplug mid-write ends the job; the board flashes again once plugged back', async () => {
    const seed = 12;
    let unplugged = false;
    const rig = await flash(seed, undefined, (p) => {
      if (!unplugged && p.phase === 'writing' && p.regionBytesDone >= p.regionBytesTotal / 2) {
        unplugged = true;
        rig.board.wire!.unplug();
      }
    });
    const first = await rig.run();
    expect(unplugged).toBe(true);
    expect(first.result.ok, first.why).toBe(false);
    if (!first.result.ok) expect(first.result.error.code, first.why).toBe('transport.device-lost');
    rig.board.wire!.plug();
    unplugged = true;
    const again = await rig.run();
    expect(again.result.ok, again.why).toBe(true);
    expect(rig.holds(), again.why).toBe(true);
  });
});
