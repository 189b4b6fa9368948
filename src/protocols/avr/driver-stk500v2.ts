/**
 * The 'avr-stk500v2' driver: the Arduino Mega's STK500v2 bootloader (stk500boot.c), as avrdude's
 * `wiring` programmer drives it (avrdude src/wiring.c: DTR/RTS low 50 ms, high 50 ms, then
 * CMD_SIGN_ON; src/stk500v2.c for the rest).
 *
 * stk500boot.c does not erase the page it is asked to program: every PROGRAM_FLASH_ISP erases
 * the page at its own erase pointer, which starts at 0 and moves one page per write (and goes
 * back to 0 on CHIP_ERASE_ISP). So pages must be written in order from 0: before writing a page
 * above the pointer, the pages in between are read and written back as they are; before
 * writing below it, CHIP_ERASE_ISP rewinds the pointer and the pages from 0 are rewritten.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { SerialLink } from '../../transport/link.ts';
import { runResetSequence } from '../reset-sequence.ts';
import { formatSignature } from './chips.ts';
import { connectWith, identify, type AvrDriver, type AvrDriverOptions } from './driver-common.ts';
import type { AvrProgrammer } from './session.ts';
import { Stk500v2Client, V2Param } from './stk500v2.ts';

export const AVR_STK500V2_PROTOCOL = 'avr-stk500v2' as const;

/**
 * avrdude 7.1 wiring_open: DTR/RTS released 50 ms, asserted (the reset pulse), 50 ms and a drain
 * until the line is quiet; here 100 ms after the pulse, past the 65 ms start-up.
 */
const WIRING_AUTO_RESET = 'U0,0|W50|U1,1|W100';

class Stk500v2Programmer implements AvrProgrammer {
  /** The bootloader's erase pointer, as far as this session knows (0 after it starts). */
  private eraseNext = 0;
  /** After a resync without reset: the pointer may be a page ahead (an answer was lost). */
  private uncertain = false;
  /** Where the bootloader's address stands after the last command (-1: not known). */
  private next = -1;
  private readonly extended: boolean;

  constructor(
    readonly client: Stk500v2Client,
    private readonly pageSize: number,
    flashSize: number,
    private readonly reenter: () => Promise<void>,
    private readonly log: Logger,
  ) {
    this.extended = flashSize > 128 * 1024;
  }

  async writePage(address: number, page: Uint8Array, signal?: AbortSignal): Promise<void> {
    // Writing on in order is safe even when the pointer is a page ahead (that page is erased
    // already); filling a gap is not (it would read pages the bootloader erased ahead).
    if (address < this.eraseNext || (this.uncertain && address > this.eraseNext)) {
      this.log.debug(`Rewinding the bootloader's erase pointer to write ${address}.`);
      this.next = -1;
      await this.client.chipErase({ signal });
      this.eraseNext = 0;
      this.uncertain = false;
    }
    while (this.eraseNext < address) {
      const keep = await this.readFlash(this.eraseNext, this.pageSize, signal);
      await this.program(this.eraseNext, keep, signal);
    }
    await this.program(address, page, signal);
  }

  async readFlash(address: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    await this.addressAt(address, signal);
    this.next = -1;
    const data = await this.client.readFlash(length, { signal });
    this.next = address + length + (length % 2);
    return data;
  }

  /**
   * LOAD_ADDRESS unless the bootloader's address already is `address`: PROGRAM_FLASH_ISP and
   * READ_FLASH_ISP advance it past what they moved (AVR068 §6.3, stk500boot.c), so a run of
   * pages needs it once, and again at each 64 KiB boundary, as avrdude sends it (stk500v2.c).
   */
  private async addressAt(address: number, signal?: AbortSignal): Promise<void> {
    if (address === this.next && address % 0x10000 !== 0) return;
    this.next = -1;
    await this.client.loadAddress(address, this.extended, { signal });
    this.next = address;
  }

  async resync(signal?: AbortSignal): Promise<void> {
    this.next = -1;
    // Without a reset first, so that the erase pointer stays where it is: zeros complete a
    // message the bootloader is still collecting (its checksum then fails and it is dropped;
    // stk500boot.c skips bytes other than MESSAGE_START between messages), then SIGN_ON.
    await this.client.drain(signal);
    await this.client.link.write(new Uint8Array(300));
    await this.client.drain(signal);
    try {
      await this.client.signOn({ signal, attempts: 3 });
      this.uncertain = true;
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'protocol.no-sync') throw err;
    }
    // A reset starts the bootloader again with its erase pointer at 0.
    await this.client.signOn({ signal, attempts: 4, beforeAttempt: this.reenter });
    this.eraseNext = 0;
    this.uncertain = false;
  }

  async leave(): Promise<void> {
    await this.client.leaveProgmode();
  }

  async close(): Promise<void> {
    await this.client.link.close();
  }

  private async program(address: number, page: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.addressAt(address, signal);
    this.next = -1;
    await this.client.programFlash(page, { signal });
    this.next = address + page.length + (page.length % 2);
    this.eraseNext = address + this.pageSize;
  }
}

async function openStk500v2(
  link: SerialLink,
  driverOptions: AvrDriverOptions,
  session: { clock: Clock; logger: Logger; signal?: AbortSignal | undefined },
) {
  const { clock, signal } = session;
  const log = session.logger.child('avr');
  const sequence =
    driverOptions.enterSequence === undefined ? WIRING_AUTO_RESET : driverOptions.enterSequence;
  const reenter = async (): Promise<void> => {
    if (sequence) await runResetSequence(link, sequence, { clock, signal });
    link.input.discard();
  };
  await reenter();
  const client = new Stk500v2Client(link, driverOptions.replyTimeoutMs);
  const name = await client.signOn({
    signal,
    attempts: driverOptions.syncAttempts ?? 10,
    beforeAttempt: reenter,
  });
  const hw = await client.getParameter(V2Param.HW_VER, { signal });
  const major = await client.getParameter(V2Param.SW_MAJOR, { signal });
  const minor = await client.getParameter(V2Param.SW_MINOR, { signal });
  const signature = new Uint8Array(3);
  for (let i = 0; i < 3; i++) signature[i] = await client.readSignatureByte(i, { signal });
  await client.enterProgmode({ signal });
  return identify({
    protocol: AVR_STK500V2_PROTOCOL,
    programmer: (chip) =>
      new Stk500v2Programmer(client, chip.pageSize, chip.flashSize, reenter, log),
    signature,
    logger: log,
    driverOptions,
    bootloaderVersion: `${major}.${minor}`,
    details: {
      Bootloader: `${name} ${major}.${minor} (STK500v2)`,
      'Hardware version': `0x${hw.toString(16)}`,
      Signature: formatSignature(signature),
    },
  });
}

/** Builds the 'avr-stk500v2' driver. */
export function createAvrStk500v2Driver(
  options: AvrDriverOptions = {},
): AvrDriver<typeof AVR_STK500V2_PROTOCOL> {
  return connectWith(AVR_STK500V2_PROTOCOL, 115_200, options, openStk500v2);
}
