/**
 * The 'avr-stk500v1' driver: Arduino boards whose bootloader speaks STK500v1 — optiboot (Uno,
 * newer Nano, Pro Mini) and ATmegaBOOT (older Nano, Duemilanove, Diecimila). As avrdude's
 * `arduino` programmer (avrdude src/arduino.c): auto-reset through DTR/RTS, GET_SYNC with
 * retries (each retry resets again), READ_SIGN, then LOAD_ADDRESS + PROG_PAGE per page and
 * READ_PAGE for verification; LEAVE_PROGMODE starts the application (optiboot: 16 ms watchdog).
 */
import { hex32 } from '../../core/bytes.ts';
import type { Clock } from '../../core/clock.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { SerialLink } from '../../transport/link.ts';
import { runResetSequence } from '../reset-sequence.ts';
import { formatSignature } from './chips.ts';
import { connectWith, identify, type AvrDriver, type AvrDriverOptions } from './driver-common.ts';
import type { AvrProgrammer } from './session.ts';
import { StkParam, Stk500v1Client } from './stk500v1.ts';

export const AVR_STK500V1_PROTOCOL = 'avr-stk500v1' as const;

/**
 * Arduino auto-reset (avrdude 7.1 arduino_open): DTR and RTS released for 250 ms (the reset
 * capacitor discharges), then asserted — the falling edge on the capacitor pulses RESET. avrdude
 * then waits 50 ms and drains the line until it is quiet for 250 ms; here 100 ms, enough for the
 * 65 ms start-up of the Arduino fuse setting (ATmega328P §13.4) and short of optiboot's 1 s.
 */
const ARDUINO_AUTO_RESET = 'U0,0|W250|U1,1|W100';

/**
 * GET_SYNC tries at each line speed while several are probed (`fallbackBaudRates`): each try
 * resets the board again, so 4 tries at three rates cost about as long as avrdude's 10 at one.
 */
const PROBE_SYNC_ATTEMPTS = 4;

class Stk500v1Programmer implements AvrProgrammer {
  constructor(
    readonly client: Stk500v1Client,
    private readonly reenter: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  async writePage(address: number, page: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.client.loadFlashAddress(address, { signal });
    await this.client.progPage(page, { signal });
  }

  async readFlash(address: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    await this.client.loadFlashAddress(address, { signal });
    return this.client.readPage(length, { signal });
  }

  async resync(signal?: AbortSignal): Promise<void> {
    // optiboot answers a broken frame with a watchdog reset into the application
    // (optiboot.c verifySpace): get back through the auto-reset, as avrdude does.
    this.log.debug('Resetting into the bootloader to get back in step.');
    await this.client.drain(signal);
    await this.client.sync({ signal, attempts: 4, beforeAttempt: this.reenter });
  }

  async leave(): Promise<void> {
    await this.client.leaveProgmode();
  }

  async close(): Promise<void> {
    await this.client.link.close();
  }
}

/**
 * GET_SYNC at the link's rate, then — when the bootloader does not answer and
 * `fallbackBaudRates` are given (nothing told its speed: an FTDI or CH340 adapter's USB ids say
 * nothing of the board) — at each other rate in turn, resetting the board before each try.
 * Logs the rate that answered when it was not the first.
 * @throws {ProtocolError} 'protocol.no-sync' when no rate answers.
 */
async function syncAtSomeRate(
  link: SerialLink,
  client: Stk500v1Client,
  driverOptions: AvrDriverOptions,
  session: { reenter: () => Promise<void>; log: Logger; signal?: AbortSignal | undefined },
): Promise<void> {
  const { reenter, log, signal } = session;
  const first = link.baudRate;
  const rates = [first, ...(driverOptions.fallbackBaudRates ?? []).filter((r) => r !== first)];
  const attempts = driverOptions.syncAttempts ?? (rates.length > 1 ? PROBE_SYNC_ATTEMPTS : 10);
  for (let i = 0; ; i++) {
    try {
      await client.sync({ signal, attempts, beforeAttempt: reenter });
      break;
    } catch (err) {
      const next = rates[i + 1];
      if (!(err instanceof ProtocolError) || err.code !== 'protocol.no-sync') throw err;
      if (next === undefined) {
        if (rates.length === 1) throw err;
        throw new ProtocolError(
          'protocol.no-sync',
          `The AVR bootloader does not answer at ${rates.join(', ')} baud (STK500).`,
          { cause: err, hints: err.hints },
        );
      }
      log.info(`No answer from the bootloader at ${rates[i]} baud; trying ${next} baud.`);
      await link.setBaudRate(next);
      await reenter();
    }
  }
  if (link.baudRate !== first) {
    log.info(`The bootloader answered at ${link.baudRate} baud.`);
  }
}

/** Opens an STK500v1 session on an open link. */
async function openStk500v1(
  link: SerialLink,
  driverOptions: AvrDriverOptions,
  session: {
    clock: Clock;
    logger: Logger;
    signal?: AbortSignal | undefined;
  },
) {
  const { clock, signal } = session;
  const log = session.logger.child('avr');
  const sequence =
    driverOptions.enterSequence === undefined ? ARDUINO_AUTO_RESET : driverOptions.enterSequence;
  const reenter = async (): Promise<void> => {
    if (sequence) await runResetSequence(link, sequence, { clock, signal });
    link.input.discard();
  };
  await reenter();
  const client = new Stk500v1Client(link, driverOptions.stk500v1Timeouts);
  await syncAtSomeRate(link, client, driverOptions, { reenter, log, signal });
  const hw = await client.getParameter(StkParam.HW_VER, { signal });
  const major = await client.getParameter(StkParam.SW_MAJOR, { signal });
  const minor = await client.getParameter(StkParam.SW_MINOR, { signal });
  const signature = await client.readSignature({ signal });
  await client.enterProgmode({ signal });
  // optiboot reports its version (4.4, 8.0…) as the software version; ATmegaBOOT reports 1.x
  // and sits in a 2 KiB boot section (Arduino boards.txt: high fuse 0xDA).
  const family = major >= 4 ? 'optiboot' : 'ATmegaBOOT';
  const programmer = new Stk500v1Programmer(client, reenter, log);
  return identify({
    protocol: AVR_STK500V1_PROTOCOL,
    programmer: () => programmer,
    signature,
    logger: log,
    driverOptions,
    minimumBootSection: family === 'optiboot' ? 0 : 2048,
    bootloaderVersion: `${major}.${minor}`,
    details: {
      Bootloader: `${family} ${major}.${minor} (STK500v1)`,
      'Hardware version': `0x${hw.toString(16)}`,
      Signature: formatSignature(signature),
    },
    describe: (bootStart) => `application flash up to ${hex32(bootStart)}`,
    ...(driverOptions.checkPages === undefined ? {} : { checkPages: driverOptions.checkPages }),
  });
}

/** Builds the 'avr-stk500v1' driver. */
export function createAvrStk500v1Driver(
  options: AvrDriverOptions = {},
): AvrDriver<typeof AVR_STK500V1_PROTOCOL> {
  return connectWith(AVR_STK500V1_PROTOCOL, 115_200, options, openStk500v1);
}
