/**
 * Writing one region to flash through the ROM loader or the flasher stub, compressed
 * (FLASH_DEFL_*) where the loader allows it, else plain (FLASH_*), with resumption after a
 * failure:
 *
 * - The write restarts at the sector-aligned offset at or below `resumeFrom`, after checking
 *   with SPI_FLASH_MD5 that the board really holds the image up to there (else from 0).
 * - A resumed compressed write is a NEW FLASH_DEFL_BEGIN with a new zlib stream of the rest;
 *   no deflate block is ever resent in the middle of a stream.
 * - Errors carry `confirmedBytes`: image bytes the board is known to have been sent and
 *   accepted (for compressed data, the chunks fully decodable from the acknowledged blocks).
 *
 * esptool loader.py `flash_defl_begin` / `flash_defl_block`, cmds.py `write_flash`.
 */
import { equalBytes, hex32 } from '../../core/bytes.ts';
import { UsageError, WebflashError, throwIfAborted } from '../../core/errors.ts';
import { md5 } from '@noble/hashes/legacy.js';
import type { FlashRegion, WriteOptions } from '../driver.ts';
import type { CompressFn } from './compress.ts';
import { decodableBytes } from './compress.ts';
import { EspCommand, EspTimeouts, FLASH_SECTOR_SIZE, timeoutPerMb } from './constants.ts';
import type { EspLoader } from './loader.ts';

export interface WriterOptions {
  compress: CompressFn;
  /** zlib level (default 6). */
  level?: number;
}

/** Attaches how far the board is known to be good to an error (driver.ts `ResumableError`). */
function withConfirmed(err: unknown, confirmedBytes: number): unknown {
  if (err instanceof WebflashError) {
    (err as WebflashError & { confirmedBytes: number }).confirmedBytes = confirmedBytes;
    // The ROM said the compressed stream or a block was bad: a fresh stream after resync helps.
    if (err.code === 'protocol.command-failed') {
      (err as WebflashError & { retryable: boolean }).retryable = true;
    }
  }
  return err;
}

/**
 * ESP8266 ROM erase-size workaround (targets/esp8266.py `get_erase_size`): its FLASH_BEGIN
 * erases more than asked in some cases, so the size sent is adjusted.
 */
export function esp8266EraseSize(offset: number, size: number): number {
  const sectorsPerBlock = 16;
  const numSectors = Math.ceil(size / FLASH_SECTOR_SIZE);
  const startSector = Math.floor(offset / FLASH_SECTOR_SIZE);
  let headSectors = sectorsPerBlock - (startSector % sectorsPerBlock);
  if (numSectors < headSectors) headSectors = numSectors;
  if (numSectors < 2 * headSectors) return Math.floor((numSectors + 1) / 2) * FLASH_SECTOR_SIZE;
  return (numSectors - headSectors) * FLASH_SECTOR_SIZE;
}

/**
 * The stub inflates into a 32 KiB buffer and programs it only when it is full or the stream
 * ends (esp-flasher-stub `s_flash_defl_data_post_process`, `decompressed_data[TINFL_LZ_DICT_SIZE]`;
 * esptool's legacy stub `handle_flash_deflated_data`, `out_buf[32768]`), so of the bytes
 * decodable from the acknowledged blocks only whole 32 KiB buffers are surely in flash once the
 * stub has finished its work (which any later command waits for).
 */
const STUB_OUT_BUFFER = 32768;
function stubFlushed(decodable: number): number {
  return Math.floor(decodable / STUB_OUT_BUFFER) * STUB_OUT_BUFFER;
}

/** FLASH_DEFL_* and SPI_FLASH_MD5 exist: every stub, and every ROM but the ESP8266's. */
export function canCompress(loader: EspLoader): boolean {
  return loader.isStub || (loader.chip?.romSupportsCompressed ?? true);
}

/** Where to restart: the sector boundary at or below `resumeFrom`, if the board holds that prefix. */
async function resumePoint(
  loader: EspLoader,
  region: FlashRegion,
  resumeFrom: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number> {
  const aligned =
    Math.floor(Math.min(resumeFrom ?? 0, region.data.length) / FLASH_SECTOR_SIZE) *
    FLASH_SECTOR_SIZE;
  if (aligned === 0) return 0;
  if (!canCompress(loader)) return 0; // no SPI_FLASH_MD5 on the ESP8266 ROM
  const onBoard = await loader.spiFlashMd5(region.address, aligned, signal);
  if (equalBytes(onBoard, md5(region.data.subarray(0, aligned)))) {
    loader.logger.info(`${region.name}: board holds the first ${aligned} bytes, resuming there`);
    return aligned;
  }
  loader.logger.warn(`${region.name}: the board's copy differs before ${aligned}; rewriting all`);
  return 0;
}

/**
 * Writes `region`. Resolves once the last block is acknowledged and the ROM finished writing.
 * @throws the loader's errors, each carrying `confirmedBytes`; UsageError for a misaligned address.
 */
export async function writeRegion(
  loader: EspLoader,
  region: FlashRegion,
  options: WriteOptions & WriterOptions,
): Promise<void> {
  const { signal, onProgress } = options;
  if (region.address % FLASH_SECTOR_SIZE !== 0) {
    throw new UsageError(
      `${region.name}: flash address ${hex32(region.address)} is not a multiple of ${FLASH_SECTOR_SIZE}`,
    );
  }
  const total = region.data.length;
  let confirmed = 0;
  try {
    throwIfAborted(signal);
    const start = await resumePoint(loader, region, options.resumeFrom, signal);
    confirmed = start;
    const rest = region.data.subarray(start);
    const address = region.address + start;
    const report = (phase: 'erase' | 'write', wireBytes: number): void =>
      onProgress?.({
        phase,
        region: region.name,
        bytesDone: confirmed,
        bytesTotal: total,
        wireBytes,
      });

    const bs = loader.flashWriteSize;
    if (canCompress(loader)) {
      const image = await options.compress(rest, {
        chunkSize: FLASH_SECTOR_SIZE,
        level: options.level ?? 6,
      });
      const blocks = Math.ceil(image.data.length / bs);
      report('erase', 0);
      await loader.flashDeflBegin({
        uncompressedSize: rest.length,
        blocks,
        offset: address,
        signal,
      });
      loader.logger.debug(
        `${region.name}: ${rest.length} bytes at ${hex32(address)} as ${image.data.length} compressed, ${blocks} blocks`,
      );
      let wire = 0;
      for (let seq = 0; seq < blocks; seq++) {
        const block = image.data.subarray(seq * bs, (seq + 1) * bs);
        const before = decodableBytes(image, seq * bs, rest.length);
        const after = decodableBytes(image, (seq + 1) * bs, rest.length);
        await loader.dataBlock({
          op: EspCommand.FLASH_DEFL_DATA,
          block,
          seq,
          signal,
          // loader.py write_flash: timeout scales with the data the block inflates to.
          timeoutMs: timeoutPerMb(EspTimeouts.ERASE_WRITE_PER_MB, Math.max(after - before, bs)),
        });
        wire += block.length + 24;
        confirmed = start + (loader.isStub ? stubFlushed(after) : after);
        report('write', wire);
      }
    } else {
      const blocks = Math.ceil(rest.length / bs);
      const eraseSize = loader.isStub ? rest.length : esp8266EraseSize(address, rest.length);
      report('erase', 0);
      await loader.flashBegin({ eraseSize, blocks, offset: address, signal });
      let wire = 0;
      for (let seq = 0; seq < blocks; seq++) {
        let block = region.data.subarray(start + seq * bs, start + (seq + 1) * bs);
        if (block.length < bs) {
          // Serial protocol "Writing Data": the last block is padded to the block size with 0xFF.
          const padded = new Uint8Array(bs).fill(0xff);
          padded.set(block);
          block = padded;
        }
        await loader.dataBlock({ op: EspCommand.FLASH_DATA, block, seq, signal });
        wire += block.length + 24;
        confirmed = Math.min(total, start + (seq + 1) * bs);
        report('write', wire);
      }
    }
    const lastBlockMs = timeoutPerMb(EspTimeouts.ERASE_WRITE_PER_MB, bs * 4);
    if (loader.isStub) {
      // The stub answers FLASH_END only after writing out the last block, and answers it with
      // what went wrong with that block if anything did (esp-flasher-stub `handle_command`:
      // a failed post-process answers the next command). 1 = stay in the stub.
      await loader.flashEnd({
        compressed: canCompress(loader),
        reboot: false,
        signal,
        timeoutMs: lastBlockMs,
      });
    } else {
      // loader.py write_flash: a last harmless command is answered only once the ROM has
      // written out the final block.
      await loader.waitIdle(lastBlockMs, signal);
    }
    confirmed = total;
    report('write', 0);
  } catch (err) {
    // A block lost on the way (no reply, garbled reply): smaller blocks on the next attempt.
    if (
      err instanceof WebflashError &&
      (err.code === 'timeout' || err.code.startsWith('framing.'))
    ) {
      loader.shrinkStubBlocks();
    }
    throw withConfirmed(err, confirmed);
  }
}
