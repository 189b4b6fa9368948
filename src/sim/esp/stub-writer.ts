/**
 * The flash-writing state of esptool's flasher stub (esptool `flasher_stub/stub_write_flash.c`,
 * `handle_flash_begin` / `handle_flash_deflated_data` / `handle_flash_data` /
 * `start_next_erase` / `handle_flash_end`):
 *
 * - FLASH_BEGIN / FLASH_DEFL_BEGIN erase nothing. They only record where the write goes and how
 *   many 4 KiB sectors it covers.
 * - Each block is handled after its acknowledgement went out. Compressed data is inflated into a
 *   32 KiB output buffer, which is written out when it is full or the stream ends.
 * - Before each inflate step the stub starts the next erase ahead of the data ("opportunistic
 *   erase"); before each write it erases up to the sector the write ends in. An erase is a
 *   64 KiB block erase when the next sector starts a block and at least 16 sectors remain,
 *   otherwise one 4 KiB sector.
 * - Errors (inflate failure, too much or too little data, a failed SPI write) are remembered
 *   and reported in the reply to the NEXT data block, or by FLASH_END.
 *
 * The caller turns the returned milliseconds into the time the stub stays busy.
 */
import { Unzlib } from 'fflate';
import { StubError } from '../../protocols/esp/constants.ts';
import type { FlashModel } from '../flash-model.ts';

const SECTOR = 4096;
const SECTORS_PER_BLOCK = 16;
/** `handle_flash_deflated_data`: `static uint8_t out_buf[32768]`. */
const OUT_BUFFER = 32768;

export interface StubWriteOptions {
  /** Flash offset of the first byte. */
  offset: number;
  /** Bytes to write (uncompressed). */
  totalSize: number;
  compressed: boolean;
}

/** One FLASH_BEGIN / FLASH_DEFL_BEGIN … FLASH_END sequence of the stub. */
export class StubFlashWrite {
  readonly compressed: boolean;
  /** Error code to report with the next data reply or FLASH_END; 0 when all went well. */
  lastError = 0;
  /** Bytes still to be written. */
  remaining: number;
  private nextWrite: number;
  private nextEraseSector: number;
  private remainingEraseSectors: number;
  private inflatedTotal = 0;
  private readonly totalSize: number;
  private inflater: Unzlib | undefined;
  private out = new Uint8Array(OUT_BUFFER);
  private outLength = 0;
  private ms = 0;

  constructor(
    private readonly flash: FlashModel,
    options: StubWriteOptions,
  ) {
    this.compressed = options.compressed;
    this.totalSize = options.totalSize;
    this.nextWrite = options.offset;
    this.remaining = options.totalSize;
    this.nextEraseSector = Math.floor(options.offset / SECTOR);
    this.remainingEraseSectors = Math.ceil(
      ((options.offset % SECTOR) + options.totalSize) / SECTOR,
    );
    if (this.compressed) {
      this.inflater = new Unzlib((chunk) => this.inflated(chunk));
    }
  }

  /**
   * Handles one acknowledged data block; returns the flash time it costs (erases + programs).
   * Does nothing once an error is pending, like the stub, which skips the work for a block whose
   * reply carried an error.
   */
  process(block: Uint8Array): number {
    this.ms = 0;
    if (!this.compressed) {
      this.writeOut(block);
      return this.ms;
    }
    if (this.remaining === 0) {
      this.lastError = StubError.TOO_MUCH_DATA;
      return 0;
    }
    this.startNextErase();
    try {
      // The stub never learns where the compressed stream ends from the block count (it only
      // uses blocks × block size as an upper bound); tinfl stops at the final deflate block.
      this.inflater!.push(block, false);
    } catch {
      this.lastError = StubError.INFLATE_ERROR;
      return this.ms;
    }
    if (this.inflatedTotal >= this.totalSize) {
      // TINFL_STATUS_DONE: the partly filled output buffer is written out.
      this.flushOut();
    }
    return this.ms;
  }

  private inflated(chunk: Uint8Array): void {
    this.inflatedTotal += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, OUT_BUFFER - this.outLength);
      this.out.set(chunk.subarray(at, at + n), this.outLength);
      this.outLength += n;
      at += n;
      if (this.outLength === OUT_BUFFER) this.flushOut();
    }
  }

  private flushOut(): void {
    if (this.outLength === 0) return;
    const data = this.out.subarray(0, this.outLength);
    if (data.length > this.remaining) this.lastError = StubError.TOO_MUCH_DATA;
    this.writeOut(data);
    this.outLength = 0;
  }

  /** `handle_flash_data`: trim to what remains, erase up to the last sector, program. */
  private writeOut(data: Uint8Array): void {
    const length = Math.min(data.length, this.remaining);
    if (length === 0) return;
    const lastSector = Math.floor((this.nextWrite + length) / SECTOR);
    while (this.remainingEraseSectors > 0 && this.nextEraseSector <= lastSector) {
      this.startNextErase();
    }
    const room = Math.max(0, this.flash.size - this.nextWrite);
    if (room < length) this.lastError = StubError.FAILED_SPI_OP;
    if (room > 0) {
      this.ms += this.flash.program(this.nextWrite, data.subarray(0, Math.min(length, room))).ms;
    }
    this.nextWrite += length;
    this.remaining -= length;
  }

  /** `start_next_erase`: one 64 KiB block or one sector, if anything is left to erase. */
  private startNextErase(): void {
    if (this.remainingEraseSectors <= 0) return;
    const block =
      this.remainingEraseSectors >= SECTORS_PER_BLOCK &&
      this.nextEraseSector % SECTORS_PER_BLOCK === 0;
    const sectors = block ? SECTORS_PER_BLOCK : 1;
    const start = this.nextEraseSector * SECTOR;
    const length = Math.min(sectors * SECTOR, Math.max(0, this.flash.size - start));
    if (length > 0) this.flash.eraseRange(start, length);
    this.ms += this.flash.timing.sectorEraseMs(sectors * SECTOR);
    this.nextEraseSector += sectors;
    this.remainingEraseSectors -= sectors;
  }
}
