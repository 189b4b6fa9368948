/**
 * The flash-writing state of esp-flasher-stub, the flasher stub whose images esptool-js 0.7.0
 * ships (espressif/esp-flasher-stub v1.2–v1.3, `src/command_handler.c`: `s_init_flash_operation`,
 * `s_conditional_erase_next`, `s_ensure_flash_erased_to`, `s_write_flash_data`,
 * `s_flash_data_post_process`, `s_flash_defl_data_post_process`; esp-stub-lib
 * `stub_lib_flash_start_next_erase`):
 *
 * - FLASH_BEGIN / FLASH_DEFL_BEGIN round the region out to whole 4 KiB sectors and start the
 *   first erase without waiting for it.
 * - An erase runs inside the flash chip while the CPU goes on: inflating, answering, waiting for
 *   the next block. A new erase is started only when the chip is idle, before each inflate step
 *   ("opportunistic erase"): one 64 KiB block when the address is 64 KiB aligned and at least
 *   64 KiB remain, else one 4 KiB sector.
 * - Before programming, the stub makes sure the region up to the end of the data is erased,
 *   starting the next erases as soon as the chip is free; programming then waits for the chip
 *   and takes its own time.
 * - Inflated data collects in a 32 KiB buffer (`TINFL_LZ_DICT_SIZE`), programmed when it is full
 *   and when the stream ends.
 * - Except on the ESP8266, sectors are read before being erased until one is found written on:
 *   a blank sector (all 0xFF) is not erased. From the first written-on sector on, everything is
 *   erased without reading (v1.1.0, "skip erase on already-blank sectors", esp-flasher-stub
 *   pull request 95).
 *
 * Times are absolute milliseconds on the board's clock: every step takes the time it starts at
 * and returns the time the CPU is done. The flash chip's own busy time is `FlashChipBusy`.
 */
import { Unzlib } from 'fflate';
import { StubError } from '../../protocols/esp/constants.ts';
import type { FlashModel } from '../flash-model.ts';

const SECTOR = 4096;
const BLOCK = 65536;
/** `s_flash_defl_data_post_process`: `static uint8_t decompressed_data[TINFL_LZ_DICT_SIZE]`. */
const OUT_BUFFER = 32768;
/**
 * Reading one 4 KiB sector for the blank check: 64 SPI transactions of 64 bytes on two data
 * lines at 40 MHz plus their command overhead, about 0.5 ms (an estimate, not a measurement).
 */
const SECTOR_READ_MS = 0.5;

/** The flash chip's write-in-progress flag: when its current erase or program ends (board ms). */
export class FlashChipBusy {
  until = 0;

  /** When an operation that needs the chip, wanted at `at`, can start. */
  idleAt(at: number): number {
    return Math.max(at, this.until);
  }
}

export interface StubWriteOptions {
  /** Flash offset of the first byte. */
  offset: number;
  /** Bytes to write (uncompressed): `total_remaining`. */
  totalSize: number;
  /** FLASH_DEFL_BEGIN's block count; the compressed stream ends in the last of these blocks. */
  blocks: number;
  /** Read sectors and skip the blank ones before the first written-on one (not the ESP8266). */
  skipBlankSectors: boolean;
}

/** How a step of the stub's work ended. */
export interface StubStep {
  /** Board time at which the CPU is free again. */
  at: number;
  /** Response code the next command gets instead of being run; 0 when all went well. */
  error: number;
  /**
   * The stub spins for ever: more inflated data than FLASH_DEFL_BEGIN announced reaches past
   * the erased region, and `s_ensure_flash_erased_to` waits for an erase that never starts.
   */
  hung?: boolean;
}

/** One FLASH_BEGIN / FLASH_DEFL_BEGIN … FLASH_END sequence of the stub. */
export class StubFlashWrite {
  /** `total_remaining`: bytes still to be written (a uint32: extra inflated data wraps it). */
  remaining: number;
  private nextWrite: number;
  private nextErase: number;
  private eraseRemaining: number;
  private dirtySeen: boolean;
  private readonly blocks: number;
  private blocksSeen = 0;
  private inflater: Unzlib | undefined;
  private inflated: Uint8Array[] = [];
  private streamDone = false;
  private readonly out = new Uint8Array(OUT_BUFFER);
  private outLength = 0;

  constructor(
    private readonly flash: FlashModel,
    private readonly chip: FlashChipBusy,
    options: StubWriteOptions,
  ) {
    this.remaining = options.totalSize >>> 0;
    this.nextWrite = options.offset;
    this.blocks = options.blocks;
    const start = Math.floor(options.offset / SECTOR) * SECTOR;
    const end = Math.ceil((options.offset + options.totalSize) / SECTOR) * SECTOR;
    this.nextErase = start;
    this.eraseRemaining = end - start;
    this.dirtySeen = !options.skipBlankSectors;
  }

  /** `s_init_flash_operation`: the first (conditional) erase, started and not waited for. */
  begin(at: number): StubStep {
    return this.eraseNext(at);
  }

  /** `s_flash_data_post_process`: programs a FLASH_DATA block, cut to what remains. */
  writePlain(data: Uint8Array, at: number): StubStep {
    return this.writeData(data.subarray(0, Math.min(data.length, this.remaining)), at);
  }

  /**
   * `s_flash_defl_data_post_process`: inflates one FLASH_DEFL_DATA block. Before each inflate
   * step (one, plus one after each full output buffer) the next erase is started if the chip is
   * idle; a full buffer, and the rest at the end of the stream, is programmed.
   */
  inflateBlock(data: Uint8Array, seq: number, at: number): StubStep {
    if (seq === 0) this.outLength = 0;
    this.blocksSeen++;
    let step = this.eraseNext(at);
    if (step.error !== 0 || this.streamDone) return step;
    // tinfl is told that no more input follows in the last block FLASH_DEFL_BEGIN announced;
    // it reports the end of the stream (TINFL_STATUS_DONE) after the Adler-32 trailer there.
    const last = this.blocksSeen >= this.blocks;
    this.inflater ??= new Unzlib((chunk) => this.inflated.push(chunk));
    this.inflated = [];
    try {
      this.inflater.push(data, last);
    } catch {
      return { at: step.at, error: StubError.INFLATE_ERROR };
    }
    const output = this.inflated;
    this.inflated = [];
    for (let c = 0; c < output.length; c++) {
      const chunk = output[c]!;
      for (let i = 0; i < chunk.length;) {
        const n = Math.min(chunk.length - i, OUT_BUFFER - this.outLength);
        this.out.set(chunk.subarray(i, i + n), this.outLength);
        this.outLength += n;
        i += n;
        if (this.outLength < OUT_BUFFER) continue;
        step = this.flushOut(step.at);
        if (step.error !== 0 || step.hung) return step;
        const more = i < chunk.length || output.slice(c + 1).some((o) => o.length > 0);
        if (more) {
          step = this.eraseNext(step.at);
          if (step.error !== 0) return step;
        }
      }
    }
    if (last) {
      this.streamDone = true;
      step = this.flushOut(step.at);
    }
    return step;
  }

  private flushOut(at: number): StubStep {
    const step = this.writeData(this.out.subarray(0, this.outLength), at);
    this.outLength = 0;
    return step;
  }

  /** `s_write_flash_data`: erase up to the end of the data, wait for the chip, program. */
  private writeData(data: Uint8Array, at: number): StubStep {
    const ready = this.ensureErasedTo(this.nextWrite + data.length, at);
    if (ready.error !== 0 || ready.hung) return ready;
    let t = this.chip.idleAt(ready.at);
    if (data.length > 0) {
      // The ROM's SPI write refuses a range past the end of the chip and writes nothing.
      if (this.nextWrite + data.length > this.flash.size) {
        return { at: t, error: StubError.FAILED_SPI_OP };
      }
      t += this.flash.program(this.nextWrite, data).ms;
      this.chip.until = t;
    }
    this.remaining = (this.remaining - data.length) >>> 0;
    this.nextWrite += data.length;
    return { at: t, error: 0 };
  }

  /** `s_ensure_flash_erased_to`: start erases (waiting for the chip between them) up to `end`. */
  private ensureErasedTo(end: number, at: number): StubStep {
    let t = at;
    while (this.nextErase < end) {
      if (this.eraseRemaining === 0) return { at: t, error: 0, hung: true };
      const before = this.nextErase;
      const step = this.eraseNext(t);
      if (step.error !== 0) return step;
      // The chip was busy: the stub polls it until it is free, then starts the next erase.
      t = this.nextErase === before ? this.chip.until : step.at;
    }
    return { at: t, error: 0 };
  }

  /**
   * `s_conditional_erase_next`: before the first written-on sector, read the next sector and
   * skip it when blank; otherwise start the next erase if the chip is idle (else do nothing).
   */
  private eraseNext(at: number): StubStep {
    if (this.eraseRemaining === 0) return { at, error: 0 };
    let t = at;
    if (!this.dirtySeen) {
      if (this.nextErase + SECTOR > this.flash.size) {
        return { at: t, error: StubError.FAILED_SPI_OP };
      }
      t = this.chip.idleAt(t) + SECTOR_READ_MS;
      if (this.flash.isErased(this.nextErase, SECTOR)) {
        this.nextErase += SECTOR;
        this.eraseRemaining -= Math.min(this.eraseRemaining, SECTOR);
        return { at: t, error: 0 };
      }
      this.dirtySeen = true;
    }
    if (t < this.chip.until) return { at: t, error: 0 };
    const size = this.eraseRemaining >= BLOCK && this.nextErase % BLOCK === 0 ? BLOCK : SECTOR;
    const inside = Math.min(size, Math.max(0, this.flash.size - this.nextErase));
    if (inside > 0) this.flash.eraseRange(this.nextErase, inside);
    this.chip.until = t + this.flash.timing.sectorEraseMs(size);
    this.nextErase += size;
    this.eraseRemaining = Math.max(0, this.eraseRemaining - size);
    return { at: t, error: 0 };
  }
}
