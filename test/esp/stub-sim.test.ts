/**
 * The flasher stub end to end on the simulated boards, in virtual time: our client uploads the
 * stub image esptool-js ships (MEM_BEGIN/MEM_DATA/MEM_END, OHAI), then writes, verifies (raw
 * MD5) and reads back (READ_FLASH). The simulated stub's timing and errors are in
 * stub-behaviour.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { ProtocolError } from '../../src/core/errors.ts';
import { createLogger, silentLogger, type LogEntry } from '../../src/core/log.ts';
import { RomError } from '../../src/protocols/esp/constants.ts';
import { connectEsp, openEspSession } from '../../src/protocols/esp/driver.ts';
import { detectChip } from '../../src/protocols/esp/identify.ts';
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

// Real firmware: espressif/esptool test/images at bb72741 (see test/fixtures/README.md).
const firmware = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));
const app = firmware('esp_idf_blink_esp32s2.bin');
const partitions = firmware('partitions_singleapp.bin');

async function stubSession(board: string, baudRate = 921600) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const b = createBoard(board, { clock, seed: 3 }) as EspSimBoard;
  const session = await connectEsp(b.wire!.port!, { clock, logger: silentLogger, baudRate });
  return { clock, board: b, session, loader: session.loader };
}

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
    // This ROM refuses MEM_BEGIN (invalid message).
    const refusing = () => {
      const board = createBoard('esp32', { clock, seed: 3 }) as EspSimBoard;
      board.device.script.set('MEM_BEGIN', { error: RomError.INVALID_MESSAGE });
      return board.wire!.port!;
    };
    const session = await connectEsp(refusing(), { clock, logger });
    expect(session.identity.details?.['Loader']).toBe('ROM');
    expect(logs.some((l) => l.level === 'warn' && /flasher stub did not start/.test(l.message)));
    await session.close();
    await expect(connectEsp(refusing(), { clock, logger, useStub: 'always' })).rejects.toThrow(
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

describe('GET_SECURITY_INFO under the stub (esp-flasher-stub `s_get_security_info`)', () => {
  it.each(['esp32', 'esp8266'] as const)(
    '%s: "not implemented" is unsupported to our client, which identifies the chip by its magic word',
    async (chip) => {
      const { loader, session } = await stubSession(chip, 115200);
      expect(loader.isStub).toBe(true);
      await expect(loader.getSecurityInfo()).rejects.toMatchObject({
        code: 'protocol.unsupported',
        status: 0xff,
      });
      // What a reconnect that finds the stub still running does.
      const detected = await detectChip(loader);
      expect(detected).toMatchObject({ method: 'magic' });
      expect(detected.chip.id).toBe(chip);
      await session.close();
    },
  );

  it('esp32s3: the stub answers with the chip id, as the ROM does', async () => {
    const { loader, session } = await stubSession('esp32s3-uart', 115200);
    expect(loader.isStub).toBe(true);
    expect((await loader.getSecurityInfo()).chipId).toBe(9);
    expect((await detectChip(loader)).method).toBe('security-info');
    await session.close();
  });
});
