/**
 * 'auto' line speed end to end on a virtual clock: the flash engine, the registry's ESP driver
 * and a simulated ESP32 behind a USB-UART bridge whose line garbles every character above its
 * maximum (src/sim/link-model.ts `maxBaudRate`), or damages some of them (`marginal`). The job
 * must step down the ladder to a rate the line carries, complete, and say in the log which rate
 * it chose.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { JobSettings } from '../../src/job/types.ts';
import { driverFor, loadDrivers } from '../../src/protocols/registry.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { LINK_CH340, type LinkModel } from '../../src/sim/serial-wire.ts';
import { signedBundle } from '../job/bundle-fixture.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const app = new Uint8Array(
  readFileSync(new URL('../fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);
const bundle = signedBundle({
  images: { app },
  targets: [
    {
      chip: 'esp32',
      protocol: 'esp-serial',
      writes: ['app'],
      images: [{ name: 'app', address: 0x10000 }],
    },
  ],
});

beforeAll(async () => {
  await loadDrivers();
});

async function flash(options: { board: string; link?: LinkModel; settings: JobSettings }) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const seed = 7;
  const board = createBoard(options.board, {
    clock,
    seed,
    ...(options.link ? { link: options.link } : {}),
  }) as EspSimBoard;
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: board.wire!.port!,
    connector: driverFor<SerialPortHandle>('esp-serial'),
    source: fromVerifiedBundle(await bundle, { mode: 'customer' }),
    clock,
    logger: createLogger(
      (e) => logs.push(e),
      () => clock.now(),
    ),
    settings: options.settings,
  });
  const result = await job.run();
  const text = logs.map((l) => `${l.level} ${l.message}`);
  const why = `seed ${seed}\n${text.join('\n')}`;
  const written = equalBytes(board.flash.snapshot().subarray(0x10000, 0x10000 + app.length), app);
  return { result, text, why, board, written };
}

describe("'auto' line speed", () => {
  it('steps down past a rate the line garbles and completes at the fastest one that works', async () => {
    // A CH340 (2 Mbaud by its datasheet) on a board whose wiring carries no more than 921600.
    const link = { ...LINK_CH340, name: 'CH340 on a slow line', maxBaudRate: 921_600 };
    const run = await flash({ board: 'esp32-ch340', link, settings: { baudRate: 'auto' } });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    expect(
      run.text.some((l) => /1500000 baud did not work/.test(l)),
      run.why,
    ).toBe(true);
    expect(
      run.text.some((l) => /flashing at 921600 baud: the fastest rate that answered/.test(l)),
      run.why,
    ).toBe(true);
    expect(run.board.device.baudRate, run.why).toBe(921_600);
  });

  it('goes straight to the top of the ladder when the adapter carries it', async () => {
    const run = await flash({ board: 'esp32', settings: { baudRate: 'auto' } });
    expect(run.result.ok, run.why).toBe(true);
    // The DevKitC's CP2102N shares its USB id with the CP2102, so the table assumes 921600.
    expect(
      run.text.some((l) => /line speed: CP210x .* carries up to 921600 baud/.test(l)),
      run.why,
    ).toBe(true);
    expect(
      run.text.some((l) => /flashing at 921600 baud/.test(l)),
      run.why,
    ).toBe(true);
    expect(
      run.text.some((l) => /did not work/.test(l)),
      run.why,
    ).toBe(false);
  });

  it('picks the FT231X ladder on an FT-X board (SparkFun ESP32 Thing, 0403:6015)', async () => {
    const run = await flash({ board: 'esp32-thing', settings: { baudRate: 'auto' } });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    expect(
      run.text.some((l) =>
        /line speed: .* \(FT231X \(FT-X series\) 0403:6015 carries 3000000\): trying 1500000, 921600/.test(
          l,
        ),
      ),
      run.why,
    ).toBe(true);
    expect(run.board.device.baudRate, run.why).toBe(1_500_000);
  });

  it('an explicit rate still wins', async () => {
    const run = await flash({ board: 'esp32-ch340', settings: { baudRate: 460_800 } });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.board.device.baudRate, run.why).toBe(460_800);
  });
});

describe("'auto' line speed: stepping down during the job", () => {
  // A CH340 whose line carries 1500000 baud well enough for SYNC (a few dozen characters) but
  // damages about one character in 2000 there: most 16 KiB blocks arrive broken. At 921600 and
  // below it is clean.
  const marginal = {
    ...LINK_CH340,
    name: 'CH340 on a marginal line',
    marginal: { baudRate: 921_600, perCharacter: 5e-4 },
  };

  it('steps down a rung after transfers keep failing at the chosen rate, and completes', async () => {
    const run = await flash({
      board: 'esp32-ch340',
      link: marginal,
      settings: { baudRate: 'auto' },
    });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    // Connecting found nothing wrong at the top of the ladder…
    expect(
      run.text.some((l) => /flashing at 1500000 baud: the fastest rate the adapter/.test(l)),
      run.why,
    ).toBe(true);
    // …the transfers then failed there, and the session stepped down to the next rung.
    expect(
      run.text.some((l) =>
        /stepping down to 921600 baud: \d+ transfers in a row failed at 1500000 baud/.test(l),
      ),
      run.why,
    ).toBe(true);
    expect(run.board.device.baudRate, run.why).toBe(921_600);
    expect(run.board.wire!.stats.garbled, run.why).toBeGreaterThan(0);
  });

  it('stays at the top rung when the same line is clean there', async () => {
    const clean = { ...marginal, marginal: { baudRate: 1_500_000, perCharacter: 5e-4 } };
    const run = await flash({ board: 'esp32-ch340', link: clean, settings: { baudRate: 'auto' } });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.board.device.baudRate, run.why).toBe(1_500_000);
    expect(run.board.wire!.stats.garbled, run.why).toBe(0);
    expect(
      run.text.some((l) => /stepping down/.test(l)),
      run.why,
    ).toBe(false);
  });
});
