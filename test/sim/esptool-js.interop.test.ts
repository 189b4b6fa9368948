/**
 * Interop: esptool-js 0.7.0 (Espressif's own JavaScript flasher) drives the simulated boards
 * through the fake Web Serial port, in real time, exactly as it drives a real board in Chrome.
 * Where esptool-js and the simulator disagree, the simulator is wrong.
 *
 * esptool-js runs in ROM mode here (detectChip + writeFlash, no `main()`), and also through
 * `main()` with the stub upload, which the simulator answers like esptool's flasher stub.
 */
import { readFileSync } from 'node:fs';
import { md5 } from '@noble/hashes/legacy.js';
import { ESPLoader, Transport, type IEspLoaderTerminal } from 'esptool-js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { realClock } from '../../src/core/clock.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { FakeSerial } from '../../src/sim/web/fake-web-serial.ts';

const FIRMWARE = new URL('../fixtures/firmware/', import.meta.url);
const firmware = (name: string) => new Uint8Array(readFileSync(new URL(name, FIRMWARE)));

function quietTerminal(lines: string[]): IEspLoaderTerminal {
  return {
    clean: () => undefined,
    writeLine: (data: string) => void lines.push(data),
    write: (data: string) => void lines.push(data),
  };
}

async function connect(boardName: string, options: { baudrate?: number } = {}) {
  const board = createBoard(boardName, { clock: realClock, seed: 5 }) as EspSimBoard;
  const serial = new FakeSerial();
  serial.addWire(board.wire!);
  const port = await serial.requestPort();
  const transport = new Transport(port, false);
  const lines: string[] = [];
  const loader = new ESPLoader({
    transport,
    baudrate: options.baudrate ?? 115200,
    romBaudrate: 115200,
    terminal: quietTerminal(lines),
  });
  return { board, transport, loader, lines };
}

const md5Hex = (image: Uint8Array) => toHex(md5(image));
/**
 * The ROM answers SPI_FLASH_MD5 with 32 ASCII hex digits (esptool serial protocol, "Verifying
 * Uploaded Data"; esptool.py decodes them). esptool-js 0.7.0 hex-encodes those ASCII bytes
 * again in ROM mode, so the expected value it compares with must be encoded the same way.
 */
const romMd5Hex = (image: Uint8Array) => toHex(new TextEncoder().encode(md5Hex(image)));

describe.each([
  ['esp32', 'ESP32', 'bootloader_esp32.bin', 0x1000],
  ['esp32s3', 'ESP32-S3', 'bootloader_esp32c3.bin', 0x10000],
  ['esp32c3', 'ESP32-C3', 'bootloader_esp32c3.bin', 0x0],
])('esptool-js 0.7.0 with the simulated %s', (boardName, chipName, imageName, address) => {
  it('detects the chip, reads the MAC, writes (compressed and not) and verifies the MD5', async () => {
    const { board, transport, loader, lines } = await connect(boardName);
    try {
      await loader.detectChip('default_reset');
      expect(loader.chip.CHIP_NAME).toBe(chipName);
      const mac = await loader.chip.readMac(loader);
      expect(mac).toBe([...board.device.mac].map((b) => b.toString(16).padStart(2, '0')).join(':'));
      const image = firmware(imageName);
      for (const compress of [true, false]) {
        await loader.writeFlash({
          fileArray: [{ data: image, address }],
          flashMode: 'keep',
          flashFreq: 'keep',
          flashSize: 'keep',
          eraseAll: false,
          compress,
          calculateMD5Hash: (data: Uint8Array) => romMd5Hex(data),
        });
        const padded = new Uint8Array(Math.ceil(image.length / 4) * 4).fill(0xff);
        padded.set(image);
        expect(toHex(board.flash.read(address, padded.length))).toBe(toHex(padded));
      }
      expect(lines.join('\n')).toContain('Hash of data verified.');
    } finally {
      await transport.disconnect().catch(() => undefined);
    }
  }, 60_000);
});

describe('esptool-js main() with the stub upload', () => {
  it('uploads the stub, gets OHAI, reads the flash id and writes through the stub', async () => {
    const { board, transport, loader, lines } = await connect('esp32c3');
    try {
      const chip = await loader.main('default_reset');
      expect(chip).toMatch(/^ESP32-C3/);
      expect(loader.IS_STUB).toBe(true);
      expect(board.device.stubRunning).toBe(true);
      expect(lines.join('\n')).toContain('Flash ID: 1640ef');
      const image = firmware('bootloader_esp32c3.bin');
      await loader.writeFlash({
        fileArray: [{ data: image, address: 0x8000 }],
        flashMode: 'keep',
        flashFreq: 'keep',
        flashSize: 'keep',
        eraseAll: false,
        compress: true,
        calculateMD5Hash: (data: Uint8Array) => md5Hex(data),
      });
      expect(toHex(board.flash.read(0x8000, image.length))).toBe(toHex(image));
      const back = await loader.readFlash(0x8000, 4096);
      expect(toHex(back)).toBe(toHex(image.subarray(0, 4096)));
    } finally {
      await transport.disconnect().catch(() => undefined);
    }
  }, 60_000);
});
