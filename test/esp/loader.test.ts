import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { ProtocolError, TimeoutError } from '../../src/core/errors.ts';
import { slipEncode } from '../../src/framing/slip.ts';
import type { EspChip, EspChipId } from '../../src/protocols/esp/chips.ts';
import { ESP_CHIPS, ESP_CHIP_LIST } from '../../src/protocols/esp/chips.ts';
import { EspCommand } from '../../src/protocols/esp/constants.ts';
import {
  detectChip,
  readFlashId,
  readMac,
  readRevision,
  flashSizeFromId,
} from '../../src/protocols/esp/identify.ts';
import { EspLoader } from '../../src/protocols/esp/loader.ts';
import { encodeResponse } from '../../src/protocols/esp/packet.ts';
import { ResetSequences, runResetSequence } from '../../src/protocols/esp/reset.ts';
import { commandLabels, romRig, type RomRigOptions } from './rom-rig.ts';
import trace from '../vectors/esp/serial-protocol-trace.json' with { type: 'json' };

const newClock = () => new VirtualClock({ yieldToHost: setImmediate });

/** A UART line that carries nothing above 460800 baud, with no latency. */
const LONG_CABLE = {
  name: 'long cable',
  kind: 'uart',
  latencyMs: 0,
  chunkSize: 64,
  maxBaudRate: 460800,
} as const;

async function setup(chip: EspChip, extra: Omit<RomRigOptions, 'chip' | 'clock'> = {}) {
  const clock = newClock();
  const rom = romRig({ chip, clock, ...extra });
  const link = await rom.wire.port!.open({ baudRate: 115200 });
  await runResetSequence(link, ResetSequences.classic.steps, { clock });
  const loader = new EspLoader({ link, clock });
  return { clock, rom, link, loader };
}

describe('EspLoader against a recorded conversation', () => {
  it('sends the documented SYNC bytes and reads the documented replies', async () => {
    const clock = newClock();
    const sent: string[] = [];
    const { ByteQueue } = await import('../../src/core/byte-queue.ts');
    const input = new ByteQueue(clock);
    const link = {
      info: { label: 'replay' },
      baudRate: 115200,
      input,
      isOpen: true,
      write: (d: Uint8Array) => {
        sent.push(toHex(d));
        // Replay: the four SYNC replies from the trace, then the READ_REG reply.
        if (sent.length === 1) queueMicrotask(() => input.push(fromHex(trace.sync.responseWire)));
        if (sent.length === 2)
          queueMicrotask(() => input.push(fromHex(trace.readReg.responseWire)));
        return Promise.resolve();
      },
      setSignals: () => Promise.resolve(),
      setBaudRate: () => Promise.resolve(),
      close: () => Promise.resolve(),
      onLost: () => () => undefined,
    };
    const loader = new EspLoader({ link, clock });
    loader.chip = ESP_CHIPS.esp32;
    expect(await loader.sync()).toEqual({ stubDetected: false });
    loader.chip = ESP_CHIPS.esp8266; // the READ_REG sample has 2 status bytes
    expect(await loader.readReg(0x3ff40014)).toBe(0x162);
    expect(sent).toEqual([trace.sync.requestWire, trace.readReg.requestWire]);
  });
});

describe('EspLoader commands against the simulated ROM', () => {
  it('sync drains the extra replies so the next command reads its own answer', async () => {
    const { loader } = await setup(ESP_CHIPS.esp32, { registers: [[0x3ff5a004, 0x12345678]] });
    await loader.sync();
    expect(await loader.readReg(0x3ff5a004)).toBe(0x12345678);
  });

  it('sync times out on the virtual clock when the chip is not in its bootloader', async () => {
    const { loader, clock } = await setup(ESP_CHIPS.esp32, { missDownloadResets: 99 });
    const t0 = clock.now();
    await expect(loader.sync()).rejects.toBeInstanceOf(TimeoutError);
    expect(clock.now() - t0).toBe(100);
  });

  const expected: Record<EspChipId, 'security-info' | 'magic'> = {
    esp8266: 'magic',
    esp32: 'magic',
    esp32s2: 'magic',
    esp32s3: 'security-info',
    esp32c3: 'security-info',
    esp32c6: 'security-info',
    esp32h2: 'security-info',
  };
  it.each(ESP_CHIP_LIST.map((c) => [c.id, c] as const))('detects %s', async (_id, chip) => {
    const { loader } = await setup(chip);
    await loader.sync();
    const found = await detectChip(loader);
    expect(found.chip.id).toBe(chip.id);
    expect(found.method).toBe(expected[chip.id]);
    expect(loader.chip).toBe(chip);
    expect(loader.statusBytes).toBe(chip.romStatusBytes);
    // The loader is still in step after an unsupported command.
    expect(await loader.readChipMagic()).toBe(chip.magicValues[0]);
  });

  it('rejects an unknown chip', async () => {
    const { loader } = await setup(ESP_CHIPS.esp32, { registers: [[0x40001000, 0xdeadbeef]] });
    await loader.sync();
    await expect(detectChip(loader)).rejects.toMatchObject({ code: 'protocol.wrong-chip' });
  });

  it('reads the MAC with each efuse layout', async () => {
    const s3 = await setup(ESP_CHIPS.esp32s3, {
      registers: [
        [0x60007044, 0x33445566],
        [0x60007048, 0xabcd1122],
      ],
    });
    loaderChip(s3.loader, ESP_CHIPS.esp32s3);
    expect(await readMac(s3.loader, ESP_CHIPS.esp32s3)).toBe('11:22:33:44:55:66');

    const e32 = await setup(ESP_CHIPS.esp32, {
      registers: [
        [0x3ff5a008, 0x0000a0b1], // word 2: CRC byte, then MAC bytes 0-1
        [0x3ff5a004, 0xc2d3e4f5], // word 1: MAC bytes 2-5
      ],
    });
    loaderChip(e32.loader, ESP_CHIPS.esp32);
    expect(await readMac(e32.loader, ESP_CHIPS.esp32)).toBe('a0:b1:c2:d3:e4:f5');

    const e8266 = await setup(ESP_CHIPS.esp8266, {
      registers: [
        [0x3ff00050, 0x56000000],
        [0x3ff00054, 0x00001234],
      ],
    });
    loaderChip(e8266.loader, ESP_CHIPS.esp8266);
    expect(await readMac(e8266.loader, ESP_CHIPS.esp8266)).toBe('18:fe:34:12:34:56');
  });

  it('reads the revision from efuse fields', async () => {
    const blk1 = 0x60007044;
    const { loader } = await setup(ESP_CHIPS.esp32s3, {
      registers: [
        [blk1 + 20, (1 << 24) | (0 << 23)],
        [blk1 + 12, 2 << 18],
      ],
    });
    loaderChip(loader, ESP_CHIPS.esp32s3);
    expect(await readRevision(loader, ESP_CHIPS.esp32s3)).toBe('v1.2');
  });

  it('reads the flash id through the SPI registers and maps it to a size', async () => {
    const { loader } = await setup(ESP_CHIPS.esp32c3, { flashMiB: 4 }); // JEDEC id 0x1640ef
    loaderChip(loader, ESP_CHIPS.esp32c3);
    const id = await readFlashId(loader, ESP_CHIPS.esp32c3);
    expect(id).toBe(0x1640ef);
    expect(flashSizeFromId(id)).toBe(4 * 1024 * 1024);
    expect(flashSizeFromId(0x0000ef)).toBeUndefined();
  });

  it('SPI_FLASH_MD5: ROM hex text and stub raw bytes give the same digest', async () => {
    const { loader, rom, link } = await setup(ESP_CHIPS.esp32);
    loaderChip(loader, ESP_CHIPS.esp32);
    rom.flash.load(0x1000, Uint8Array.of(1, 2, 3));
    const rom32 = await loader.spiFlashMd5(0x1000, 3);
    expect(toHex(rom32)).toBe('5289df737df57326fcdd22597afb1fac'); // md5(01 02 03)
    // A stub answers 16 raw bytes and 2 status bytes.
    loader.isStub = true;
    const reply = encodeResponse({ op: EspCommand.SPI_FLASH_MD5, data: rom32, statusBytes: 2 });
    link.write = () => {
      queueMicrotask(() => link.input.push(slipEncode(reply)));
      return Promise.resolve();
    };
    expect(toHex(await loader.spiFlashMd5(0x1000, 3))).toBe(toHex(rom32));
  });

  it('an error status becomes ProtocolError with opcode and status', async () => {
    const { loader } = await setup(ESP_CHIPS.esp32, {
      faults: [['SPI_ATTACH#1', { error: 0x06 }]],
    });
    loaderChip(loader, ESP_CHIPS.esp32);
    const err = await loader.spiAttach().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'protocol.command-failed', opcode: 0x0d, status: 0x06 });
  });

  it('a garbled reply surfaces as FramingError and the loader recovers', async () => {
    const { loader } = await setup(ESP_CHIPS.esp32, {
      faults: [['READ_REG#1', 'garble']],
    });
    loaderChip(loader, ESP_CHIPS.esp32);
    await expect(loader.readReg(0x40001000)).rejects.toMatchObject({ code: 'framing.invalid' });
    expect(await loader.readReg(0x40001000)).toBe(ESP_CHIPS.esp32.magicValues[0]);
  });

  it('raiseBaudrate falls back down the ladder to a rate that works', async () => {
    const { loader, rom, link, clock } = await setup(ESP_CHIPS.esp32, { link: LONG_CABLE });
    await loader.sync();
    loaderChip(loader, ESP_CHIPS.esp32);
    const reenter = async () => {
      await runResetSequence(link, ResetSequences.classic.steps, { clock });
      await loader.checkAlive();
    };
    const rate = await loader.raiseBaudrate([921600, 460800, 230400], { reenter });
    expect(rate).toBe(460800);
    expect(link.baudRate).toBe(460800);
    expect(rom.device.baudRate).toBe(460800);
    expect(await loader.readChipMagic()).toBe(ESP_CHIPS.esp32.magicValues[0]);
  });

  it('readFlashSlow reads in 64-byte commands', async () => {
    const { loader, rom } = await setup(ESP_CHIPS.esp32);
    loaderChip(loader, ESP_CHIPS.esp32);
    const data = Uint8Array.from({ length: 150 }, (_, i) => i);
    rom.flash.load(0x2000, data);
    expect(toHex(await loader.readFlashSlow(0x2000, 150))).toBe(toHex(data));
    expect(commandLabels(rom.device).filter((l) => l.startsWith('READ_FLASH_SLOW'))).toHaveLength(
      3,
    );
  });
});

function loaderChip(loader: EspLoader, chip: EspChip): void {
  loader.chip = chip;
}
