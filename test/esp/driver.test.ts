import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { TimeoutError, VerificationError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/log.ts';
import { confirmedBytesOf } from '../../src/protocols/driver.ts';
import type { WriteProgress } from '../../src/protocols/driver.ts';
import type { EspChip } from '../../src/protocols/esp/chips.ts';
import { ESP_CHIPS } from '../../src/protocols/esp/chips.ts';
import { EspCommand, RomError } from '../../src/protocols/esp/constants.ts';
import { connectEsp, espDriver } from '../../src/protocols/esp/driver.ts';
import { esp8266EraseSize } from '../../src/protocols/esp/flash-writer.ts';
import type { CommandFault } from '../../src/sim/esp/command-script.ts';
import { commandLabels, romRig, type RomRig } from './rom-rig.ts';

const shared = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));
const blink = shared('esp_idf_blink_esp32s2.bin');

function rig(chip: EspChip, opts: { faults?: [string, CommandFault][]; missResets?: number } = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  // 4 MiB of flash: JEDEC id 0x1640ef.
  const rom = romRig({
    chip,
    clock,
    faults: opts.faults ?? [],
    ...(opts.missResets === undefined ? {} : { missDownloadResets: opts.missResets }),
  });
  const connect = (baudRate?: number) =>
    connectEsp(rom.port, {
      clock,
      logger: silentLogger,
      useStub: 'never',
      ...(baudRate ? { baudRate } : {}),
    });
  return { clock, rom, connect };
}

const region = { name: 'app', address: 0x10000, data: blink };
const flashOf = (rom: RomRig) => rom.flash.read(0x10000, blink.length);
/** The commands the ROM received, as "NAME#n". */
const log = (rom: RomRig) => commandLabels(rom.device);
/** The commands the ROM received, with their data. */
const requests = (rom: RomRig) => rom.device.script.log;
/** The rates CHANGE_BAUDRATE asked for. */
const baudChanges = (rom: RomRig) =>
  requests(rom)
    .filter((r) => r.op === EspCommand.CHANGE_BAUDRATE)
    .map((r) => new DataView(r.data.buffer, r.data.byteOffset).getUint32(0, true));

describe('connectEsp', () => {
  it('enters the bootloader, identifies the chip and reads MAC, revision and flash size', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32s3);
    const session = await connect(921600);
    expect(espDriver.id).toBe('esp-serial');
    expect(session.identity).toMatchObject({
      protocol: 'esp-serial',
      chip: 'esp32s3',
      revision: 'v0.0',
      flashSize: 4 * 1024 * 1024,
    });
    expect(session.identity.uniqueId).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(baudChanges(rom)).toEqual([921600]);
    expect(log(rom)).toContain('SPI_ATTACH#1');
    expect(log(rom)).toContain('SPI_SET_PARAMS#1');
    await session.close();
  });

  it('tries the next reset sequence when the first does not reach the bootloader', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32, { missResets: 1 });
    const session = await connect();
    expect(session.identity.chip).toBe('esp32');
    expect(log(rom)[0]).toBe('SYNC#1');
    await session.close();
  });

  it('gives up with protocol.no-sync and recovery hints, in virtual time', async () => {
    const { connect, clock } = rig(ESP_CHIPS.esp32, { missResets: 1000 });
    const err = await connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'protocol.no-sync' });
    expect((err as { hints: string[] }).hints.join(' ')).toMatch(/BOOT/);
    expect(clock.now()).toBeGreaterThan(7 * 5 * 100);
  });
});

describe('EspSession.write / verify', () => {
  it('writes a real image compressed and verifies it with SPI_FLASH_MD5', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32s3);
    const session = await connect();
    const progress: WriteProgress[] = [];
    await session.write(region, { onProgress: (p) => progress.push(p) });
    expect(toHex(flashOf(rom))).toBe(toHex(blink));
    const blocks = log(rom).filter((l) => l.startsWith('FLASH_DEFL_DATA')).length;
    expect(blocks).toBeLessThan(blink.length / 0x400); // compressed
    expect(progress[0]).toMatchObject({ phase: 'erase', bytesDone: 0 });
    expect(progress.at(-1)).toMatchObject({ phase: 'write', bytesDone: blink.length });
    const done = progress.map((p) => p.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    await session.verify(region, {});
    // the FLASH_DEFL_BEGIN of a non-ESP32 ROM has the fifth (encryption) word
    const begin = requests(rom).find((r) => r.op === EspCommand.FLASH_DEFL_BEGIN)!;
    expect(begin.data.length).toBe(20);
  });

  it('verify throws VerificationError when the board holds something else', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32c3);
    const session = await connect();
    await session.write(region, {});
    rom.flash.load(0x10000 + 5000, Uint8Array.of(rom.flash.read(0x10000 + 5000, 1)[0]! ^ 1));
    await expect(session.verify(region, {})).rejects.toBeInstanceOf(VerificationError);
  });

  it('resumes after a lost reply: new stream from a sector boundary, prefix checked by MD5', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32, { faults: [['FLASH_DEFL_DATA#40', 'drop']] });
    const session = await connect();
    const err = await session.write(region, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    const confirmed = confirmedBytesOf(err)!;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(blink.length);

    await session.resync();
    await session.write(region, { resumeFrom: confirmed });
    const begins = requests(rom).filter((r) => r.op === EspCommand.FLASH_DEFL_BEGIN);
    expect(begins).toHaveLength(2);
    const offset = new DataView(begins[1]!.data.buffer, begins[1]!.data.byteOffset).getUint32(
      12,
      true,
    );
    expect(offset).toBeGreaterThan(0x10000);
    expect((offset - 0x10000) % 0x1000).toBe(0);
    expect(offset - 0x10000).toBeLessThanOrEqual(confirmed);
    expect(log(rom)).toContain('SPI_FLASH_MD5#1');
    expect(toHex(flashOf(rom))).toBe(toHex(blink));
    await session.verify(region, {});
  });

  it('rewrites from the start when the board does not hold the claimed prefix', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32c6);
    const session = await connect();
    await session.write(region, { resumeFrom: 0x8000 });
    const begins = requests(rom).filter((r) => r.op === EspCommand.FLASH_DEFL_BEGIN);
    const offset = new DataView(begins[0]!.data.buffer, begins[0]!.data.byteOffset).getUint32(
      12,
      true,
    );
    expect(offset).toBe(0x10000);
    expect(toHex(flashOf(rom))).toBe(toHex(blink));
  });

  it('a deflate error is marked retryable and carries confirmedBytes', async () => {
    const { connect } = rig(ESP_CHIPS.esp32h2, {
      faults: [['FLASH_DEFL_DATA#3', { error: RomError.DEFLATE_ERROR }]],
    });
    const session = await connect();
    const err = await session.write(region, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'protocol.command-failed', status: 0x0b, retryable: true });
    expect(confirmedBytesOf(err)).toBeGreaterThanOrEqual(0);
  });

  it('resends a block the ROM rejected with a checksum error', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32s2, {
      faults: [['FLASH_DEFL_DATA#2', { error: RomError.INVALID_CRC }]],
    });
    const session = await connect();
    await session.write(region, {});
    expect(toHex(flashOf(rom))).toBe(toHex(blink));
  });

  it('ESP8266 ROM: plain FLASH_DATA blocks padded with 0xFF, erase-size workaround', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp8266);
    const session = await connect();
    const small = { name: 'app', address: 0x0, data: blink.subarray(0, 5000) };
    await session.write(small, {});
    expect(toHex(rom.flash.read(0, 5000))).toBe(toHex(small.data));
    expect(rom.flash.read(5000, 1)[0]).toBe(0xff);
    expect(log(rom).some((l) => l.startsWith('FLASH_DEFL'))).toBe(false);
    const begin = requests(rom).find((r) => r.op === EspCommand.FLASH_BEGIN)!;
    expect(new DataView(begin.data.buffer, begin.data.byteOffset).getUint32(0, true)).toBe(
      esp8266EraseSize(0, 5000),
    );
    await session.verify(small, {}); // logs a warning: the ESP8266 ROM cannot read back
  });

  it('rejects an address that is not sector aligned', async () => {
    const { connect } = rig(ESP_CHIPS.esp32);
    const session = await connect();
    await expect(session.write({ ...region, address: 0x10010 }, {})).rejects.toMatchObject({
      code: 'usage.invalid-argument',
    });
  });
});

describe('esp8266EraseSize (targets/esp8266.py get_erase_size)', () => {
  it.each([
    [0, 0x1000, 0x1000],
    [0, 0x10000, 0x8000],
    [0, 0x20000, 0x10000],
    [0x1000, 0x3000, 0x2000],
  ])('offset %i size %i → %i', (offset, size, expected) => {
    expect(esp8266EraseSize(offset, size)).toBe(expected);
  });
});

describe('EspSession.readInstalledFirmware / reset', () => {
  it.each(['esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6', 'esp32h2'] as const)(
    '%s ROM: reads the boot app descriptor through READ_FLASH_SLOW',
    async (id) => {
      const { rom, connect } = rig(ESP_CHIPS[id]);
      rom.flash.load(0x8000, shared('partitions_singleapp.bin'));
      rom.flash.load(0x10000, blink);
      const session = await connect();
      const installed = await session.readInstalledFirmware();
      expect(installed?.project).toBe('blink');
      expect(installed?.version).toMatch(/^qa-test/);
      expect(installed?.securityVersion).toBe(0);
      expect(log(rom)).toContain('READ_FLASH_SLOW#1');
    },
  );

  it('the ESP8266 ROM cannot read flash: undefined, without sending READ_FLASH_SLOW', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp8266);
    const session = await connect();
    expect(await session.readInstalledFirmware()).toBeUndefined();
    expect(log(rom).some((l) => l.startsWith('READ_FLASH_SLOW'))).toBe(false);
  });

  it('reset pulses RTS (EN) and closes the link', async () => {
    const { rom, connect } = rig(ESP_CHIPS.esp32);
    const session = await connect();
    const before = rom.port.signals.length;
    await session.reset();
    expect(rom.port.signals.slice(before)).toEqual([
      { requestToSend: true },
      { requestToSend: false },
    ]);
    expect(rom.port.currentLink?.isOpen).toBe(false);
  });
});

describe('chip revision as esptool decodes it', () => {
  const BLOCK1 = 0x60007044;
  const BLOCK2 = 0x6000705c;
  async function s3Revision(registers: [number, number][]): Promise<string | undefined> {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const rom = romRig({ chip: ESP_CHIPS.esp32s3, clock, registers });
    const session = await connectEsp(rom.port, { clock, logger: silentLogger, useStub: 'never' });
    return session.identity.revision;
  }

  it('ESP32-S3: major from BLOCK1 word 5, minor from word 5 bit 23 and word 3 bits 18–20', async () => {
    expect(await s3Revision([[BLOCK1 + 12, 2 << 18]])).toBe('v0.2');
    expect(
      await s3Revision([
        [BLOCK1 + 20, (1 << 24) | (1 << 23)],
        [BLOCK1 + 12, 1 << 18],
      ]),
    ).toBe('v1.9');
  });

  it('ESP32-S3 with eFuse block version 1.1 and minor bits 0 is v0.0 (targets/esp32s3.py is_eco0)', async () => {
    const eco0: [number, number][] = [
      [BLOCK1 + 20, 2 << 24], // the major field, used for something else on these parts
      [BLOCK1 + 12, 1 << 24], // BLK_VERSION_MINOR = 1
      [BLOCK2 + 16, 1], // BLK_VERSION_MAJOR = 1
    ];
    expect(await s3Revision(eco0)).toBe('v0.0');
    // Another block version: the fields mean what they say.
    expect(await s3Revision(eco0.slice(0, 2))).toBe('v2.0');
  });
});
