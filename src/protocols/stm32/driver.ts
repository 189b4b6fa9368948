/**
 * The 'stm32-usart' protocol driver: a FlashSession (src/protocols/driver.ts) over the STM32
 * system bootloader's USART protocol (ST AN3155), for the flash engine.
 *
 * connect: optional reset into the bootloader (BOOT0/NRST on DTR/RTS), 0x7F autobaud (at the
 * rate link-speed.ts picks for 'auto'), GET, GET_VERSION, GET_ID → chip table, then UID, flash
 * size and bootloader ID with READ_MEMORY (which also tells whether read protection is on).
 * write: erases only the pages/sectors the image touches (unless the chip was mass-erased),
 * then WRITE_MEMORY in 256-byte blocks; a failure carries `confirmedBytes` so the engine can
 * resume from the first unconfirmed block. verify: GET_CHECKSUM where offered, else read-back.
 */
import { equalBytes, hex32, toHex } from '../../core/bytes.ts';
import type { Clock } from '../../core/clock.ts';
import { ProtocolError, UsageError, VerificationError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { SerialLink, SerialPortHandle } from '../../transport/link.ts';
import type {
  DeltaUnit,
  DeviceIdentity,
  FlashRange,
  FlashRegion,
  FlashSession,
  SessionOptions,
  WriteOptions,
} from '../driver.ts';
import type { BaudSetting } from '../link-speed.ts';
import { runResetSequence } from '../reset-sequence.ts';
import {
  chipByProductId,
  describeLayout,
  flashSize,
  sectorsTouched,
  type FlashSector,
  type Stm32Chip,
} from './chips.ts';
import { Stm32Client, type Stm32Timeouts } from './client.ts';
import { readProtectedError } from './errors.ts';
import { Command, MAX_BLOCK, MassErase, commandNames } from './commands.ts';
import { stm32Crc } from './crc.ts';
import { compareSectors } from './delta.ts';
import { openAtBestRate } from './link-speed.ts';
import {
  compareBlock,
  padTo4,
  probeChip,
  retryTransient,
  transient,
  withConfirmed,
  type Probe,
} from './session-support.ts';

const STM32_PROTOCOL = 'stm32-usart' as const;

/**
 * Into the bootloader on boards whose adapter drives BOOT0 from DTR (asserted = high, through
 * an inverter) and NRST from RTS (asserted = low): BOOT0 high, reset pulse, bootloader start-up.
 * DTR stays asserted so that any reset during the session comes back to the bootloader.
 */
const STM32_ENTER_BOOTLOADER = 'D1|R1|W100|R0|W100';
/** Back to the application with the same wiring: BOOT0 low, reset pulse. */
const STM32_RUN_APPLICATION = 'D0|R1|W100|R0';

export interface Stm32DriverOptions {
  /** Line speed for autobaud; the bootloader follows the host (AN3155 §2). Default 115200. */
  baudRate?: number;
  /** Sequence played after opening the port; `null` leaves DTR/RTS alone. Default STM32_ENTER_BOOTLOADER. */
  enterSequence?: string | null;
  /** How `reset()` starts the firmware: GO to the vector table (default) or the exit sequence. */
  resetMethod?: 'go' | 'sequence';
  /** Default STM32_RUN_APPLICATION. */
  exitSequence?: string;
  /**
   * Lets a read-protected chip be unlocked with READOUT_UNPROTECT, WHICH ERASES ALL OF ITS
   * FLASH. Default false: such a chip fails with 'protocol.read-protected'.
   */
  allowReadoutUnprotect?: boolean;
  /** 'auto' (default): GET_CHECKSUM where the bootloader lists it, else read-back. */
  verifyMethod?: 'auto' | 'read' | 'crc';
  timeouts?: Partial<Stm32Timeouts>;
}

/** What `connect` takes (the engine's ConnectOptions fit). */
interface Stm32ConnectOptions extends SessionOptions {
  baudRate?: BaudSetting | undefined; // 'auto': link-speed.ts `openAtBestRate`
}

/** The driver object the engine holds: `{ id, connect }` (the engine's Connector). */
export interface Stm32Driver {
  readonly id: typeof STM32_PROTOCOL;
  /** Same as `id`. */
  readonly protocol: typeof STM32_PROTOCOL;
  readonly autoBaud: true;
  connect(port: SerialPortHandle, options: Stm32ConnectOptions): Promise<Stm32Session>;
}

/**
 * Builds a driver with the given options.
 * @example const job = new FlashJob({ connector: createStm32Driver({ enterSequence: null }), … })
 */
export function createStm32Driver(driverOptions: Stm32DriverOptions = {}): Stm32Driver {
  return {
    id: STM32_PROTOCOL,
    protocol: STM32_PROTOCOL,
    autoBaud: true,
    async connect(port, options) {
      const open = async (baudRate: number): Promise<Stm32Session> => {
        const link = await port.open({ baudRate, parity: 'even' });
        return Stm32Session.open(link, driverOptions, { ...options, baudRate }).catch(
          async (err: unknown) => {
            await link.close().catch(() => undefined);
            throw err;
          },
        );
      };
      const { baudRate = driverOptions.baudRate ?? 115_200, logger = silentLogger } = options;
      if (baudRate !== 'auto') return open(baudRate);
      const canReset = driverOptions.enterSequence !== null;
      return openAtBestRate({ port: port.info, open, canReset, logger });
    },
  };
}

/** An open session with one STM32 bootloader. */
class Stm32Session implements FlashSession {
  identity: DeviceIdentity;
  readonly client: Stm32Client;
  readonly chip: Stm32Chip;
  private readonly link: SerialLink;
  private readonly options: Stm32DriverOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readProtected: boolean;
  /** The flash was mass-erased; regions written since then (a rewrite must erase again). */
  private massErased = false;
  private readonly writtenSinceMassErase = new Set<string>();
  private readonly flashBytes: number;
  /** The line speed, for the delta cost model. */
  private readonly baudRate: number;
  /** The main flash from the chip table, capped by the size the chip reports (AN2606). */
  readonly flashRanges: readonly FlashRange[];

  private constructor(init: {
    link: SerialLink;
    client: Stm32Client;
    chip: Stm32Chip;
    options: Stm32DriverOptions;
    session: Stm32ConnectOptions;
    identity: DeviceIdentity;
    probe: Probe;
  }) {
    this.link = init.link;
    this.client = init.client;
    this.chip = init.chip;
    this.options = init.options;
    this.clock = init.session.clock;
    this.log = init.session.logger;
    this.identity = init.identity;
    this.readProtected = init.probe.readProtected;
    const rate = init.session.baudRate;
    this.baudRate = typeof rate === 'number' ? rate : 115_200;
    this.flashBytes = Math.min(flashSize(init.chip), (init.probe.flashKiB ?? Infinity) * 1024);
    const start = init.chip.flash.start;
    this.flashRanges = [{ start, end: start + this.flashBytes, name: `${init.chip.name} flash` }];
  }

  /** Enters the bootloader on an open link and identifies the chip. */
  static async open(
    link: SerialLink,
    options: Stm32DriverOptions,
    session: Stm32ConnectOptions,
  ): Promise<Stm32Session> {
    const { clock, signal } = session;
    const log = session.logger ?? silentLogger;
    const enter =
      options.enterSequence === undefined ? STM32_ENTER_BOOTLOADER : options.enterSequence;
    if (enter) await runResetSequence(link, enter, { clock, signal });
    const client = new Stm32Client(link, {
      clock,
      logger: log,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    const synced = await client.sync({ signal, attempts: 6 });
    log.debug(
      synced === 'ack'
        ? 'Bootloader synchronised (ACK to 0x7F).'
        : 'Bootloader was already synchronised.',
    );
    // Identification is read-only: a damaged or lost reply is simply asked again after a resync.
    const again = <T>(step: () => Promise<T>): Promise<T> => retryTransient(client, step, signal);
    const get = await again(() => client.get({ signal }));
    const version = await again(() => client.getVersion({ signal }));
    const productId = await again(() => client.getId({ signal }));
    const chip = chipByProductId(productId);
    if (!chip) {
      throw new ProtocolError(
        'protocol.unsupported',
        `Unknown STM32 product id 0x${productId.toString(16)}.`,
        {
          hints: [
            "This chip is not in webflash's STM32 table; check that the bundle targets this board.",
          ],
        },
      );
    }
    const probe = await probeChip(chip, (address, n) =>
      again(() => client.readMemory(address, n, { signal })),
    );
    const flashBytes = Math.min(flashSize(chip), (probe.flashKiB ?? Infinity) * 1024);
    const details: Record<string, string> = {
      'Product ID': `0x${productId.toString(16).padStart(3, '0')}`,
      'Flash layout': describeLayout(chip),
      'Read protection': probe.readProtected ? 'on (level 1)' : 'off',
      Commands: get.commands.map((c) => commandNames[c] ?? `0x${c.toString(16)}`).join(', '),
      'Option bytes (GET_VERSION)': `0x${hex2(version.option1)} 0x${hex2(version.option2)}`,
    };
    if (probe.bootloaderId !== undefined) {
      details['Bootloader ID'] =
        `0x${hex2(probe.bootloaderId)} (V${probe.bootloaderId >> 4}.${probe.bootloaderId & 15})`;
    }
    const identity: DeviceIdentity = {
      protocol: STM32_PROTOCOL,
      chip: chip.chip,
      name: chip.name,
      flashSize: flashBytes,
      bootloaderVersion: `${get.version >> 4}.${get.version & 15}`,
      details,
    };
    if (probe.uid) identity.uniqueId = toHex(probe.uid);
    log.info(
      `Connected to ${chip.name} (product id 0x${productId.toString(16)}), bootloader protocol ${identity.bootloaderVersion}.`,
    );
    return new Stm32Session({ link, client, chip, options, session, identity, probe });
  }

  /** True when the chip answered with read protection on. */
  get isReadProtected(): boolean {
    return this.readProtected;
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    const { signal, onProgress } = options;
    this.checkRegion(region);
    await this.ensureUnprotected(signal);
    const total = region.data.length;
    let start = Math.floor(Math.min(options.resumeFrom ?? 0, total) / MAX_BLOCK) * MAX_BLOCK;
    if (start === 0) {
      const fresh = this.massErased && !this.writtenSinceMassErase.has(region.name);
      if (!fresh) await this.eraseFor(region, options);
      if (this.massErased) this.writtenSinceMassErase.add(region.name);
    } else {
      start = await this.checkResumePoint(region, start, signal);
    }
    let wire = 0;
    for (let off = start; off < total; off += MAX_BLOCK) {
      const chunk = region.data.subarray(off, Math.min(total, off + MAX_BLOCK));
      await this.writeBlock(region.address + off, chunk, off, signal);
      wire += chunk.length + 10;
      onProgress?.({
        phase: 'write',
        region: region.name,
        bytesDone: off + chunk.length,
        bytesTotal: total,
        wireBytes: wire,
      });
    }
  }

  /**
   * Delta update (delta.ts): GET_CHECKSUM per page/sector where offered, else read-compare
   * where the cost model says it pays; nothing on a read-protected or freshly erased chip.
   */
  async compareUnits(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[] | undefined> {
    this.checkRegion(region);
    if (this.readProtected || this.massErased) return undefined;
    const crc =
      this.options.verifyMethod !== 'read' && this.client.commands.includes(Command.GET_CHECKSUM);
    return compareSectors(this.client, this.chip, region, {
      ...options, // signal, onProgress
      crc,
      baudRate: this.baudRate,
    });
  }

  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    const { signal, onProgress } = options;
    this.checkRegion(region);
    if (this.readProtected) throw readProtectedError(Command.READ_MEMORY);
    const total = region.data.length;
    const method = this.options.verifyMethod ?? 'auto';
    const crcOffered = this.client.commands.includes(Command.GET_CHECKSUM);
    if (method === 'crc' && !crcOffered) {
      throw new ProtocolError(
        'protocol.unsupported',
        'This bootloader has no GET_CHECKSUM command.',
      );
    }
    let from = 0;
    if (method !== 'read' && crcOffered && region.address % 4 === 0 && total >= 4) {
      const len = total - (total % 4);
      const crc = await this.client.checksum(region.address, len, { signal });
      if (crc !== stm32Crc(region.data.subarray(0, len))) {
        throw new VerificationError(
          `${region.name}: the CRC of ${len} bytes at ${hex32(region.address)} does not match the image.`,
          { hints: ['Write the image again.'] },
        );
      }
      from = len;
      onProgress?.({ phase: 'verify', region: region.name, bytesDone: len, bytesTotal: total });
    }
    for (let off = from; off < total; off += MAX_BLOCK) {
      const want = region.data.subarray(off, Math.min(total, off + MAX_BLOCK));
      // The verify contract has no resume point: a block whose read times out or comes back
      // garbled is read again after a resync, instead of failing the whole pass.
      for (let attempt = 1; ; attempt++) {
        try {
          await compareBlock(this.client, region, off, want, signal);
          break;
        } catch (err) {
          if (attempt >= 4 || !transient(err)) throw err;
          this.log.debug(
            `Reading ${hex32(region.address + off)} again (${(err as Error).message}).`,
          );
          await this.client.resync({ signal });
        }
      }
      onProgress?.({
        phase: 'verify',
        region: region.name,
        bytesDone: off + want.length,
        bytesTotal: total,
      });
    }
  }

  /** Mass erase (EXTENDED_ERASE 0xFFFF or ERASE 0xFF 0x00): the engine's "erase whole chip". */
  async eraseAll(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    await this.ensureUnprotected(options.signal);
    await this.client.erase({ kind: 'mass', code: MassErase.ALL }, options);
    this.massErased = true;
    this.writtenSinceMassErase.clear();
  }

  async resync(signal?: AbortSignal): Promise<void> {
    await this.client.resync({ signal });
  }

  async reset(): Promise<void> {
    if (this.options.resetMethod === 'sequence') {
      await runResetSequence(this.link, this.options.exitSequence ?? STM32_RUN_APPLICATION, {
        clock: this.clock,
      });
      return;
    }
    if (this.readProtected) throw readProtectedError(Command.GO);
    // GO loads the stack pointer from the vector table at the start of flash and jumps to its
    // reset handler (AN3155 §3.5). Then BOOT0 may go low again: it only matters at reset.
    await this.client.go(this.chip.flash.start);
    if (this.options.enterSequence !== null)
      await this.link.setSignals({ dataTerminalReady: false });
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  private checkRegion(region: FlashRegion): void {
    const start = this.chip.flash.start;
    if (region.address < start || region.address + region.data.length > start + this.flashBytes) {
      throw new UsageError(
        `${region.name} (${hex32(region.address)}, ${region.data.length} bytes) lies outside the ` +
          `flash of this ${this.chip.name} (${hex32(start)}, ${this.flashBytes / 1024} KiB).`,
        { hints: ['Check that the bundle was built for this chip.'] },
      );
    }
  }

  private async ensureUnprotected(signal: AbortSignal | undefined): Promise<void> {
    if (!this.readProtected) return;
    if (!this.options.allowReadoutUnprotect) throw readProtectedError();
    this.log.warn('Removing read protection: READOUT_UNPROTECT erases the whole flash.');
    await this.client.readoutUnprotect({ signal });
    await this.client.sync({ signal, attempts: 10 }); // the chip resets (AN3155 §3.12)
    await this.client.get({ signal });
    this.readProtected = false;
    this.massErased = true;
    this.writtenSinceMassErase.clear();
    this.identity = {
      ...this.identity,
      details: { ...this.identity.details, 'Read protection': 'off (unprotected, flash erased)' },
    };
  }

  /** Erases the pages or sectors the region touches, in commands of up to 32 units / 64 KiB. */
  private async eraseFor(region: FlashRegion, options: WriteOptions): Promise<void> {
    const sectors = sectorsTouched(this.chip, region.address, region.data.length);
    const total = region.data.length;
    const end = region.address + total;
    let batch: FlashSector[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      try {
        await this.client.erase(
          { kind: 'pages', pages: batch.map((s) => s.index) },
          { signal: options.signal },
        );
      } catch (err) {
        throw withConfirmed(err, 0);
      }
      const last = batch[batch.length - 1]!;
      const done = Math.min(end, last.address + last.size) - region.address;
      options.onProgress?.({
        phase: 'erase',
        region: region.name,
        bytesDone: done,
        bytesTotal: total,
      });
      batch = [];
    };
    for (const s of sectors) {
      batch.push(s);
      if (batch.length >= 32 || batch.reduce((n, b) => n + b.size, 0) >= 65536) await flush();
    }
    await flush();
  }

  /**
   * WRITE_MEMORY of one block. After a timeout or a NACK caused by a damaged frame, the block is
   * read back after a resync: already written (its ACK was lost) → done; still erased → written
   * again; anything else → the error goes to the engine with this block as the resume point
   * (which erases the sector again: ECC flash refuses to program a word twice).
   */
  private async writeBlock(
    address: number,
    chunk: Uint8Array,
    off: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.writeMemory(address, padTo4(chunk), { signal });
        return;
      } catch (err) {
        if (attempt >= 3 || !transient(err)) throw withConfirmed(err, off);
        this.log.debug(
          `Block at ${hex32(address)} failed (${(err as Error).message}); checking it.`,
        );
        let have: Uint8Array;
        try {
          await this.client.resync({ signal });
          have = await this.client.readMemory(address, chunk.length, { signal });
        } catch {
          throw withConfirmed(err, off);
        }
        if (equalBytes(have, chunk)) return;
        if (!have.every((b) => b === 0xff)) throw withConfirmed(err, off);
      }
    }
  }

  /**
   * Before resuming at `start`: the block there may have been written after all (its ACK was
   * lost) or half-written with damaged data. Returns where writing must continue; erases the
   * sector again when the block holds something else than erased bytes or the image.
   */
  private async checkResumePoint(
    region: FlashRegion,
    start: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const want = region.data.subarray(start, Math.min(region.data.length, start + MAX_BLOCK));
    const have = await this.client.readMemory(region.address + start, want.length, { signal });
    if (equalBytes(have, want)) return start + want.length;
    if (have.every((b) => b === 0xff)) return start;
    const [sector] = sectorsTouched(this.chip, region.address + start, 1);
    this.log.warn(
      `Block at ${hex32(region.address + start)} holds stray data; erasing its sector again.`,
    );
    try {
      await this.client.erase({ kind: 'pages', pages: [sector!.index] }, { signal });
    } catch (err) {
      throw withConfirmed(err, Math.max(0, sector!.address - region.address));
    }
    const from = Math.max(0, sector!.address - region.address);
    return Math.floor(from / MAX_BLOCK) * MAX_BLOCK;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
