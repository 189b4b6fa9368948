/**
 * The AVR drivers' refusals, in virtual time: a signature not in the chip table, a board that
 * never syncs (wrong line speed), an image over the boot section (checkPlan, before any write),
 * a Leonardo sketch port without a port watcher.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../src/core/clock.ts';
import { WebflashError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/log.ts';
import { avrChipById, type AvrChip } from '../../src/protocols/avr/chips.ts';
import { createAvr109Driver } from '../../src/protocols/avr/driver-avr109.ts';
import { createAvrStk500v1Driver } from '../../src/protocols/avr/driver-stk500v1.ts';
import { AvrSimBoard } from '../../src/sim/avr/board.ts';
import { optiboot } from '../../src/sim/avr/stk500v1-boot.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { SimPortWatcher } from '../../src/sim/port-watcher.ts';
import { LINK_IDEAL, SerialWire } from '../../src/sim/serial-wire.ts';

function session(clock: VirtualClock) {
  return { clock, logger: silentLogger };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebflashError);
  return (err as WebflashError).code;
}

describe('AVR drivers refuse', () => {
  it('a signature that is not in the chip table (protocol.unsupported)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    // An ATmega88PA (1E 93 0F) with optiboot: not an Arduino board webflash knows.
    const chip: AvrChip = {
      ...avrChipById('atmega328p')!,
      chip: 'atmega88pa',
      signature: [0x1e, 0x93, 0x0f],
    };
    const device = new AvrSimBoard({
      chip,
      bootloader: optiboot({ major: 8, minor: 0 }),
      bootSectionSize: 512,
      fuses: { low: 0xff, high: 0xdd, extended: 0xfc, lock: 0xcf },
      timeoutMs: 1000,
    });
    const wire = new SerialWire({ clock, device, link: LINK_IDEAL, seed: 1 });
    const code = await codeOf(createAvrStk500v1Driver().connect(wire.port!, session(clock)));
    expect(code).toBe('protocol.unsupported');
  });

  it('a board that never syncs: protocol.no-sync (ATmegaBOOT at 57600, host at 115200)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('nano-old', { clock, seed: 1 });
    const driver = createAvrStk500v1Driver({ baudRate: 115_200, syncAttempts: 3 });
    expect(await codeOf(driver.connect(board.wire!.port!, session(clock)))).toBe(
      'protocol.no-sync',
    );
  });

  it('an image over the boot section before anything is written (plan.bootloader-overlap)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('uno', { clock, seed: 1 });
    const s = await createAvrStk500v1Driver().connect(board.wire!.port!, session(clock));
    expect(s.identity).toMatchObject({ chip: 'atmega328p', protocol: 'avr-stk500v1' });
    expect(s.bootStart).toBe(0x7e00);
    const fits = { name: 'a', address: 0, data: new Uint8Array(0x7e00) };
    const over = { name: 'b', address: 0x7d00, data: new Uint8Array(0x101) };
    expect(() => s.checkPlan([fits])).not.toThrow();
    let code = '';
    try {
      s.checkPlan([fits, over]);
    } catch (e) {
      code = (e as WebflashError).code;
    }
    expect(code).toBe('plan.bootloader-overlap');
    expect(await codeOf(s.write(over, {}))).toBe('plan.bootloader-overlap');
    expect(board.flash.counters.programOps).toBe(0);
    await s.close();
  });

  it('the old Nano: ATmegaBOOT takes a 2 KiB boot section', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('nano-old', { clock, seed: 1 });
    const s = await createAvrStk500v1Driver({ baudRate: 57_600 }).connect(
      board.wire!.port!,
      session(clock),
    );
    expect(s.bootStart).toBe(0x7800);
    expect(s.identity.details?.['Bootloader']).toMatch(/ATmegaBOOT 1\.16/);
    await s.close();
  });

  it('a Leonardo sketch port without a port watcher (transport.open-failed)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('leonardo', {
      clock,
      seed: 1,
      images: [{ address: 0, data: Uint8Array.of(0x0c, 0x94) }],
    });
    expect(board.wire!.port!.info.usbProductId).toBe(0x8036);
    expect(await codeOf(createAvr109Driver().connect(board.wire!.port!, session(clock)))).toBe(
      'transport.open-failed',
    );
  });

  it('a Leonardo reconnect with the stale sketch port finds the bootloader port', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('leonardo', {
      clock,
      seed: 1,
      images: [{ address: 0, data: Uint8Array.of(0x0c, 0x94) }],
    }) as AvrSimBoardHandle;
    const sketchPort = board.wire!.port!;
    board.device.pressReset(); // Caterina runs; the sketch's port is gone
    await sleep(clock, 700);
    expect(board.wire!.port!.info.usbProductId).toBe(0x0036);
    const driver = createAvr109Driver({ portWatcher: new SimPortWatcher(board.wire!) });
    const s = await driver.connect(sketchPort, session(clock));
    expect(s.identity.chip).toBe('atmega32u4');
    await s.close();
  });
});
