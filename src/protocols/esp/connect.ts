/**
 * The ESP serial bootloader as a webflash protocol driver ('esp-serial'): enters the ROM
 * loader through reset sequences, synchronises, identifies the chip, uploads esptool's flasher
 * stub where one exists (stub.ts), optionally raises the line speed, then writes regions
 * compressed, verifies them with SPI_FLASH_MD5 and resets into the application.
 * See docs/protocols/esp.md. driver.ts wraps this with the stub images bundled as modules.
 */
import { equalBytes, formatBytes, hex32, toHex } from '../../core/bytes.ts';
import { sleep, untimed, type Clock } from '../../core/clock.ts';
import {
  ProtocolError,
  TransportError,
  VerificationError,
  WebflashError,
  throwIfAborted,
  errorMessage,
} from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { plainDigests, type ImageDigests } from './digests.ts';
import type { PortWatcher, SerialLink, SerialPortHandle } from '../../transport/link.ts';
import type {
  FlashRange,
  DeviceIdentity,
  DeltaUnit,
  FlashRegion,
  FlashSession,
  InstalledFirmware,
  SessionOptions,
  WriteOptions,
} from '../driver.ts';
import type { BaudSetting } from '../link-speed.ts';
import { isNativeUsb, type EspChip } from './chips.ts';
import { compressInline, type CompressFn } from './compress.ts';
import { ESP_ROM_BAUD } from './constants.ts';
import { writeRegion } from './flash-writer.ts';
import { compareBlocks } from './delta.ts';
import { detectChip, flashSizeFromId, readFlashId, readMac, readRevision } from './identify.ts';
import { parseAppDesc, APP_DESC_OFFSET } from './image.ts';
import { EspLoader, type SyncResult } from './loader.ts';
import { raiseLineSpeed, type LinkCeiling } from './link-speed.ts';
import {
  hasStub,
  loadStubImage,
  readFlash,
  runStub,
  type StubImage,
  type StubLoader,
  type StubUploadError,
} from './stub.ts';
import {
  PARTITION_TABLE_MAX_LENGTH,
  PARTITION_TABLE_OFFSET,
  bootAppPartition,
  parsePartitionTable,
} from './partitions.ts';
import { ResetSequences, defaultResetSequences, runResetSequence } from './reset.ts';

export interface EspConnectOptions extends SessionOptions {
  /**
   * Line speed to flash at; the ROM starts at 115200 and is asked to switch. 'auto': the
   * fastest rate the port's adapter and the loader carry (link-speed.ts), stepping down when a
   * rate fails.
   */
  baudRate?: BaudSetting | undefined;
  /** What earlier connects of the same job learned about the link (link-speed.ts). */
  linkCeiling?: LinkCeiling | undefined;
  /** Reset sequences to try in turn (reset.ts notation); default from the port's USB ids. */
  resetSequences?: readonly string[];
  /** Connection attempts, cycling through the sequences (esptool: 7). */
  connectAttempts?: number;
  /** Finds a native-USB board again if it re-enumerates. */
  portWatcher?: PortWatcher;
  /** Compressor for FLASH_DEFL_DATA; default inline (the app may pass a Web Worker one). */
  compress?: CompressFn;
  /** MD5s of the images for the checks against SPI_FLASH_MD5; default computed per session. */
  digests?: ImageDigests | undefined;
  /** Flash size to assume when the flash id cannot be read (default 4 MiB). */
  flashSize?: number;
  /**
   * esptool's flasher stub (stub.ts): 'auto' (default) uploads it when one exists for the chip
   * and falls back to the ROM loader if the upload fails; 'always' fails instead; 'never' talks
   * to the ROM only.
   */
  useStub?: 'auto' | 'never' | 'always';
  /**
   * Where the stub images come from (the JSON of esptool-js `stub_flasher/<chip>.json`, checked
   * by stub.ts `parseStubJson`). driver.ts `connectEsp` defaults to importing them as modules
   * (stub-modules.ts). Without one, `openEspSession` talks to the ROM only ('always' fails).
   * A loader that throws counts as a failed upload: 'auto' falls back to the ROM.
   */
  loadStub?: StubLoader;
}

/** Stub uploads before giving up (a garbled MEM_DATA gets no reply from the ROM). */
const STUB_UPLOAD_ATTEMPTS = 2;
/** SYNC attempts after each reset (loader.py `_connect_attempt`: 5, 50 ms apart). */
const SYNCS_PER_RESET = 5;
const DEFAULT_FLASH_SIZE = 4 * 1024 * 1024;

function isAbort(err: unknown): boolean {
  return err instanceof WebflashError && err.code === 'aborted';
}

/**
 * Opens the port, enters the bootloader, identifies the chip and returns a session. The stub
 * images come only from `options.loadStub` (driver.ts `connectEsp` supplies a default); this
 * module does not reference them, so a page that fetches them as data bundles none.
 * @throws {ProtocolError} 'protocol.no-sync' when the board never answers; 'protocol.wrong-chip'.
 */
export async function openEspSession(
  port: SerialPortHandle,
  options: EspConnectOptions,
): Promise<EspSession> {
  const { clock, signal } = options;
  const logger = options.logger.child('esp');
  const link = await port.open({ baudRate: ESP_ROM_BAUD });
  try {
    const loader = new EspLoader({ link, clock, logger });
    await enterBootloader(loader, port, options);
    const detected = await detectChip(loader, signal);
    const chip = detected.chip;
    logger.info(`chip is ${chip.name} (found by ${detected.method})`);
    const revision = await readRevision(loader, chip, signal);
    const mac = await readMac(loader, chip, signal);
    await startStub(loader, port, options);

    // Speed next: a fallback may reset the chip, which would undo SPI_ATTACH.
    const ladder = await raiseLineSpeed(loader, {
      requested: options.baudRate ?? ESP_ROM_BAUD,
      port: port.info,
      nativeUsb: isNativeUsb(port.info, chip),
      ceiling: options.linkCeiling,
      signal,
      reenter: async () => {
        // A reset ends the stub too: back to the ROM, and the stub again if it was running.
        loader.isStub = false;
        await enterBootloader(loader, port, options);
        await startStub(loader, port, options);
      },
    });

    let flashSize: number | undefined;
    let flashId: number | undefined;
    if (chip.romSupportsSpiAttach) {
      await loader.spiAttach(signal);
      try {
        flashId = await readFlashId(loader, chip, signal);
        flashSize = flashSizeFromId(flashId);
      } catch (err) {
        if (err instanceof WebflashError && err.code === 'aborted') throw err;
        logger.warn(`could not read the flash id: ${(err as Error).message}`);
        loader.flushInput();
      }
      const size = flashSize ?? options.flashSize ?? DEFAULT_FLASH_SIZE;
      if (flashSize === undefined) logger.warn(`flash size unknown, assuming ${formatBytes(size)}`);
      await loader.spiSetParams(size, signal);
    }

    const details: Record<string, string> = {
      Loader: loader.isStub ? 'flasher stub' : 'ROM',
      'Line speed': `${link.baudRate} baud`,
    };
    if (flashId !== undefined) details['Flash id'] = hex32(flashId);
    if (detected.securityInfo) {
      details['Secure boot'] = detected.securityInfo.flags & 1 ? 'enabled' : 'off';
      details['Flash encryption count'] = String(detected.securityInfo.flashCryptCnt);
    }
    const identity: DeviceIdentity = {
      protocol: 'esp-serial',
      chip: chip.id,
      name: revision ? `${chip.name} (revision ${revision})` : chip.name,
      uniqueId: mac,
      details,
    };
    if (revision) identity.revision = revision;
    if (flashSize !== undefined) identity.flashSize = flashSize;
    return new EspSession({ port, link, loader, chip, identity, options, logger, ladder });
  } catch (err) {
    await link.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Uploads and starts the flasher stub as `options.useStub` asks. In 'auto' mode a failed upload
 * falls back to the ROM: if the stub was never started the ROM is still listening; otherwise
 * the chip is reset into the bootloader again.
 */
async function startStub(
  loader: EspLoader,
  port: SerialPortHandle,
  options: EspConnectOptions,
): Promise<void> {
  const mode = options.useStub ?? 'auto';
  const chip = loader.chip;
  if (mode === 'never' || !chip || loader.isStub) return;
  if (!hasStub(chip.id) || !options.loadStub) {
    if (mode === 'always') {
      throw new ProtocolError('protocol.unsupported', `No flasher stub for ${chip.name}`);
    }
    return;
  }
  let image: StubImage;
  try {
    image = await untimed(options.clock, loadStubImage(chip.id, options.loadStub));
  } catch (err) {
    // Loading the image (a fetch on a page) failed: the ROM is untouched and still listening.
    throwIfAborted(options.signal);
    if (mode === 'always') throw err;
    const why = errorMessage(err);
    loader.logger.warn(`the flasher stub could not be loaded (${why}); using the ROM loader`);
    return;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await runStub(loader, image, options.signal);
      return;
    } catch (err) {
      if (!(err instanceof WebflashError) || err.code === 'aborted') throw err;
      if (err.code.startsWith('transport.')) throw err;
      loader.isStub = false;
      loader.flushInput();
      // The ROM still listens unless it jumped into a half-loaded stub: then reset.
      if ((err as StubUploadError).jumped) await enterBootloader(loader, port, options);
      if (attempt < STUB_UPLOAD_ATTEMPTS) {
        loader.logger.warn(`uploading the flasher stub failed (${err.message}); trying again`);
        continue;
      }
      if (mode === 'always') throw err;
      loader.logger.warn(`the flasher stub did not start (${err.message}); using the ROM loader`);
      return;
    }
  }
}

/** Reset sequences then SYNC until the ROM answers (loader.py `connect` / `_connect_attempt`). */
async function enterBootloader(
  loader: EspLoader,
  port: SerialPortHandle,
  options: EspConnectOptions,
): Promise<void> {
  const { clock, signal } = options;
  const sequences = options.resetSequences?.length
    ? options.resetSequences
    : defaultResetSequences({
        ...(port.info.usbVendorId === undefined ? {} : { vendorId: port.info.usbVendorId }),
        ...(port.info.usbProductId === undefined ? {} : { productId: port.info.usbProductId }),
      });
  const attempts = options.connectAttempts ?? 7;
  let last: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const sequence = sequences[attempt % sequences.length]!;
    throwIfAborted(signal);
    loader.logger.debug(`reset: ${sequence}`);
    loader.flushInput();
    await runResetSequence(loader.link, sequence, { clock, signal });
    for (let i = 0; i < SYNCS_PER_RESET; i++) {
      loader.flushInput();
      try {
        const { stubDetected } = await loader.sync(signal);
        if (stubDetected) loader.logger.warn('a flasher stub, not the ROM, is answering');
        loader.flushInput();
        return;
      } catch (err) {
        if (!(err instanceof WebflashError) || err.code === 'aborted') throw err;
        if (err.code.startsWith('transport.')) throw err;
        last = err;
        await sleep(clock, 50, signal);
      }
    }
  }
  throw new ProtocolError(
    'protocol.no-sync',
    'The board did not answer: it is not in its bootloader',
    {
      cause: last,
      hints: [
        'Hold the BOOT (IO0) button, press and release RESET (EN), then release BOOT, and try again.',
        'Close any other program or browser tab using this port (serial monitors, IDEs).',
        'Use a data USB cable, not a charge-only one.',
      ],
    },
  );
}

interface SessionParts {
  port: SerialPortHandle;
  link: SerialLink;
  loader: EspLoader;
  chip: EspChip;
  identity: DeviceIdentity;
  options: EspConnectOptions;
  logger: Logger;
  /** 'auto' only: the rates below the chosen one, highest first, for a step down. */
  ladder: readonly number[];
}

/** Failed attempts at one rate after which an 'auto' link steps down a rung. */
const STRIKES_BEFORE_STEP_DOWN = 2;

/** An open conversation with an ESP ROM loader. */
export class EspSession implements FlashSession {
  readonly identity: DeviceIdentity;
  readonly loader: EspLoader;
  readonly chip: EspChip;
  private readonly port: SerialPortHandle;
  private readonly link: SerialLink;
  private readonly clock: Clock;
  private readonly compress: CompressFn;
  private readonly logger: Logger;
  private readonly options: EspConnectOptions;
  /** Lower rungs still to step down to ('auto'). */
  private lower: readonly number[];
  /** Resyncs (failed attempts) at the current rate, in this session. */
  private strikes = 0;

  constructor(parts: SessionParts) {
    this.identity = parts.identity;
    this.loader = parts.loader;
    this.chip = parts.chip;
    this.port = parts.port;
    this.link = parts.link;
    this.clock = parts.options.clock;
    this.compress = parts.options.compress ?? compressInline;
    this.logger = parts.logger;
    this.options = parts.options;
    this.lower = parts.ladder;
    const size = parts.identity.flashSize;
    if (size !== undefined) this.flashRanges = [{ start: 0, end: size, name: 'SPI flash' }];
  }

  /** The SPI flash, when its JEDEC id gave its size; offsets start at 0 (esptool `write_flash`). */
  readonly flashRanges?: readonly FlashRange[];

  /** Writes one region compressed (plain on the ESP8266 ROM); resumable, see flash-writer.ts. */
  write(region: FlashRegion, options: WriteOptions): Promise<void> {
    return writeRegion(this.loader, region, { ...options, compress: this.compress });
  }

  /**
   * Bytes per first-level SPI_FLASH_MD5 of a delta update; undefined: the cost model's choice
   * (delta.ts `chooseBlockSectors`).
   */
  deltaBlockSize: number | undefined = undefined;

  /** Delta update: hierarchical SPI_FLASH_MD5 per sector (delta.ts); none on the ESP8266 ROM. */
  compareUnits(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[] | undefined> {
    return compareBlocks(this.loader, region, {
      ...options, // signal, onProgress
      blockSize: this.deltaBlockSize,
      nativeUsb: isNativeUsb(this.port.info, this.chip),
      digests: this.options.digests,
    });
  }

  /**
   * SPI_FLASH_MD5 of the region against the MD5 of the image. The ESP8266 ROM has no way to
   * read flash back; there the per-block checksums are all there is, and a warning is logged.
   * @throws {VerificationError} when the digests differ.
   */
  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    if (!this.chip.romSupportsCompressed && !this.loader.isStub) {
      this.logger.warn(`${region.name}: the ESP8266 ROM cannot read flash back; not verified`);
      return;
    }
    const total = region.data.length;
    options.onProgress?.({ phase: 'verify', region: region.name, bytesDone: 0, bytesTotal: total });
    const board = await this.loader.spiFlashMd5(region.address, total, options.signal);
    const expected = (this.options.digests ?? plainDigests).md5(region.data);
    if (!equalBytes(board, expected)) {
      throw new VerificationError(
        `${region.name} at ${hex32(region.address)} differs from the image (MD5 ${toHex(board)}, expected ${toHex(expected)})`,
        {
          hints: ['Write it again. If it keeps failing, the flash chip may be worn or protected.'],
        },
      );
    }
    options.onProgress?.({
      phase: 'verify',
      region: region.name,
      bytesDone: total,
      bytesTotal: total,
    });
  }

  /**
   * Back in step after a timeout or garbled reply: drain, then SYNC at the current rate; if that
   * fails, at the ROM's start rate (the chip may have restarted). With 'auto', repeated failures
   * at one rate step the link down a rung (`stepDown`); a rate at which nothing answers is
   * remembered, so that connecting again starts below it.
   */
  async resync(signal?: AbortSignal): Promise<void> {
    await sleep(this.clock, 100, signal);
    this.loader.flushInput();
    const rate = this.link.baudRate;
    try {
      this.checkSameLoader(await this.loader.checkAlive(signal));
      this.strikes++;
      if (this.strikes >= STRIKES_BEFORE_STEP_DOWN && this.lower.length > 0) {
        await this.stepDown(signal);
      }
      return;
    } catch (err) {
      if (!(err instanceof WebflashError) || err.code === 'aborted') throw err;
      if (err.code === 'protocol.no-sync') throw err;
      if (err.code.startsWith('transport.') || rate === ESP_ROM_BAUD) throw err;
    }
    this.logger.warn(`no answer at ${rate} baud; trying ${ESP_ROM_BAUD}`);
    await this.link.setBaudRate(ESP_ROM_BAUD);
    this.loader.flushInput();
    try {
      this.checkSameLoader(await this.loader.checkAlive(signal));
    } catch (err) {
      // Silent at both rates: the loader is still at `rate`, which the line does not carry.
      if (this.options.baudRate === 'auto' && !isAbort(err)) {
        this.options.linkCeiling?.failedAt(rate);
      }
      throw err;
    }
  }

  /**
   * Asks the loader for the next lower rung (CHANGE_BAUDRATE) after transfers kept failing at
   * the current one, and checks it answers there.
   */
  private async stepDown(signal?: AbortSignal): Promise<void> {
    const rate = this.link.baudRate;
    const next = this.lower[0]!;
    this.logger.warn(
      `stepping down to ${next} baud: ${this.strikes} transfers in a row failed at ${rate} baud`,
    );
    this.options.linkCeiling?.failedAt(rate);
    this.lower = this.lower.slice(1);
    this.strikes = 0;
    await this.loader.changeBaudrate(next, signal);
    this.checkSameLoader(await this.loader.checkAlive(signal));
    this.logger.info(`flashing at ${next} baud`);
  }

  /**
   * The ROM answering where the stub ran means the chip restarted: the stub, the line speed
   * and the SPI setup are gone, so the engine must connect again.
   */
  private checkSameLoader(sync: SyncResult): void {
    if (this.loader.isStub && !sync.stubDetected) {
      throw new ProtocolError(
        'protocol.no-sync',
        'The board restarted: its ROM loader answered instead of the flasher stub',
      );
    }
  }

  /**
   * Reads the running application's `esp_app_desc_t` from flash: with the stub's READ_FLASH on
   * every chip, else with the ROM's READ_FLASH_SLOW (64 bytes per command); the ESP8266 ROM
   * cannot read flash and this returns undefined.
   */
  async readInstalledFirmware(signal?: AbortSignal): Promise<InstalledFirmware | undefined> {
    const read = this.loader.isStub
      ? (address: number, length: number) => readFlash(this.loader, address, length, signal)
      : this.chip.romSupportsReadFlashSlow
        ? (address: number, length: number) => this.loader.readFlashSlow(address, length, signal)
        : undefined;
    if (!read) return undefined;
    const table = await read(PARTITION_TABLE_OFFSET, PARTITION_TABLE_MAX_LENGTH);
    const app = bootAppPartition(parsePartitionTable(table));
    if (!app) return undefined;
    const head = await read(app.offset, APP_DESC_OFFSET + 256);
    const desc = parseAppDesc(head.subarray(APP_DESC_OFFSET));
    if (!desc) return undefined;
    return {
      project: desc.projectName,
      version: desc.version,
      securityVersion: desc.secureVersion,
    };
  }

  /**
   * Hard reset into the application by pulsing EN through RTS (reset.py `HardReset`). A board on
   * its native USB port disconnects and comes back as the application's device.
   */
  async reset(): Promise<void> {
    const native = isNativeUsb(this.port.info, this.chip);
    const sequence = native ? ResetSequences.hardResetUsb.steps : ResetSequences.hardReset.steps;
    try {
      await runResetSequence(this.link, sequence, {
        clock: this.clock,
        signal: this.options.signal,
      });
    } catch (err) {
      // The port vanishing mid-reset is what a native USB board does; it is not a failure.
      if (!(native && err instanceof TransportError)) throw err;
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.link.isOpen) await this.link.close();
  }
}
