/**
 * The 'avr109' driver: boards with native USB and the Caterina bootloader (Arduino Leonardo,
 * Micro), as avrdude's `avr109` programmer drives it (avrdude src/butterfly.c) after the Arduino
 * IDE's "1200-baud touch".
 *
 * connect: when the port is the sketch's (not a known bootloader identity), open it at 1200 baud
 * and close it — the sketch then resets into Caterina, whose USB port appears under another
 * product id — and follow the board to the new port with the PortWatcher; then ESC + 'S'
 * (identifier), 'V', 'p', 'a', 'b' (block size), 's' (signature), 'P'. Writes: 'A' (word
 * address) + 'B' size 'F' page per page (Caterina erases and writes the page); reads 'g'.
 * reset: 'E' — Caterina starts the sketch 500 ms later (and the port changes again).
 */
import type { Clock } from '../../core/clock.ts';
import { ProtocolError, TransportError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PortInfo, PortWatcher, SerialLink, SerialPortHandle } from '../../transport/link.ts';
import { Avr109Client } from './avr109.ts';
import { formatSignature } from './chips.ts';
import {
  identify,
  type AvrConnectOptions,
  type AvrDriver,
  type AvrDriverOptions,
} from './driver-common.ts';
import type { AvrProgrammer, AvrSession } from './session.ts';
import { avrBoardForUsb } from './usb-ids.ts';

export const AVR109_PROTOCOL = 'avr109' as const;

/** True when the port is a Caterina bootloader's own USB serial port (usb-ids.ts). */
export function isCaterinaBootloader(info: PortInfo): boolean {
  return avrBoardForUsb(info.usbVendorId, info.usbProductId)?.bootloader === true;
}

export interface Avr109DriverOptions extends AvrDriverOptions {
  /** Follows the board from its sketch's port to its bootloader's. Needed for the touch. */
  portWatcher?: PortWatcher;
  /** 'auto' (default): touch unless the port already is a known bootloader port. */
  touch?: 'auto' | 'always' | 'never';
  /** How long to wait for the bootloader's port after the touch (default 8000 ms). */
  reenumerationTimeoutMs?: number;
}

class Avr109Programmer implements AvrProgrammer {
  private next = -1;

  constructor(readonly client: Avr109Client) {}

  async writePage(address: number, page: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (address !== this.next) await this.client.setAddress(address, { signal });
    this.next = -1;
    await this.client.writeBlock(page, { signal });
    this.next = address + page.length;
  }

  async readFlash(address: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    // Block reads advance the address too (Caterina.c ReadWriteMemoryBlock): a run of pages
    // sets it once.
    if (address !== this.next) await this.client.setAddress(address, { signal });
    this.next = -1;
    const data = await this.client.readBlock(length, { signal });
    this.next = address + length + (length % 2);
    return data;
  }

  async resync(signal?: AbortSignal): Promise<void> {
    // A block cut short leaves Caterina waiting for the rest: ESC fills it (then the page is
    // written again), and ESC on its own gets no answer.
    this.next = -1;
    await this.client.link.write(new Uint8Array(260).fill(0x1b));
    await this.client.sync({ signal, attempts: 4 });
  }

  async leave(): Promise<void> {
    await this.client.expectCr('E');
  }

  async close(): Promise<void> {
    await this.client.link.close();
  }
}

/** Opens the bootloader's port, touching the sketch's first when needed. */
async function reachBootloader(
  port: SerialPortHandle,
  driverOptions: Avr109DriverOptions,
  session: { clock: Clock; logger: Logger; signal?: AbortSignal | undefined },
): Promise<SerialPortHandle> {
  const touch = driverOptions.touch ?? 'auto';
  if (touch === 'never' || (touch === 'auto' && isCaterinaBootloader(port.info))) return port;
  const watcher = driverOptions.portWatcher;
  if (!watcher) {
    throw new TransportError(
      'transport.open-failed',
      'This board must be followed to its bootloader port, which needs a port watcher.',
      { hints: ['Press RESET twice quickly and choose the port that appears.'] },
    );
  }
  session.logger.info('1200-baud touch: asking the sketch to restart into the bootloader.');
  try {
    const touched = await port.open({ baudRate: 1200 });
    await touched.close(); // DTR drops at 1200 baud (Arduino core CDC.cpp)
  } catch (err) {
    // The sketch's port is gone — e.g. a reconnect after an earlier touch, with Caterina
    // still running: look for the bootloader's port all the same.
    if ((err as { code?: unknown }).code !== 'transport.device-lost') throw err;
    session.logger.info("The sketch's port is gone; looking for the bootloader's port.");
  }
  return watcher.waitForReturn(port, {
    timeoutMs: driverOptions.reenumerationTimeoutMs ?? 8000,
    signal: session.signal,
    accept: isCaterinaBootloader,
  });
}

async function openAvr109(
  link: SerialLink,
  driverOptions: AvrDriverOptions,
  session: { clock: Clock; logger: Logger; signal?: AbortSignal | undefined },
): Promise<AvrSession> {
  const { signal } = session;
  const log = session.logger.child('avr');
  const client = new Avr109Client(link, driverOptions.replyTimeoutMs);
  const id = await client.sync({ signal, attempts: driverOptions.syncAttempts ?? 10 });
  const version = String.fromCharCode(...(await client.ask('V', 2, { signal })));
  const type = String.fromCharCode(...(await client.ask('p', 1, { signal })));
  const autoIncrement = (await client.ask('a', 1, { signal }))[0] === 0x59;
  const block = await client.blockSize({ signal });
  if (!block || !autoIncrement) {
    throw new ProtocolError(
      'protocol.unsupported',
      'This AVR109 bootloader lacks block mode or address auto-increment.',
    );
  }
  const signature = await client.readSignature({ signal });
  await client.expectCr('P', { signal });
  return identify({
    protocol: AVR109_PROTOCOL,
    programmer: () => new Avr109Programmer(client),
    signature,
    logger: log,
    driverOptions,
    bootloaderVersion: `${version[0] ?? '?'}.${version[1] ?? '?'}`,
    details: {
      Bootloader: `${id} ${version[0] ?? '?'}.${version[1] ?? '?'} (AVR109, ${type === 'S' ? 'serial' : type})`,
      'Block size': `${block} bytes`,
      Signature: formatSignature(signature),
    },
  });
}

/** Builds the 'avr109' driver. */
export function createAvr109Driver(
  options: Avr109DriverOptions = {},
): AvrDriver<typeof AVR109_PROTOCOL> {
  return {
    id: AVR109_PROTOCOL,
    protocol: AVR109_PROTOCOL,
    async connect(port: SerialPortHandle, connect: AvrConnectOptions): Promise<AvrSession> {
      const target = await reachBootloader(port, options, connect);
      const baudRate = connect.baudRate ?? options.baudRate ?? 57_600;
      const link = await target.open({ baudRate });
      try {
        const session = await openAvr109(link, options, connect);
        session.linkBaud = baudRate;
        return session;
      } catch (err) {
        await link.close().catch(() => undefined);
        throw err;
      }
    },
  };
}
