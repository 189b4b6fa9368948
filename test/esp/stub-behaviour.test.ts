/**
 * The simulated flasher stub against what esp-flasher-stub (the stub esptool-js 0.7.0 ships,
 * v1.2–v1.3) does, in virtual time: `command_handler.c` `s_init_flash_operation` (the first
 * erase starts at FLASH_DEFL_BEGIN, not waited for), `s_conditional_erase_next` (erase ahead when
 * the chip is idle; blank sectors skipped before the first written-on one, not on the ESP8266),
 * `s_write_flash_data` (programming waits for the chip), `handle_command` (a block is answered
 * before its post-process; a failed post-process answers the next command instead of running
 * it; a bad header is answered at once), `frame_buffer.c` / `slip.c` (one waiting frame, later
 * ones dropped), and `s_read_flash_post_process` (one READ_FLASH packet in flight).
 */
import { readFileSync } from 'node:fs';
import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { VirtualClock, sleep } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { md5 } from '@noble/hashes/legacy.js';
import { slipEncode } from '../../src/framing/slip.ts';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  EspCommand,
  FLASH_WRITE_SIZE_STUB,
  StubError,
} from '../../src/protocols/esp/constants.ts';
import { compressImage } from '../../src/protocols/esp/compress.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import {
  decodeResponse,
  encodeCommand,
  encodeDataPayload,
  espChecksum,
  words,
} from '../../src/protocols/esp/packet.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const app = new Uint8Array(
  readFileSync(new URL('../fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);

const at = 0x100000;
const REGION = 256 * 1024;
/** W25Q32 typical times (flash-model.ts W25Q32_TIMING). */
const BLOCK_ERASE_MS = 150;
const PAGE_PROGRAM_MS = 0.7;

async function stubSession(
  board: string,
  options: { baudRate?: number; images?: { address: number; data: Uint8Array }[] } = {},
) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const b = createBoard(board, { clock, seed: 3, images: options.images ?? [] }) as EspSimBoard;
  const session = await connectEsp(b.wire!.port!, {
    clock,
    logger: silentLogger,
    baudRate: options.baudRate ?? 921600,
  });
  expect(b.device.stubRunning).toBe(true);
  return { clock, board: b, session, loader: session.loader };
}

type Session = Awaited<ReturnType<typeof stubSession>>;

/** Sends FLASH_DEFL_DATA block `seq` of `stream` (16 KiB blocks); resolves on its reply. */
async function sendBlock(s: Session, stream: Uint8Array, seq: number): Promise<void> {
  await s.loader.dataBlock({
    op: EspCommand.FLASH_DEFL_DATA,
    block: stream.subarray(seq * FLASH_WRITE_SIZE_STUB, (seq + 1) * FLASH_WRITE_SIZE_STUB),
    seq,
  });
}

/** Incompressible bytes: xorshift32 (Marsaglia 2003) from `seed`. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** 256 KiB that deflate to a few KiB: one block that inflates to a lot of flash work. */
const pattern = new Uint8Array(REGION).map((_, i) => (i >> 8) & 0x7f);

const erasesIn = (b: EspSimBoard, from: number, to: number) =>
  b.flash.counters.sectorErases.slice(from / 4096, to / 4096).reduce((a, n) => a + n, 0);

const blocksOf = (stream: Uint8Array) => Math.ceil(stream.length / FLASH_WRITE_SIZE_STUB);

/** Old firmware over the whole region, so that every sector needs erasing. */
const oldFirmware = [{ address: at, data: noise(REGION, 99) }];

describe('the simulated stub erases like esp-flasher-stub', () => {
  it('FLASH_DEFL_BEGIN starts the first 64 KiB erase and answers without waiting for it', async () => {
    const s = await stubSession('esp32s3', { images: oldFirmware });
    const t0 = s.clock.now();
    await s.loader.flashDeflBegin({ uncompressedSize: REGION, blocks: 1, offset: at });
    const answeredAfter = s.clock.now() - t0;
    expect(erasesIn(s.board, at, at + 0x10000)).toBe(16); // one block erase, counted per sector
    expect(erasesIn(s.board, at + 0x10000, at + REGION)).toBe(0);
    expect(answeredAfter).toBeLessThan(BLOCK_ERASE_MS);
    // Reading the flash waits until the chip has finished that erase.
    const digest = await s.loader.spiFlashMd5(at, 4096);
    expect(s.clock.now() - t0).toBeGreaterThanOrEqual(BLOCK_ERASE_MS);
    expect(toHex(digest)).toBe(toHex(md5(new Uint8Array(4096).fill(0xff))));
  });

  it('answers a block before its flash work; only programming waits for an erase in progress', async () => {
    // Native USB (about 1 MB/s): a 16 KiB block arrives in ~17 ms, much faster than an erase.
    const s = await stubSession('esp32s3', { images: oldFirmware });
    const image = noise(REGION, 2);
    // As webflash compresses: a flush every 4 KiB, so each 16 KiB block inflates to < 16 KiB.
    const stream = compressImage(image, { chunkSize: 4096, level: 6 }).data;
    const blocks = blocksOf(stream);
    const t0 = s.clock.now();
    await s.loader.flashDeflBegin({ uncompressedSize: REGION, blocks, offset: at });
    const acks: number[] = [];
    for (let seq = 0; seq < 4; seq++) {
      await sendBlock(s, stream, seq);
      acks.push(s.clock.now());
    }
    // Blocks 0 and 1 inflate to less than the 32 KiB output buffer: nothing to program, so
    // their work does not hold up the next reply, though the first erase is still running.
    expect(acks[1]! - acks[0]!).toBeLessThan(50);
    expect(acks[2]! - acks[1]!).toBeLessThan(50);
    expect(s.board.flash.counters.programmedBytes).toBe(32768);
    // Block 2 filled the buffer: programming it waited for the erase, then took 128 pages, and
    // the reply to block 3 waited for both.
    expect(acks[3]! - t0).toBeGreaterThanOrEqual(BLOCK_ERASE_MS + 128 * PAGE_PROGRAM_MS);
    // After programming, the stub started erasing the next 64 KiB ahead of the data.
    expect(erasesIn(s.board, at, at + 0x20000)).toBe(32);
    expect(erasesIn(s.board, at + 0x20000, at + REGION)).toBe(0);
    for (let seq = 4; seq < blocks; seq++) await sendBlock(s, stream, seq);
    await s.loader.flashEnd({ compressed: true, reboot: false });
    expect(toHex(s.board.flash.read(at, REGION))).toBe(toHex(image));
    expect(erasesIn(s.board, at, at + REGION)).toBe(REGION / 4096);
  });

  it.each([
    ['esp32', 0],
    ['esp8266', 32],
  ])(
    '%s: before the first written-on sector, blank sectors are read and not erased (%i erased)',
    async (name, erasedBefore) => {
      // Blank flash up to at + 128 KiB, then one sector of old data.
      const dirty = at + 0x20000;
      const s = await stubSession(name, { images: [{ address: dirty, data: noise(4096, 5) }] });
      await s.session.write({ name: 'app', address: at, data: pattern }, {});
      expect(erasesIn(s.board, at, dirty)).toBe(erasedBefore);
      // From the written-on sector on, everything is erased without reading: two 64 KiB blocks.
      expect(erasesIn(s.board, dirty, at + REGION)).toBe(32);
      expect(toHex(s.board.flash.read(at, REGION))).toBe(toHex(pattern));
    },
  );

  it('writes over old firmware byte for byte and verifies with the raw MD5', async () => {
    const s = await stubSession('esp32', { images: oldFirmware });
    const region = { name: 'app', address: at, data: app };
    await s.session.write(region, {});
    await s.session.verify(region, {});
    expect(toHex(s.board.flash.read(at, app.length))).toBe(toHex(app));
    // The rest of the last sector was erased, the old data after it is untouched.
    const end = Math.ceil((at + app.length) / 4096) * 4096;
    expect(s.board.flash.isErased(at + app.length, end - at - app.length)).toBe(true);
    expect(toHex(s.board.flash.read(end, 16))).toBe(
      toHex(oldFirmware[0]!.data.subarray(end - at, end - at + 16)),
    );
  });
});

describe("the simulated stub's replies follow esp-flasher-stub's main loop", () => {
  it('a block that fails to inflate answers the next command, which is not run', async () => {
    const s = await stubSession('esp32');
    const junk = new Uint8Array(2 * FLASH_WRITE_SIZE_STUB).fill(0x13);
    await s.loader.flashDeflBegin({ uncompressedSize: 100_000, blocks: 2, offset: at });
    await sendBlock(s, junk, 0); // answered: the stub has not inflated it yet
    await expect(s.loader.readReg(CHIP_DETECT_MAGIC_REG_ADDR)).rejects.toMatchObject({
      status: StubError.INFLATE_ERROR,
    });
    // The error is used up; the same command now runs.
    expect(await s.loader.readReg(CHIP_DETECT_MAGIC_REG_ADDR)).toBe(0x00f01d83);
    // `s_handle_flash_end`: bytes are missing.
    await expect(s.loader.flashEnd({ compressed: true, reboot: false })).rejects.toMatchObject({
      status: StubError.BAD_DATA_LEN,
    });
  });

  it('answers a frame that lost bytes with BAD_DATA_LEN at once, keeping a pending error', async () => {
    const s = await stubSession('esp32');
    const junk = new Uint8Array(FLASH_WRITE_SIZE_STUB).fill(0x13);
    await s.loader.flashDeflBegin({ uncompressedSize: 100_000, blocks: 2, offset: at });
    await sendBlock(s, junk, 0);
    const frame = encodeCommand(
      EspCommand.FLASH_DEFL_DATA,
      encodeDataPayload(junk, 1),
      espChecksum(junk),
    );
    await s.loader.link.write(slipEncode(frame.subarray(0, frame.length - 1)));
    const reply = decodeResponse(await s.loader.readFrame({ timeoutMs: 1000 }), {
      statusBytes: 2,
      checkStatus: false,
    });
    expect(reply.op).toBe(EspCommand.FLASH_DEFL_DATA);
    expect(reply.error).toBe(StubError.BAD_DATA_LEN);
    expect(toHex(reply.status)).toBe('c000'); // the code first: RESPONSE_BAD_DATA_LEN 0xC000
    await expect(s.loader.readReg(CHIP_DETECT_MAGIC_REG_ADDR)).rejects.toMatchObject({
      status: StubError.INFLATE_ERROR,
    });
  });

  it('holds one frame while busy and drops a later one', async () => {
    const s = await stubSession('esp32');
    const stream = zlibSync(pattern, { level: 9 });
    expect(blocksOf(stream)).toBe(1);
    await s.loader.flashDeflBegin({ uncompressedSize: REGION, blocks: 1, offset: at });
    await sendBlock(s, stream, 0); // the stub now programs 256 KiB (about 0.7 s)
    const readReg = slipEncode(
      encodeCommand(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR)),
    );
    const sync = slipEncode(encodeCommand(EspCommand.SYNC, new Uint8Array(36)));
    await s.loader.link.write(readReg);
    await s.loader.link.write(sync);
    const reply = await s.loader.readFrame({ timeoutMs: 2000 });
    expect(reply[1]).toBe(EspCommand.READ_REG); // the first one waited; the SYNC was dropped
    await expect(s.loader.readFrame({ timeoutMs: 500 })).rejects.toThrow(/no answer/);
    await s.loader.flashEnd({ compressed: true, reboot: false });
    expect(toHex(s.board.flash.read(at, REGION))).toBe(toHex(pattern));
  });

  it('takes a five-word FLASH_DEFL_BEGIN; FLASH_END(0) and RUN_USER_CODE leave it running', async () => {
    const s = await stubSession('esp32');
    await s.loader.command(EspCommand.FLASH_DEFL_BEGIN, words(0, 0, 0x4000, at, 0));
    await s.loader.flashEnd({ compressed: true, reboot: true }); // "TODO: Implement reboot"
    await s.loader.link.write(slipEncode(encodeCommand(EspCommand.RUN_USER_CODE)));
    await expect(s.loader.readFrame({ timeoutMs: 300 })).rejects.toThrow(/no answer/);
    await sleep(s.clock, 100);
    expect(s.board.device.stubRunning).toBe(true);
    expect(await s.loader.readReg(CHIP_DETECT_MAGIC_REG_ADDR)).toBe(0x00f01d83);
  });

  it('READ_FLASH sends one packet, then waits for its acknowledgement', async () => {
    const data = noise(8192, 7);
    const s = await stubSession('esp32', { images: [{ address: at, data }] });
    await s.loader.command(EspCommand.READ_FLASH, words(at, 8192, 1024, 64));
    const first = await s.loader.readFrame({ timeoutMs: 1000 });
    expect(toHex(first)).toBe(toHex(data.subarray(0, 1024)));
    await expect(s.loader.readFrame({ timeoutMs: 200 })).rejects.toThrow(/no answer/);
    await s.loader.link.write(slipEncode(words(1024)));
    const second = await s.loader.readFrame({ timeoutMs: 1000 });
    expect(toHex(second)).toBe(toHex(data.subarray(1024, 2048)));
  });
});

describe('SPI_FLASH_MD5 takes the time the chip needs to hash (md5-rate.ts)', () => {
  it.each([
    ['esp32', 1700], // the ESP32's stub raises its clocks on a UART too
    ['esp32s3', 650], // USB-Serial/JTAG, but the ESP32-S3's stub keeps the ROM's 40 MHz
    ['esp32s3-uart', 650],
    ['esp32c3', 650], // a UART: the ROM's clocks, 16-byte flash reads
    ['esp32c3-usb', 1700], // USB-Serial/JTAG: raised clocks
  ])('%s: %i bytes a millisecond', async (board, rate) => {
    const s = await stubSession(board);
    const size = 256 * 1024;
    const t0 = s.clock.now();
    const digest = await s.loader.spiFlashMd5(0, size);
    const ms = s.clock.now() - t0;
    expect(toHex(digest)).toBe(toHex(md5(s.board.flash.read(0, size))));
    expect(ms).toBeGreaterThanOrEqual(size / rate);
    // Plus one round trip on the line.
    expect(ms).toBeLessThan(size / rate + 10);
  });
});
