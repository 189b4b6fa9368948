/**
 * The flasher stub end to end on the simulated boards, in virtual time: our client uploads the
 * stub image esptool-js ships (MEM_BEGIN/MEM_DATA/MEM_END, OHAI), then writes, verifies (raw
 * MD5) and reads back (READ_FLASH). Then the simulated stub's timing and errors against
 * esptool `flasher_stub/stub_flasher.c` and `stub_write_flash.c`: no erase at FLASH_DEFL_BEGIN,
 * erase as data arrives, acknowledgement before the flash work, the next reply waiting for it,
 * one buffered command, errors reported one block late.
 */
import { readFileSync } from 'node:fs';
import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { ProtocolError } from '../../src/core/errors.ts';
import { createLogger, silentLogger, type LogEntry } from '../../src/core/log.ts';
import { md5 } from '../../src/core/md5.ts';
import { slipEncode } from '../../src/framing/slip.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  EspCommand,
  FLASH_WRITE_SIZE_STUB,
  StubError,
} from '../../src/protocols/esp/constants.ts';
import { connectEsp, openEspSession } from '../../src/protocols/esp/driver.ts';
import { encodeCommand, words } from '../../src/protocols/esp/packet.ts';
import {
  decodeBase64,
  hasStub,
  loadStubImage,
  parseStubJson,
  type StubLoader,
} from '../../src/protocols/esp/stub.ts';
import { importStubJson } from '../../src/protocols/esp/stub-modules.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { FakeRom } from './fake-rom.ts';

// Real firmware: espressif/esptool test/images at bb72741 (see ../shared/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../../shared/firmware/${name}`, import.meta.url)));
const app = firmware('esp_idf_blink_esp32s2.bin');
const partitions = firmware('partitions_singleapp.bin');

async function stubSession(board: string, baudRate = 921600) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const b = createBoard(board, { clock, seed: 3 }) as EspSimBoard;
  const session = await connectEsp(b.wire!.port!, { clock, logger: silentLogger, baudRate });
  return { clock, board: b, session, loader: session.loader };
}

/** Sends FLASH_DEFL_DATA block `seq` of `stream` (16 KiB blocks); returns the virtual ms it took. */
async function sendBlock(
  s: Awaited<ReturnType<typeof stubSession>>,
  stream: Uint8Array,
  seq: number,
): Promise<number> {
  const t0 = s.clock.now();
  await s.loader.dataBlock({
    op: EspCommand.FLASH_DEFL_DATA,
    block: stream.subarray(seq * FLASH_WRITE_SIZE_STUB, (seq + 1) * FLASH_WRITE_SIZE_STUB),
    seq,
  });
  return s.clock.now() - t0;
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

const erasesIn = (b: EspSimBoard, from: number, to: number) =>
  b.flash.counters.sectorErases.slice(from / 4096, to / 4096).reduce((a, n) => a + n, 0);

describe('flasher stub images from esptool-js', () => {
  it.each(['esp32', 'esp32s3', 'esp32c3', 'esp8266'] as const)(
    '%s: loads, with text inside the RAM it names',
    async (chip) => {
      expect(hasStub(chip)).toBe(true);
      const image = await loadStubImage(chip, importStubJson);
      expect(image.text.length).toBeGreaterThan(1000);
      expect(image.entry).toBeGreaterThanOrEqual(image.textStart);
      expect(image.entry).toBeLessThan(image.textStart + image.text.length);
    },
  );

  it('decodes base64 (RFC 4648 §10 vectors) and rejects bad input', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['Zg==', 'f'],
      ['Zm8=', 'fo'],
      ['Zm9v', 'foo'],
      ['Zm9vYg==', 'foob'],
      ['Zm9vYmE=', 'fooba'],
      ['Zm9vYmFy', 'foobar'],
    ];
    for (const [b64, text] of vectors) {
      expect(new TextDecoder().decode(decodeBase64(b64))).toBe(text);
    }
    const bad: [string, unknown][] = [
      ['bad character', { entry: 1, text: 'Zm9v!', text_start: 0 }],
      ['no text', { entry: 1, text_start: 0 }],
      ['negative entry', { entry: -1, text: 'Zm9v', text_start: 0 }],
      ['data without data_start', { entry: 1, text: 'Zm9v', text_start: 0, data: 'Zm9v' }],
      ['not an object', null],
    ];
    for (const [why, json] of bad) {
      expect(() => parseStubJson(json, 'test'), why).toThrow(ProtocolError);
    }
  });
});

describe.each(['esp32', 'esp32s3', 'esp32c3'])('stub on the simulated %s', (name) => {
  it('uploads the stub, writes, verifies with the raw MD5, reads back with READ_FLASH', async () => {
    const { board, session } = await stubSession(name);
    expect(board.device.stubRunning).toBe(true);
    expect(session.identity.details?.['Loader']).toBe('flasher stub');
    const regions = [
      { name: 'partitions', address: 0x8000, data: partitions },
      { name: 'app', address: 0x10000, data: app },
    ];
    for (const region of regions) {
      await session.write(region, {});
      await session.verify(region, {});
      expect(toHex(board.flash.read(region.address, region.data.length))).toBe(toHex(region.data));
    }
    const installed = await session.readInstalledFirmware(undefined);
    expect(installed?.project).toBe('blink');
    await session.reset();
  });
});

describe('ROM mode stays available', () => {
  it("useStub 'never' talks to the ROM", async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32s3', { clock, seed: 3 }) as EspSimBoard;
    const session = await connectEsp(board.wire!.port!, {
      clock,
      logger: silentLogger,
      useStub: 'never',
    });
    expect(board.device.stubRunning).toBe(false);
    expect(session.identity.details?.['Loader']).toBe('ROM');
    const region = { name: 'app', address: 0x10000, data: app.subarray(0, 40_000) };
    await session.write(region, {});
    await session.verify(region, {});
    // The ESP32-S3 ROM cannot read flash; only the stub can.
    expect(await session.readInstalledFirmware(undefined)).toBeUndefined();
    await session.close();
  });

  it("'auto' falls back to the ROM with a log line when the upload fails; 'always' fails", async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const logs: LogEntry[] = [];
    const logger = createLogger(
      (e) => logs.push(e),
      () => clock.now(),
    );
    // This fake ROM refuses MEM_BEGIN (invalid message).
    const rom = new FakeRom({ chip: chipById('esp32')!, clock, flashId: 0x1640ef });
    const session = await connectEsp(rom, { clock, logger });
    expect(session.identity.details?.['Loader']).toBe('ROM');
    expect(logs.some((l) => l.level === 'warn' && /flasher stub did not start/.test(l.message)));
    await session.close();
    const strict = new FakeRom({ chip: chipById('esp32')!, clock, flashId: 0x1640ef });
    await expect(connectEsp(strict, { clock, logger, useStub: 'always' })).rejects.toThrow(
      ProtocolError,
    );
  });
});

describe('the stub source is injectable (options.loadStub)', () => {
  const s3Json = async () => (await importStubJson('esp32s3')) as Record<string, unknown>;

  async function connectWith(loadStub: StubLoader, useStub?: 'auto' | 'always') {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const logs: LogEntry[] = [];
    const logger = createLogger(
      (e) => logs.push(e),
      () => clock.now(),
    );
    const board = createBoard('esp32s3', { clock, seed: 3 }) as EspSimBoard;
    const options = { clock, logger, loadStub, ...(useStub ? { useStub } : {}) };
    return { board, logs, session: () => openEspSession(board.wire!.port!, options) };
  }

  it('uses what the loader returns, asking for the connected chip', async () => {
    const asked: string[] = [];
    const { board, session } = await connectWith(async (chip) => {
      asked.push(chip);
      return s3Json();
    });
    const s = await session();
    expect(asked).toEqual(['esp32s3']);
    expect(board.device.stubRunning).toBe(true);
    expect(s.identity.details?.['Loader']).toBe('flasher stub');
    await s.close();
  });

  const failures: [string, StubLoader][] = [
    ['the loader throws (a failed fetch)', () => Promise.reject(new Error('HTTP 404'))],
    ['the JSON has no text', async () => ({ ...(await s3Json()), text: undefined })],
    ['the JSON is not an object', async () => null],
    ['the base64 is bad', async () => ({ ...(await s3Json()), text: '!!!!' })],
  ];
  it.each(failures)("'auto': %s, so the ROM loader is used", async (_, loadStub) => {
    const { board, logs, session } = await connectWith(loadStub);
    const s = await session();
    expect(board.device.stubRunning).toBe(false);
    expect(s.identity.details?.['Loader']).toBe('ROM');
    expect(logs.some((l) => l.level === 'warn' && /stub could not be loaded/.test(l.message))).toBe(
      true,
    );
    const region = { name: 'app', address: 0x10000, data: app.subarray(0, 40_000) };
    await s.write(region, {});
    await s.verify(region, {});
    await s.close();
  });

  it("'always': a failing loader fails the connection", async () => {
    const { session } = await connectWith(() => Promise.reject(new Error('HTTP 404')), 'always');
    await expect(session()).rejects.toThrow('HTTP 404');
  });

  it('without a loader, openEspSession talks to the ROM', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32s3', { clock, seed: 3 }) as EspSimBoard;
    const s = await openEspSession(board.wire!.port!, { clock, logger: silentLogger });
    expect(s.identity.details?.['Loader']).toBe('ROM');
    await s.close();
  });
});

describe('the simulated stub behaves like stub_flasher.c', () => {
  // 256 KiB that deflate to a few KiB: each 16 KiB block inflates to a lot of flash work.
  const image = new Uint8Array(256 * 1024).map((_, i) => (i >> 8) & 0x7f);
  const stream = zlibSync(image, { level: 9 });
  const blocks = Math.ceil(stream.length / FLASH_WRITE_SIZE_STUB);
  const at = 0x100000;

  it('erases nothing at FLASH_DEFL_BEGIN, erases as data arrives, and acks before the flash work', async () => {
    const s = await stubSession('esp32', 115200);
    const before = erasesIn(s.board, at, at + image.length);
    const t0 = s.clock.now();
    await s.loader.flashDeflBegin({ uncompressedSize: image.length, blocks, offset: at });
    expect(s.clock.now() - t0).toBeLessThan(20); // a reply, no 4 × 150 ms of block erases
    expect(erasesIn(s.board, at, at + image.length)).toBe(before);
    expect(blocks).toBe(1);
    // The only block is acknowledged at wire speed; its inflate/erase/program comes after.
    const ack = await sendBlock(s, stream, 0);
    const wireMs = ((stream.length + 30) * 10 * 1000) / 115200;
    expect(ack).toBeLessThan(wireMs + 20);
    // FLASH_DEFL_END waits for that work: four 64 KiB erases and 256 KiB of programming.
    const t1 = s.clock.now();
    await s.loader.flashEnd({ compressed: true, reboot: false });
    expect(s.clock.now() - t1).toBeGreaterThan(4 * 150 + 0.7 * 1024 * 0.9);
    expect(toHex(s.board.flash.read(at, image.length))).toBe(toHex(image));
    expect(toHex(await s.loader.spiFlashMd5(at, image.length))).toBe(toHex(md5(image)));
  });

  it('erases ahead of the data only (one 64 KiB block at a time), not the whole region', async () => {
    const s = await stubSession('esp32', 921600);
    const random = noise(512 * 1024, 512);
    const z = zlibSync(random, { level: 1 });
    const n = Math.ceil(z.length / FLASH_WRITE_SIZE_STUB);
    await s.loader.flashDeflBegin({ uncompressedSize: random.length, blocks: n, offset: at });
    await sendBlock(s, z, 0);
    await sendBlock(s, z, 1); // its ack comes once block 0's flash work is done
    // Block 0 started one 64 KiB erase ahead; the end of the region is untouched.
    expect(erasesIn(s.board, at, at + 0x10000)).toBe(16);
    expect(erasesIn(s.board, at + 0x40000, at + random.length)).toBe(0);
  });

  it("the next block's reply waits for the previous block's flash work", async () => {
    // Native USB (about 1 MB/s): a 16 KiB block arrives in ~16 ms, faster than a 64 KiB erase.
    const s = await stubSession('esp32s3', 921600);
    const random = noise(256 * 1024, 256);
    const z = zlibSync(random, { level: 1 });
    const n = Math.ceil(z.length / FLASH_WRITE_SIZE_STUB);
    await s.loader.flashDeflBegin({ uncompressedSize: random.length, blocks: n, offset: at });
    const first = await sendBlock(s, z, 0); // nothing pending: wire time
    const second = await sendBlock(s, z, 1); // waits for block 0: a 64 KiB erase (150 ms)
    expect(second - first).toBeGreaterThan(150 - 2 * first);
  });

  it('holds one command while busy: a second one sent before the reply replaces it', async () => {
    const s = await stubSession('esp32', 921600);
    const random = noise(64 * 1024, 64);
    const z = zlibSync(random, { level: 1 });
    const n = Math.ceil(z.length / FLASH_WRITE_SIZE_STUB);
    await s.loader.flashDeflBegin({ uncompressedSize: random.length, blocks: n, offset: at });
    await sendBlock(s, z, 0); // the stub now erases 64 KiB (150 ms)
    const readReg = slipEncode(
      encodeCommand(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR)),
    );
    await s.loader.link.write(readReg);
    await s.loader.link.write(readReg);
    const reply = await s.loader.readFrame({ timeoutMs: 1000 });
    expect(reply[1]).toBe(EspCommand.READ_REG);
    await expect(s.loader.readFrame({ timeoutMs: 500 })).rejects.toThrow(/no answer/);
    s.loader.flushInput();
    expect((await s.loader.readReg(CHIP_DETECT_MAGIC_REG_ADDR)) >>> 0).not.toBe(0);
  });

  it('reports an inflate error with the next block; FLASH_DEFL_END then reports missing data', async () => {
    const s = await stubSession('esp32', 921600);
    const junk = new Uint8Array(2 * FLASH_WRITE_SIZE_STUB).fill(0x13);
    await s.loader.flashDeflBegin({ uncompressedSize: 100_000, blocks: 2, offset: at });
    await sendBlock(s, junk, 0); // acknowledged: the stub has not inflated it yet
    const next = sendBlock(s, junk, 1);
    await expect(next).rejects.toMatchObject({ status: StubError.INFLATE_ERROR });
    // handle_flash_end checks the byte count before the remembered error.
    await expect(s.loader.flashEnd({ compressed: true, reboot: false })).rejects.toMatchObject({
      status: StubError.NOT_ENOUGH_DATA,
    });
  });

  it('refuses a five-word FLASH_DEFL_BEGIN and an early FLASH_DEFL_END', async () => {
    const s = await stubSession('esp32', 921600);
    await expect(
      s.loader.command(EspCommand.FLASH_DEFL_BEGIN, words(4096, 1, 0x4000, at, 0)),
    ).rejects.toMatchObject({ status: StubError.BAD_DATA_LEN });
    await s.loader.flashDeflBegin({ uncompressedSize: image.length, blocks, offset: at });
    await expect(s.loader.flashEnd({ compressed: true, reboot: false })).rejects.toMatchObject({
      status: StubError.NOT_ENOUGH_DATA,
    });
  });
});
