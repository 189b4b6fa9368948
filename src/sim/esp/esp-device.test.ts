import { zlibSync } from 'fflate';
import { md5 } from '@noble/hashes/legacy.js';
import { describe, expect, it } from 'vitest';
import { toHex, view } from '../../core/bytes.ts';
import { VirtualClock, sleep } from '../../core/clock.ts';
import { SlipReader, slipEncode } from '../../framing/slip.ts';
import { ESP_CHIPS, type EspChipId } from '../../protocols/esp/chips.ts';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  EspCommand,
  RomError,
  StubError,
  SYNC_PAYLOAD,
} from '../../protocols/esp/constants.ts';
import {
  decodeResponse,
  encodeCommand,
  encodeDataPayload,
  espChecksum,
  words,
  type ResponsePacket,
} from '../../protocols/esp/packet.ts';
import type { SerialLink } from '../../transport/link.ts';
import { createBoard } from '../boards.ts';
import type { EspSimBoard } from './boards.ts';
import { esp8266EraseSize } from '../../protocols/esp/flash-writer.ts';
import fc from 'fast-check';
import { ROM_DEFAULT_FLASH_CHIP_SIZE, SYNC_REPLY_VALUE } from './loader.ts';
import { esp8266RomEraseLength } from './rom-flash.ts';

/** A minimal host: sends commands, reads SLIP replies, on virtual time. */
class Host {
  readonly reader: SlipReader;
  constructor(
    readonly link: SerialLink,
    readonly clock: VirtualClock,
    public statusBytes: number,
  ) {
    this.reader = new SlipReader(link.input, { clock });
  }
  async send(op: number, data: Uint8Array = new Uint8Array(0), checksum = 0): Promise<void> {
    await this.link.write(slipEncode(encodeCommand(op, data, checksum)));
  }
  async frame(timeoutMs = 5000): Promise<Uint8Array> {
    return this.reader.readFrame({ timeoutMs });
  }
  async reply(op: number, timeoutMs = 5000): Promise<ResponsePacket> {
    return decodeResponse(await this.frame(timeoutMs), {
      statusBytes: this.statusBytes,
      expectOp: op,
      checkStatus: false,
    });
  }
  async command(op: number, data?: Uint8Array, checksum = 0): Promise<ResponsePacket> {
    await this.send(op, data, checksum);
    return this.reply(op);
  }
  async sync(): Promise<ResponsePacket[]> {
    await this.send(EspCommand.SYNC, SYNC_PAYLOAD);
    const out: ResponsePacket[] = [];
    for (let i = 0; i < 8; i++) out.push(await this.reply(EspCommand.SYNC));
    return out;
  }
}

async function runSequence(link: SerialLink, clock: VirtualClock, sequence: string): Promise<void> {
  for (const step of sequence.split('|')) {
    const arg = Number(step.slice(1));
    if (step[0] === 'D') await link.setSignals({ dataTerminalReady: arg === 1 });
    else if (step[0] === 'R') await link.setSignals({ requestToSend: arg === 1 });
    else await sleep(clock, arg);
  }
}

async function downloadMode(
  name: string,
  options: { images?: { address: number; data: Uint8Array }[] } = {},
) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard(name, { clock, seed: 42, ...options }) as EspSimBoard;
  const link = await board.wire!.port!.open({ baudRate: 115200 });
  // esptool reset.py ClassicReset / USBJTAGSerialReset, in esptool's custom-reset notation.
  const usb = board.wire!.port!.info.usbVendorId === 0x303a;
  const sequence = usb ? 'R0|D0|W100|D1|R0|W100|R1|D0|R1|W100|R0|D0' : 'D0|R1|W100|D1|R0|W50|D0';
  await runSequence(link, clock, sequence);
  await sleep(clock, 20);
  const banner = new TextDecoder().decode(
    link.input.available ? await link.input.read(4096, { timeoutMs: 1 }) : new Uint8Array(),
  );
  const host = new Host(link, clock, ESP_CHIPS[board.chip as EspChipId].romStatusBytes);
  return { clock, board, link, host, banner };
}

describe('ESP boot mode from DTR/RTS', () => {
  it.each(['esp32', 'esp32s3-uart', 'esp32c3'])(
    '%s: classic reset enters download mode',
    async (name) => {
      const { banner, board } = await downloadMode(name);
      expect(banner).toMatch(/boot:0x[0-9a-f]+ \(DOWNLOAD[^)]*\)+\r\nwaiting for download\r\n/);
      expect(board.device.mode).toBe('download');
    },
  );

  it.each(['esp32s3', 'esp32c3-usb', 'esp32c6', 'esp32h2'])(
    '%s: USB-Serial/JTAG reset enters download mode',
    async (name) => {
      const { banner, board } = await downloadMode(name);
      expect(banner).toMatch(/waiting for download/);
      expect(board.device.mode).toBe('download');
    },
  );

  it('a wrong sequence (EN pulse without IO0) boots the application and prints its log', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32', { clock }) as EspSimBoard;
    const link = await board.wire!.port!.open({ baudRate: 115200 });
    await link.setSignals({ dataTerminalReady: false, requestToSend: true });
    await sleep(clock, 100);
    await link.setSignals({ requestToSend: false });
    await sleep(clock, 100);
    const text = new TextDecoder().decode(await link.input.read(4096, { timeoutMs: 1 }));
    expect(text).toContain(
      'ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)',
    );
    expect(text).toContain('invalid header: 0xffffffff');
    expect(board.device.mode).toBe('app');
  });

  it('the application prints its project name from esp_app_desc_t', async () => {
    const { readFileSync } = await import('node:fs');
    const app = new Uint8Array(readFileSync('test/fixtures/firmware/esp_idf_blink_esp32s2.bin'));
    const bootloader = new Uint8Array(readFileSync('test/fixtures/firmware/bootloader_esp32.bin'));
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32s2', {
      clock,
      images: [
        { address: 0x1000, data: bootloader },
        { address: 0x10000, data: app },
      ],
    }) as EspSimBoard;
    const link = await board.wire!.port!.open({ baudRate: 115200 });
    await link.setSignals({ dataTerminalReady: false, requestToSend: true });
    await link.setSignals({ requestToSend: false });
    await sleep(clock, 100);
    const text = new TextDecoder().decode(await link.input.read(8192, { timeoutMs: 1 }));
    expect(text).toContain('Project name:     blink');
  });

  it('USB-native board: booting the application re-enumerates the port', async () => {
    const { board, clock, link } = await downloadMode('esp32s3');
    const first = board.wire!.port!;
    await link.setSignals({ requestToSend: true });
    await link.setSignals({ requestToSend: false }); // (0,1) then (0,0): reset into the app
    await sleep(clock, 100);
    expect(link.isOpen).toBe(false);
    expect(board.wire!.port).toBeUndefined();
    await sleep(clock, 600);
    expect(board.wire!.port).toBeDefined();
    expect(board.wire!.port).not.toBe(first);
  });
});

describe('ESP ROM loader commands', () => {
  it('SYNC: eight replies with the ROM value and 4 status bytes (ESP32)', async () => {
    const { host } = await downloadMode('esp32');
    const replies = await host.sync();
    expect(replies).toHaveLength(8);
    for (const r of replies) {
      expect(r.value).toBe(SYNC_REPLY_VALUE);
      expect([...r.status]).toEqual([0, 0, 0, 0]);
    }
  });

  it.each(['esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6', 'esp32h2', 'esp8266'] as const)(
    '%s: READ_REG of the magic register identifies the chip',
    async (chip) => {
      const { host } = await downloadMode(chip);
      if (chip === 'esp8266') expect(host.statusBytes).toBe(2);
      await host.sync();
      const r = await host.command(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR));
      expect(r.value).toBe(ESP_CHIPS[chip].magicValues[0]);
      expect(r.error).toBeUndefined();
    },
  );

  it('READ_REG of the MAC eFuse words gives the deterministic MAC', async () => {
    const { host, board } = await downloadMode('esp32s3-uart');
    await host.sync();
    const w0 = (await host.command(EspCommand.READ_REG, words(0x60007044))).value;
    const w1 = (await host.command(EspCommand.READ_REG, words(0x60007048))).value;
    const mac = [
      (w1 >> 8) & 0xff,
      w1 & 0xff,
      w0 >>> 24,
      (w0 >> 16) & 0xff,
      (w0 >> 8) & 0xff,
      w0 & 0xff,
    ];
    expect(mac).toEqual([...board.device.mac]);
    expect(mac.slice(0, 3)).toEqual([0xf4, 0x12, 0xfa]);
  });

  it('GET_SECURITY_INFO: 20 bytes with the chip id on S3, 12 on S2, unsupported on ESP32', async () => {
    const s3 = await downloadMode('esp32s3');
    let r = await s3.host.command(EspCommand.GET_SECURITY_INFO);
    expect(r.data).toHaveLength(20);
    expect(view(r.data).getUint32(12, true)).toBe(9);
    const s2 = await downloadMode('esp32s2');
    r = await s2.host.command(EspCommand.GET_SECURITY_INFO);
    expect(r.data).toHaveLength(12);
    const e = await downloadMode('esp32');
    r = await e.host.command(EspCommand.GET_SECURITY_INFO);
    expect(r.error).toBe(RomError.INVALID_MESSAGE);
  });

  it('unknown commands get the ROM invalid-message reply', async () => {
    const { host } = await downloadMode('esp32c3');
    const r = await host.command(0x42, new Uint8Array(3));
    expect([...r.status]).toEqual([1, RomError.INVALID_MESSAGE, 0, 0]);
  });

  it('SPI flash id through the SPI user-command registers (esptool read_flash_id)', async () => {
    const { host } = await downloadMode('esp32');
    const base = 0x3ff42000;
    await host.command(EspCommand.WRITE_REG, words(base + 0x24, (7 << 28) | 0x9f, 0xffffffff, 0));
    await host.command(EspCommand.WRITE_REG, words(base, 1 << 18, 0xffffffff, 0));
    expect((await host.command(EspCommand.READ_REG, words(base))).value).toBe(0);
    expect((await host.command(EspCommand.READ_REG, words(base + 0x80))).value).toBe(0x1640ef);
  });

  it('FLASH_BEGIN/DATA writes, checks checksum and sequence, MD5 answers 32 hex digits', async () => {
    const { host, board, clock } = await downloadMode('esp32');
    const image = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    await host.command(EspCommand.SPI_ATTACH, words(0, 0));
    const t0 = clock.now();
    let r = await host.command(EspCommand.FLASH_BEGIN, words(4096, 3, 1024, 0x10000));
    expect(r.error).toBeUndefined();
    expect(clock.now() - t0).toBeGreaterThanOrEqual(45); // one 4 KiB sector erase
    // bad checksum → 0x07
    const block0 = image.subarray(0, 1024);
    r = await host.command(
      EspCommand.FLASH_DATA,
      encodeDataPayload(block0, 0),
      espChecksum(block0) ^ 1,
    );
    expect(r.error).toBe(RomError.INVALID_CRC);
    // wrong sequence → 0x05
    r = await host.command(
      EspCommand.FLASH_DATA,
      encodeDataPayload(block0, 2),
      espChecksum(block0),
    );
    expect(r.error).toBe(RomError.INVALID_MESSAGE);
    for (let seq = 0; seq < 3; seq++) {
      const block = new Uint8Array(1024).fill(0xff);
      block.set(image.subarray(seq * 1024, seq * 1024 + 1024));
      r = await host.command(
        EspCommand.FLASH_DATA,
        encodeDataPayload(block, seq),
        espChecksum(block),
      );
      expect(r.error).toBeUndefined();
    }
    expect(toHex(board.flash.read(0x10000, 3000))).toBe(toHex(image));
    r = await host.command(EspCommand.SPI_FLASH_MD5, words(0x10000, 3000, 0, 0));
    expect(new TextDecoder().decode(r.data)).toBe(toHex(md5(image)));
  });

  it('FLASH_DEFL_*: inflates a zlib stream into flash; garbage gives the deflate error', async () => {
    const { host, board } = await downloadMode('esp32c3');
    const image = Uint8Array.from({ length: 20000 }, (_, i) => (i % 251) ^ (i >> 8));
    const zl = zlibSync(image, { level: 9 }); // a zlib stream, as esptool sends (zlib.compress)
    const blocks = Math.ceil(zl.length / 1024);
    let r = await host.command(EspCommand.FLASH_DEFL_BEGIN, words(20480, blocks, 1024, 0, 0));
    expect(r.error).toBeUndefined();
    for (let seq = 0; seq < blocks; seq++) {
      const block = zl.subarray(seq * 1024, seq * 1024 + 1024);
      r = await host.command(
        EspCommand.FLASH_DEFL_DATA,
        encodeDataPayload(block, seq),
        espChecksum(block),
      );
      expect(r.error).toBeUndefined();
    }
    expect(toHex(board.flash.read(0, image.length))).toBe(toHex(image));
    r = await host.command(EspCommand.FLASH_DEFL_BEGIN, words(4096, 1, 1024, 0x1000, 0));
    expect(r.error).toBeUndefined();
    const junk = new Uint8Array(64).fill(0x13);
    r = await host.command(
      EspCommand.FLASH_DEFL_DATA,
      encodeDataPayload(junk, 0),
      espChecksum(junk),
    );
    expect(r.error).toBe(RomError.DEFLATE_ERROR);
  });

  it('CHANGE_BAUDRATE: replies at the old speed, then talks at the new one', async () => {
    const { host, link } = await downloadMode('esp32');
    await host.sync();
    const r = await host.command(EspCommand.CHANGE_BAUDRATE, words(921600, 0));
    expect(r.error).toBeUndefined();
    await link.setBaudRate(921600);
    const m = await host.command(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR));
    expect(m.value).toBe(0x00f01d83);
  });

  it('MEM_* upload then MEM_END into RAM: OHAI, then stub replies (2 status bytes, raw MD5)', async () => {
    const { host, board } = await downloadMode('esp32s3-uart');
    const code = new Uint8Array(100).fill(0x11);
    await host.command(EspCommand.MEM_BEGIN, words(100, 1, 0x1800, 0x40380000));
    let r = await host.command(EspCommand.MEM_DATA, encodeDataPayload(code, 0), espChecksum(code));
    expect(r.error).toBeUndefined();
    await host.send(EspCommand.MEM_END, words(0, 0x40380004));
    await host.reply(EspCommand.MEM_END);
    expect([...(await host.frame())]).toEqual([0x4f, 0x48, 0x41, 0x49]);
    host.statusBytes = 2;
    expect(board.device.stubRunning).toBe(true);
    const sync = await host.command(EspCommand.SYNC, SYNC_PAYLOAD);
    expect(sync.value).toBe(0);
    // Like the ROM, the stub answers SYNC eight times (esp-flasher-stub `s_sync`).
    for (let i = 0; i < 7; i++) expect((await host.reply(EspCommand.SYNC)).value).toBe(0);
    r = await host.command(EspCommand.SPI_FLASH_MD5, words(0, 16, 0, 0));
    expect(toHex(r.data)).toBe(toHex(md5(new Uint8Array(16).fill(0xff))));
    // Unknown opcodes are an invalid command; plugin opcodes (0xD5–0xEF) are not implemented
    // while no plugin is loaded. The stub sends its code first, then 0.
    r = await host.command(0x42);
    expect(r.error).toBe(StubError.INVALID_COMMAND);
    expect([...r.status]).toEqual([StubError.INVALID_COMMAND, 0]);
    r = await host.command(0xd5);
    expect(r.error).toBe(StubError.CMD_NOT_IMPLEMENTED);
    // A wrong length is "bad data length" (the ROM says "invalid message").
    r = await host.command(EspCommand.READ_REG, words(0, 0));
    expect(r.error).toBe(StubError.BAD_DATA_LEN);
  });

  it('MEM_END jumping outside the loaded RAM fails to act', async () => {
    const { host } = await downloadMode('esp32');
    const r = await host.command(EspCommand.MEM_END, words(0, 0x40080000));
    expect(r.error).toBe(RomError.FAILED_TO_ACT);
  });

  it('a spontaneous reset (watchdog fault) drops the loader and boots the application', async () => {
    const { board, clock, link } = await downloadMode('esp32');
    board.wire!.resetDevice();
    await sleep(clock, 100);
    const text = new TextDecoder().decode(await link.input.read(4096, { timeoutMs: 1 }));
    expect(text).toContain('rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)');
    expect(board.device.mode).toBe('app');
  });

  it('FLASH_END(0) reboots into the application', async () => {
    const { host, board, clock } = await downloadMode('esp32');
    await host.command(EspCommand.FLASH_BEGIN, words(0, 0, 1024, 0));
    await host.command(EspCommand.FLASH_END, words(0));
    await sleep(clock, 50);
    expect(board.device.mode).toBe('app');
  });
});

/** Uploads a dummy RAM image and jumps into it: the board then runs the simulated stub. */
async function startStub(host: Host, ram: number): Promise<void> {
  const code = new Uint8Array(64).fill(0x11);
  await host.command(EspCommand.MEM_BEGIN, words(code.length, 1, 0x1800, ram));
  await host.command(EspCommand.MEM_DATA, encodeDataPayload(code, 0), espChecksum(code));
  await host.send(EspCommand.MEM_END, words(0, ram));
  await host.reply(EspCommand.MEM_END);
  expect([...(await host.frame())]).toEqual([0x4f, 0x48, 0x41, 0x49]); // OHAI
  host.statusBytes = 2;
}

const MiB = 1024 * 1024;

describe('the simulated ROMs answer as the silicon does', () => {
  it.each(['esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6', 'esp32h2'] as const)(
    '%s ROM: READ_FLASH_SLOW answers 64-byte blocks within the flash size the ROM knows',
    async (name) => {
      const image = Uint8Array.from({ length: 256 }, (_, i) => (i * 13) ^ 0x5a);
      const { host, board } = await downloadMode(name, {
        images: [{ address: 0x10000, data: image }],
      });
      await host.sync();
      let r = await host.command(EspCommand.READ_FLASH_SLOW, words(0x10000, 64));
      expect(r.error).toBeUndefined();
      expect(toHex(r.data)).toBe(toHex(image.subarray(0, 64)));
      // A shorter read still answers a 64-byte buffer (targets/esp32.py `read_flash_slow`).
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(0x10040, 10));
      expect(r.data).toHaveLength(64);
      expect(toHex(r.data.subarray(0, 10))).toBe(toHex(image.subarray(64, 74)));
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(0x10000, 65));
      expect(r.error).toBe(RomError.FLASH_READ_LENGTH_ERROR);
      // Past the ROM's default flash size (2 MiB) until SPI_SET_PARAMS gives the real one.
      const edge = ROM_DEFAULT_FLASH_CHIP_SIZE;
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(edge - 32, 64));
      expect(r.error).toBe(RomError.FLASH_READ_ERROR);
      const size = board.flash.size;
      r = await host.command(
        EspCommand.SPI_SET_PARAMS,
        words(0, size, 64 * 1024, 4096, 256, 0xffff),
      );
      expect(r.error).toBeUndefined();
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(edge - 32, 64));
      expect(r.error).toBeUndefined();
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(size - 64, 64));
      expect(r.error).toBeUndefined();
      r = await host.command(EspCommand.READ_FLASH_SLOW, words(size - 32, 64));
      expect(r.error).toBe(RomError.FLASH_READ_ERROR);
    },
  );

  it('the ESP8266 ROM has no READ_FLASH_SLOW (invalid message)', async () => {
    const { host } = await downloadMode('esp8266');
    await host.sync();
    const r = await host.command(EspCommand.READ_FLASH_SLOW, words(0, 64));
    expect(r.error).toBe(RomError.INVALID_MESSAGE);
  });

  it('ESP8266 ROM: FLASH_BEGIN erases more than asked, as its SPIEraseArea does', async () => {
    const old = new Uint8Array(MiB).fill(0x00);
    const { host, board } = await downloadMode('esp8266', { images: [{ address: 0, data: old }] });
    await host.sync();
    const begin = (size: number, offset: number) =>
      host.command(EspCommand.FLASH_BEGIN, words(size, Math.ceil(size / 0x400), 0x400, offset));
    const erased = (from: number, to: number) => board.flash.isErased(from, to - from);
    const kept = (at: number) => board.flash.read(at, 1)[0] === 0x00;
    // One sector inside a 64 KiB block: that sector and the next one go (esptool issue 33:
    // a range that does not cross the block boundary loses as many sectors again).
    expect((await begin(0x1000, 0x10000)).error).toBeUndefined();
    expect(erased(0x10000, 0x12000)).toBe(true);
    expect(kept(0x12000)).toBe(true);
    // 32 sectors from a block boundary (16 head sectors): 16 more.
    expect((await begin(0x20000, 0x40000)).error).toBeUndefined();
    expect(erased(0x40000, 0x70000)).toBe(true);
    expect(kept(0x70000)).toBe(true);
    // Four sectors from sector 14 of a block (head 2, crossing): 2 more.
    expect((await begin(0x4000, 0x8e000)).error).toBeUndefined();
    expect(erased(0x8e000, 0x94000)).toBe(true);
    expect(kept(0x94000)).toBe(true);
    expect(kept(0x8d000)).toBe(true);
    // esptool's `get_erase_size` (webflash `esp8266EraseSize`) asks for less: exactly the region.
    expect((await begin(esp8266EraseSize(0xa0000, 0x20000), 0xa0000)).error).toBeUndefined();
    expect(erased(0xa0000, 0xc0000)).toBe(true);
    expect(kept(0xc0000)).toBe(true);
  });

  it("esptool's erase-size workaround erases the region, at most one sector more (any offset, size)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1023 }),
        fc.integer({ min: 1, max: 0x100000 }),
        (s, size) => {
          const offset = s * 0x1000;
          const wanted = Math.ceil(size / 0x1000) * 0x1000;
          const erased = esp8266RomEraseLength(offset, esp8266EraseSize(offset, size));
          return erased >= wanted && erased <= wanted + 0x1000;
        },
      ),
    );
    // A host that sends the size itself loses data after the region.
    expect(esp8266RomEraseLength(0x10000, 0x10000)).toBe(0x20000);
  });

  it.each(['esp32c6', 'esp32h2'] as const)(
    '%s: MAC_EXT (upper half of the second MAC eFuse word) reads ff:fe',
    async (name) => {
      const { host, board } = await downloadMode(name);
      await host.sync();
      const w1 = (await host.command(EspCommand.READ_REG, words(0x600b0848))).value;
      expect(w1 >>> 16).toBe(0xfffe);
      expect([(w1 >> 8) & 0xff, w1 & 0xff]).toEqual([...board.device.mac.subarray(0, 2)]);
    },
  );
});

describe('the simulated stub answers GET_SECURITY_INFO as esp-flasher-stub does', () => {
  it.each([
    ['esp32', 0x40090000],
    ['esp8266', 0x40100000],
  ] as const)('%s: not implemented (status bytes FF 00)', async (name, ram) => {
    const { host } = await downloadMode(name);
    await host.sync();
    await startStub(host, ram);
    const r = await host.command(EspCommand.GET_SECURITY_INFO);
    expect(r.data).toHaveLength(0);
    expect([...r.status]).toEqual([0xff, 0x00]);
    expect(r.error).toBe(StubError.CMD_NOT_IMPLEMENTED);
  });

  it("ESP32-S3: the ROM routine's 20 bytes; an argument is a bad data length", async () => {
    const { host } = await downloadMode('esp32s3-uart');
    await host.sync();
    await startStub(host, 0x40380000);
    let r = await host.command(EspCommand.GET_SECURITY_INFO);
    expect(r.error).toBeUndefined();
    expect(r.data).toHaveLength(20);
    expect(view(r.data).getUint32(12, true)).toBe(9);
    r = await host.command(EspCommand.GET_SECURITY_INFO, new Uint8Array(4));
    expect([...r.status]).toEqual([StubError.BAD_DATA_LEN, 0x00]);
  });
});

describe('scripted faults and the command record', () => {
  it('drops, garbles or refuses the scripted commands and records every one', async () => {
    const { board, host } = await downloadMode('esp32');
    const script = board.device.script;
    script.set('READ_REG#1', 'drop');
    script.set('READ_REG#2', 'garble');
    script.set('SPI_ATTACH', { error: RomError.FAILED_TO_ACT });
    const magic = words(CHIP_DETECT_MAGIC_REG_ADDR);
    await host.send(EspCommand.READ_REG, magic);
    await expect(host.frame(500)).rejects.toMatchObject({ code: 'timeout' });
    await host.send(EspCommand.READ_REG, magic);
    await expect(host.frame()).rejects.toMatchObject({ code: 'framing.invalid' });
    const third = await host.command(EspCommand.READ_REG, magic);
    expect(third.value).toBe(ESP_CHIPS.esp32.magicValues[0]);
    for (let i = 0; i < 2; i++) {
      const r = await host.command(EspCommand.SPI_ATTACH, words(0, 0));
      expect([r.status[0], r.error]).toEqual([1, RomError.FAILED_TO_ACT]);
    }
    expect(script.log.map((c) => c.label)).toEqual([
      'READ_REG#1',
      'READ_REG#2',
      'READ_REG#3',
      'SPI_ATTACH#1',
      'SPI_ATTACH#2',
    ]);
    expect(toHex(script.log[0]!.data)).toBe(toHex(magic));
  });

  it('missDownloadResets: the next reset into download mode boots the application', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32', { clock }) as EspSimBoard;
    board.device.missDownloadResets(1);
    const link = await board.wire!.port!.open({ baudRate: 115200 });
    await runSequence(link, clock, 'D0|R1|W100|D1|R0|W50|D0');
    await sleep(clock, 20);
    expect(board.device.mode).toBe('app');
    await runSequence(link, clock, 'D0|R1|W100|D1|R0|W50|D0');
    await sleep(clock, 20);
    expect(board.device.mode).toBe('download');
  });
});
