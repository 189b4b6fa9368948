/**
 * The registry's drivers (src/protocols/registry.ts `driverFor`): every entry loads a driver for
 * its own protocol id, and the line-speed policy decides the rate the port opens at.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { UsageError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/log.ts';
import type { ProtocolId } from '../../src/protocols/driver.ts';
import { driverFor, protocolEntry, PROTOCOLS } from '../../src/protocols/registry.ts';
import type { LinkOptions, SerialPortHandle } from '../../src/transport/link.ts';

class Refused extends Error {}

/** A port that records the options it is opened with and refuses, ending the connect there. */
function recordingPort(): { port: SerialPortHandle; opened: LinkOptions[] } {
  const opened: LinkOptions[] = [];
  return {
    opened,
    port: {
      info: { label: 'test port' },
      open: (o) => {
        opened.push(o);
        return Promise.reject(new Refused('not a real port'));
      },
    },
  };
}

async function openedRate(
  protocol: ProtocolId,
  jobRate: number | undefined,
  bootloaderBaud?: number,
): Promise<{ rate: number | undefined; log: string[] }> {
  const { port, opened } = recordingPort();
  const log: string[] = [];
  const logger = createLogger(
    (e) => log.push(e.message),
    () => 0,
  );
  const driver = driverFor<SerialPortHandle>(protocol, { bootloaderBaud });
  await expect(
    driver.connect(port, {
      clock: new VirtualClock(),
      logger,
      signal: new AbortController().signal,
      baudRate: jobRate,
    }),
  ).rejects.toBeInstanceOf(Refused);
  return { rate: opened[0]?.baudRate, log };
}

describe('driverFor', () => {
  it.each(PROTOCOLS.map((e) => [e.id, e.transport] as const))(
    '%s (%s) loads a driver that says it is for that protocol',
    async (id) => {
      const driver = driverFor(id);
      expect(driver.id).toBe(id);
      const factory = await protocolEntry(id).load();
      expect(factory({}).id).toBe(id);
    },
  );

  it('opens an ESP port at the job rate (the ROM is switched up by the driver)', async () => {
    expect((await openedRate('esp-serial', 115_200)).rate).toBe(115_200);
  });

  it('lowers a rate above the STM32 bootloader’s highest, and says so', async () => {
    const { rate, log } = await openedRate('stm32-usart', 921_600);
    expect(rate).toBe(115_200);
    expect(log.join('\n')).toMatch(/115200 baud: the highest rate the STM32 USART bootloader/);
    expect((await openedRate('stm32-usart', 57_600)).rate).toBe(57_600);
  });

  it('opens a fixed-rate bootloader at its own rate whatever the job asks', async () => {
    expect((await openedRate('avr-stk500v1', 921_600)).rate).toBe(115_200);
    expect((await openedRate('avr-stk500v1', 921_600, 57_600)).rate).toBe(57_600);
    expect((await openedRate('avr-stk500v2', undefined)).rate).toBe(115_200);
    expect((await openedRate('mcuboot-smp', 921_600)).rate).toBe(115_200);
  });

  it('refuses an id no entry has', () => {
    expect(() => driverFor('xmodem' as ProtocolId)).toThrow(UsageError);
  });
});
