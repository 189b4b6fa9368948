/**
 * The FlashSession (src/protocols/driver.ts) shared by the three AVR serial bootloader
 * protocols. A protocol supplies an `AvrProgrammer` — write one flash page, read flash, get back
 * in step, leave the bootloader — and this module does what is the same for all of them:
 * refuse images over the boot section before anything is written, write page by page (a page
 * the image covers only in part is read first and merged, since the bootloaders erase whole
 * pages), report confirmed bytes for resume, and verify every written page by reading it back —
 * writing a page again, up to three times, when it reads back differently.
 */
import { equalBytes, hex32 } from '../../core/bytes.ts';
import { UsageError, VerificationError, WebflashError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import {
  worthComparing,
  type DeltaUnit,
  type DeviceIdentity,
  type FlashRegion,
  type FlashSession,
  type WriteOptions,
} from '../driver.ts';
import { applicationEnd, type AvrChip } from './chips.ts';

/** Page erase and write time of the ATmega328P self-programming (datasheet tWD_FLASH, 4.5 ms). */
const PAGE_PROGRAM_MS = 4.5;

/** What a protocol offers the shared session. Addresses are flash byte addresses. */
export interface AvrProgrammer {
  /** Erases and programs one whole page at a page-aligned address. */
  writePage(address: number, page: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Reads `length` bytes (at most one page, not crossing a page boundary). */
  readFlash(address: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Back in step after a timeout or a garbled answer (may reset the board into its bootloader). */
  resync(signal?: AbortSignal): Promise<void>;
  /** Leaves the bootloader: the application starts. */
  leave(): Promise<void>;
  close(): Promise<void>;
}

/** An image would overwrite the bootloader: refused before anything is written. */
class BootloaderOverlapError extends WebflashError {
  readonly region: string;
  readonly bootStart: number;
  constructor(region: FlashRegion, chip: AvrChip, bootStart: number) {
    super(
      'plan.bootloader-overlap',
      `${region.name} (${hex32(region.address)}, ${region.data.length} bytes) reaches into the ` +
        `bootloader section of this ${chip.name} (from ${hex32(bootStart)}); nothing was written.`,
      {
        hints: [
          `Build the firmware for the application area: at most ${bootStart} bytes.`,
          'Check that the bundle was built for this board and its bootloader.',
        ],
      },
    );
    this.region = region.name;
    this.bootStart = bootStart;
  }
}

export interface AvrSessionInit {
  programmer: AvrProgrammer;
  chip: AvrChip;
  identity: DeviceIdentity;
  /** Boot section size in bytes (default the chip table's). */
  bootSectionSize?: number;
  /**
   * Read every page back right after writing it, and write it again when it differs (default
   * off). Verification reads every page once anyway and writes again the pages that differ, so
   * this only moves the read-back earlier, at the cost of a second one.
   */
  checkPages?: boolean;
  logger: Logger;
}

/** One open conversation with an AVR serial bootloader. */
export class AvrSession implements FlashSession {
  readonly identity: DeviceIdentity;
  readonly chip: AvrChip;
  /** First byte of the boot section. */
  readonly bootStart: number;
  private readonly programmer: AvrProgrammer;
  private readonly log: Logger;
  private readonly checkPages: boolean;
  private closed = false;
  /** The line speed, for the delta cost model; unset on USB CDC, where it means nothing. */
  linkBaud: number | undefined;

  constructor(init: AvrSessionInit) {
    this.programmer = init.programmer;
    this.chip = init.chip;
    this.identity = init.identity;
    this.bootStart = applicationEnd(init.chip, init.bootSectionSize);
    this.log = init.logger;
    this.checkPages = init.checkPages ?? false;
  }

  /**
   * @throws {BootloaderOverlapError} 'plan.bootloader-overlap' for an image reaching into the
   *   boot section; {UsageError} for one outside the flash.
   */
  checkPlan(regions: readonly FlashRegion[]): void {
    for (const region of regions) this.checkRegion(region);
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    this.checkRegion(region);
    const { signal, onProgress } = options;
    const total = region.data.length;
    const pages = pagesOf(region, this.chip.pageSize);
    const resume = Math.min(options.resumeFrom ?? 0, total);
    let confirmed = 0;
    let wire = 0;
    for (const p of pages) {
      if (p.end <= resume) {
        confirmed = p.end;
        continue;
      }
      try {
        const page = await this.pageToWrite(region, p, signal);
        wire += await this.writeChecked(p.address, page, signal, this.checkPages);
      } catch (err) {
        throw withConfirmed(err, confirmed);
      }
      confirmed = p.end;
      onProgress?.({
        phase: 'write',
        region: region.name,
        bytesDone: confirmed,
        bytesTotal: total,
        wireBytes: wire,
      });
    }
  }

  /**
   * Delta update: reads each page the region touches and compares its image bytes (a page the
   * image covers in part keeps the rest on writing, so only the image bytes count), when the
   * cost model says it pays: reading a page costs about what sending it costs, so it pays by
   * the page programming time (ATmega328P datasheet tWD_FLASH 4.5 ms), less on slow links.
   */
  async compareUnits(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[] | undefined> {
    this.checkRegion(region);
    const { signal } = options;
    // Page bytes and about 10 bytes of command and reply, 10 bits a byte; USB CDC when unknown.
    const pageMs = ((this.chip.pageSize + 10) * 10 * 1000) / (this.linkBaud ?? 1_000_000);
    const writeMs = pageMs * (this.checkPages ? 2 : 1) + PAGE_PROGRAM_MS;
    if (!worthComparing({ compareMs: pageMs, eraseWriteMs: writeMs })) return undefined;
    const units: DeltaUnit[] = [];
    const bytesTotal = region.data.length;
    for (const p of pagesOf(region, this.chip.pageSize)) {
      const want = region.data.subarray(p.start, p.end);
      const have = await this.programmer.readFlash(p.address + p.offset, want.length, signal);
      units.push({ start: p.start, end: p.end, unchanged: equalBytes(have, want) });
      const at = { region: region.name, bytesDone: p.end, bytesTotal };
      options.onProgress?.({ phase: 'compare', ...at });
    }
    return units;
  }

  /**
   * Reads back every page the region covers and compares. A page that differs is written again
   * and read back, up to three writes: STK500v1 and AVR109 frames carry no checksum, so a byte
   * damaged on the wire is programmed as it arrives, and a damaged address puts a page elsewhere
   * (the page it should have been is then found here, and so is the page it landed on when the
   * image covers it). Reading once at the end finds both, where reading each page right after
   * writing it finds only the first.
   * @throws {VerificationError} when a page still differs after three writes.
   */
  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    this.checkRegion(region);
    const { signal, onProgress } = options;
    const total = region.data.length;
    // Pages an earlier attempt already found equal are not read again.
    const done = Math.min(options.resumeFrom ?? 0, total);
    for (const p of pagesOf(region, this.chip.pageSize)) {
      if (p.end <= done) continue;
      const want = region.data.subarray(p.start, p.end);
      const have = await this.programmer.readFlash(p.address + p.offset, want.length, signal);
      if (!equalBytes(have, want)) {
        const i = want.findIndex((b, k) => b !== have[k]);
        const at = hex32(region.address + p.start + i);
        this.log.warn(
          `${region.name}: the byte at ${at} reads 0x${hex2(have[i]!)}, the image has ` +
            `0x${hex2(want[i]!)}; writing its page again.`,
        );
        const page = await this.pageToWrite(region, p, signal);
        await this.writeChecked(p.address, page, signal, true);
      }
      onProgress?.({ phase: 'verify', region: region.name, bytesDone: p.end, bytesTotal: total });
    }
  }

  /** The whole page to write for span `p`: the image's bytes, merged into the page's others. */
  private async pageToWrite(
    region: FlashRegion,
    p: PageSpan,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    if (p.whole) return region.data.subarray(p.start, p.end);
    // The bootloader erases the whole page: keep what the image does not cover.
    const page = await this.programmer.readFlash(p.address, this.chip.pageSize, signal);
    page.set(region.data.subarray(p.start, p.end), p.offset);
    return page;
  }

  /** Writes one page (and with `check`, reads it back, up to 3 writes). Returns bytes sent. */
  private async writeChecked(
    address: number,
    page: Uint8Array,
    signal: AbortSignal | undefined,
    check: boolean,
  ): Promise<number> {
    let sent = 0;
    for (let attempt = 1; ; attempt++) {
      await this.programmer.writePage(address, page, signal);
      sent += page.length;
      if (!check) return sent;
      const have = await this.programmer.readFlash(address, page.length, signal);
      if (equalBytes(have, page)) return sent;
      if (attempt >= 3) {
        throw new VerificationError(
          `The page at ${hex32(address)} reads back differently after ${attempt} writes.`,
          { hints: ['Check the cable and try again; the flash may be worn.'] },
        );
      }
      this.log.debug(`The page at ${hex32(address)} reads back differently; writing it again.`);
    }
  }

  async resync(signal?: AbortSignal): Promise<void> {
    await this.programmer.resync(signal);
  }

  async reset(): Promise<void> {
    await this.programmer.leave();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.programmer.close();
  }

  private checkRegion(region: FlashRegion): void {
    const end = region.address + region.data.length;
    if (region.address < 0 || end > this.chip.flashSize) {
      throw new UsageError(
        `${region.name} (${hex32(region.address)}, ${region.data.length} bytes) lies outside the ` +
          `flash of this ${this.chip.name} (${this.chip.flashSize / 1024} KiB).`,
      );
    }
    if (end > this.bootStart) {
      this.log.error(`Refusing ${region.name}: it would overwrite the bootloader.`);
      throw new BootloaderOverlapError(region, this.chip, this.bootStart);
    }
  }
}

/** One flash page a region touches: its address, and the region bytes [start, end) in it at `offset`. */
export interface PageSpan {
  address: number;
  offset: number;
  start: number;
  end: number;
  whole: boolean;
}

/** The pages `region` touches, in order. */
export function pagesOf(region: FlashRegion, pageSize: number): PageSpan[] {
  const spans: PageSpan[] = [];
  const end = region.address + region.data.length;
  let at = region.address;
  while (at < end) {
    const address = at - (at % pageSize);
    const stop = Math.min(end, address + pageSize);
    spans.push({
      address,
      offset: at - address,
      start: at - region.address,
      end: stop - region.address,
      whole: at === address && stop === address + pageSize,
    });
    at = stop;
  }
  return spans;
}

/** Adds `confirmedBytes` (ResumableError) to an error thrown mid-write. */
function withConfirmed(err: unknown, confirmedBytes: number): Error {
  if (err instanceof Error) return Object.assign(err, { confirmedBytes });
  return new Error(String(err));
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
