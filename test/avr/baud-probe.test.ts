/**
 * STK500v1 line-speed probing, in virtual time through the protocol registry as every face
 * builds its driver: when nothing tells the bootloader's speed (an FT232 adapter's ids say
 * nothing of the board), the driver tries 115200, 57600 and 19200 in turn and logs the one that
 * answered; when the port's ids or the person tell the speed, only that speed is tried.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { WebflashError } from '../../src/core/errors.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { avrChipById } from '../../src/protocols/avr/chips.ts';
import type { FlashSession } from '../../src/protocols/driver.ts';
import { driverFor, loadDrivers } from '../../src/protocols/registry.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import { AvrSimBoard } from '../../src/sim/avr/board.ts';
import { atmegaBoot } from '../../src/sim/avr/stk500v1-boot.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { LINK_FTDI, SerialWire } from '../../src/sim/serial-wire.ts';

beforeAll(async () => {
  await loadDrivers(['avr-stk500v1']);
});

async function connect(
  port: SerialPortHandle,
  clock: VirtualClock,
  bootloaderBaud?: number,
): Promise<{ session: FlashSession | undefined; error: unknown; log: string[] }> {
  const entries: LogEntry[] = [];
  const logger = createLogger(
    (e) => entries.push(e),
    () => clock.now(),
  );
  const driver = driverFor<SerialPortHandle>('avr-stk500v1', { bootloaderBaud });
  let session: FlashSession | undefined;
  let error: unknown;
  try {
    session = await driver.connect(port, {
      clock,
      logger,
      signal: new AbortController().signal,
    });
  } catch (err) {
    error = err;
  }
  return { session, error, log: entries.filter((e) => e.level === 'info').map((e) => e.message) };
}

describe('STK500v1 line-speed probing', () => {
  it('finds an old Nano (ATmegaBOOT) at 57600 behind an FT232 and says so', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('nano-old', { clock, seed: 1 });
    const { session, error, log } = await connect(board.wire!.port!, clock);
    expect(error).toBeUndefined();
    expect(session!.identity).toMatchObject({ chip: 'atmega328p', protocol: 'avr-stk500v1' });
    expect(session!.identity.details?.['Bootloader']).toContain('ATmegaBOOT');
    expect(log).toContain('No answer from the bootloader at 115200 baud; trying 57600 baud.');
    expect(log).toContain('The bootloader answered at 57600 baud.');
    await session!.close();
  });

  it('finds a Diecimila (ATmega168) at 19200, the third rate', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('diecimila', { clock, seed: 1 });
    const { session, log } = await connect(board.wire!.port!, clock);
    expect(session!.identity.chip).toBe('atmega168');
    expect(log).toContain('The bootloader answered at 19200 baud.');
    await session!.close();
  });

  it('an Uno answers at the first rate: nothing about other rates in the log', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('uno', { clock, seed: 1 });
    const { session, log } = await connect(board.wire!.port!, clock);
    expect(session!.identity.chip).toBe('atmega328p');
    expect(log.filter((m) => m.includes('baud'))).toEqual([]);
    await session!.close();
  });

  it('a speed told by the port (or the person) is the only one tried', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('nano-old', { clock, seed: 1 });
    const { error, log } = await connect(board.wire!.port!, clock, 115_200);
    expect((error as WebflashError).code).toBe('protocol.no-sync');
    expect(log.filter((m) => m.includes('trying'))).toEqual([]);
  });

  it('a board that answers at no rate: protocol.no-sync naming every rate tried', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    // No auto-reset wired (a bare ATmega328P on a 3-wire adapter): the sketch keeps running.
    const device = new AvrSimBoard({
      chip: avrChipById('atmega328p')!,
      bootloader: atmegaBoot,
      bootSectionSize: 2048,
      fuses: { low: 0xff, high: 0xda, extended: 0xfd, lock: 0xcf },
      baudRate: 57_600,
      timeoutMs: 1000,
      autoReset: false,
    });
    const wire = new SerialWire({ clock, device, link: LINK_FTDI, seed: 1 });
    const { error } = await connect(wire.port!, clock);
    expect(error).toBeInstanceOf(WebflashError);
    expect((error as WebflashError).code).toBe('protocol.no-sync');
    expect((error as Error).message).toContain('115200, 57600, 19200 baud');
  });
});
