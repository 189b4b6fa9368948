/**
 * The STM32 side of 'auto' line speed end to end on a virtual clock (src/protocols/stm32/
 * link-speed.ts): the flash engine, the registry's STM32 driver and a simulated STM32F407 board
 * (CP2102, DTR→BOOT0 and RTS→NRST) whose line garbles every character above a given rate
 * (src/sim/link-model.ts `maxBaudRate`: a long cable, a slow level shifter). When the autobaud
 * gets no ACK, the driver resets the chip into its bootloader again and tries 57600, then 38400.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { JobSettings } from '../../src/job/types.ts';
import { driverFor, loadDrivers } from '../../src/protocols/registry.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { Prng } from '../../src/sim/prng.ts';
import { LINK_CP2102 } from '../../src/sim/serial-wire.ts';
import type { Stm32SimBoardHandle } from '../../src/sim/stm32/boards.ts';

const FLASH = 0x0800_0000;
const SEED = 11;
const prng = new Prng(SEED);
const image = Uint8Array.from({ length: 8 * 1024 }, () => prng.int(256));

beforeAll(async () => {
  await loadDrivers();
});

/** Flashes `image` on a fresh STM32F407 board whose line carries up to `lineMax` baud. */
async function flash(lineMax: number | undefined, settings: JobSettings) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const link = { ...LINK_CP2102, name: 'CP2102 on a slow line', maxBaudRate: lineMax ?? Infinity };
  const board = createBoard('stm32f4', { clock, seed: SEED, link }) as Stm32SimBoardHandle;
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: board.wire!.port!,
    connector: driverFor<SerialPortHandle>('stm32-usart'),
    source: { kind: 'unverified', name: 'app', address: FLASH, data: image },
    allowUnverified: true,
    clock,
    logger: createLogger(
      (e) => logs.push(e),
      () => clock.now(),
    ),
    settings,
  });
  const result = await job.run();
  const text = logs.map((l) => `${l.level} ${l.message}`);
  const why = `seed ${SEED}, line up to ${lineMax ?? '∞'} baud\n${text.join('\n')}`;
  const written = equalBytes(board.flash.read(FLASH, image.length), image);
  // The rate the chip's USART ended up at, from its character time (8E1: 11 bits).
  const chipBaud = Math.round(11_000 / board.wire!.characterTimeToHostMs());
  const has = (re: RegExp): boolean => text.some((l) => re.test(l));
  return { result, text, why, written, chipBaud, has };
}

describe("STM32 'auto' line speed: 115200 → 57600 → 38400", () => {
  it('flashes at 115200 when the line carries it, with no fallback', async () => {
    const run = await flash(undefined, { baudRate: 'auto' });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    expect(run.chipBaud, run.why).toBe(115_200);
    expect(
      run.has(/line speed: the STM32 system bootloader takes up to 115200 baud .*: trying 115200$/),
      run.why,
    ).toBe(true);
    expect(run.has(/no answer to the autobaud/), run.why).toBe(false);
  });

  it('falls back to 57600 when the autobaud at 115200 gets no ACK', async () => {
    const run = await flash(57_600, { baudRate: 'auto' });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    expect(run.chipBaud, run.why).toBe(57_600);
    expect(run.has(/no answer to the autobaud at 115200 baud; trying 57600/), run.why).toBe(true);
    expect(run.has(/flashing at 57600 baud: 115200 got no answer/), run.why).toBe(true);
  });

  it('falls back to 38400 when 57600 gets no ACK either', async () => {
    const run = await flash(38_400, { baudRate: 'auto' });
    expect(run.result.ok, run.why).toBe(true);
    expect(run.written, run.why).toBe(true);
    expect(run.chipBaud, run.why).toBe(38_400);
    expect(run.has(/no answer to the autobaud at 57600 baud; trying 38400/), run.why).toBe(true);
    expect(run.has(/flashing at 38400 baud: 115200, 57600 got no answer/), run.why).toBe(true);
  });

  it('fails with no-sync after the last rung, having written nothing', async () => {
    const run = await flash(19_200, { baudRate: 'auto' });
    expect(run.result.ok, run.why).toBe(false);
    if (run.result.ok) return;
    expect(run.result.error.code, run.why).toBe('protocol.no-sync');
    expect(run.has(/trying 57600/) && run.has(/trying 38400/), run.why).toBe(true);
    expect(run.written, run.why).toBe(false);
  });

  it('an explicit rate does not fall back', async () => {
    const run = await flash(57_600, { baudRate: 115_200 });
    expect(run.result.ok, run.why).toBe(false);
    if (run.result.ok) return;
    expect(run.result.error.code, run.why).toBe('protocol.no-sync');
    expect(run.has(/trying 57600/), run.why).toBe(false);
  });
});
