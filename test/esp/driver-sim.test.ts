/**
 * The ESP driver against the simulated boards of src/sim (whole chips: reset circuit, ROM
 * loader, flash), for every preset.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { ESP_BOARD_PRESETS } from '../../src/sim/esp/boards.ts';

/**
 * The revision each simulated chip reports: production parts, decoded from the eFuse fields of
 * esptool's `get_major_chip_version` / `get_minor_chip_version` for each target.
 */
const REVISIONS: Readonly<Record<string, string | undefined>> = {
  esp32: 'v3.0',
  esp32s2: 'v1.0',
  esp32s3: 'v0.2',
  esp32c3: 'v0.4',
  esp32c6: 'v0.1',
  esp32h2: 'v0.1',
  esp8266: undefined,
};

const app = new Uint8Array(
  readFileSync(new URL('../fixtures/firmware/esp_idf_blink_esp32s2.bin', import.meta.url)),
);

describe('ESP driver on simulated boards', () => {
  it.each(ESP_BOARD_PRESETS.map((p) => p.name))(
    '%s: connect, write, verify, reset',
    async (name) => {
      const clock = new VirtualClock({ yieldToHost: setImmediate });
      const board = createBoard(name, { clock }) as EspSimBoard;
      const session = await connectEsp(board.wire!.port!, {
        clock,
        logger: silentLogger,
        baudRate: 460800,
      });
      expect(session.identity.protocol).toBe('esp-serial');
      expect(session.identity.chip).toBe(session.chip.id);
      expect(session.identity.revision).toBe(REVISIONS[session.chip.id]);
      const region = { name: 'app', address: 0x10000, data: app.subarray(0, 64 * 1024) };
      await session.write(region, {});
      await session.verify(region, {});
      await session.reset();
    },
  );

  it('ESP8266 ROM: writes over old data without erasing past the region', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const old = new Uint8Array(0x40000).fill(0x00);
    const board = createBoard('esp8266', {
      clock,
      images: [{ address: 0, data: old }],
    }) as EspSimBoard;
    const session = await connectEsp(board.wire!.port!, {
      clock,
      logger: silentLogger,
      useStub: 'never',
    });
    expect(session.loader.isStub).toBe(false);
    // 16 sectors from a 64 KiB boundary: the ROM erases twice what it is asked for, so the
    // driver asks for half (esptool `get_erase_size`); a driver that did not would lose the
    // next 64 KiB, and one whose erase fell short would leave the old bytes ANDed in.
    const region = { name: 'app', address: 0x10000, data: app.subarray(0, 0x10000) };
    await session.write(region, {});
    expect(Buffer.from(board.flash.read(0x10000, 0x10000)).equals(Buffer.from(region.data))).toBe(
      true,
    );
    expect(board.flash.read(0x20000, 0x10000).every((b) => b === 0x00)).toBe(true);
    expect(board.flash.read(0, 0x10000).every((b) => b === 0x00)).toBe(true);
    await session.close();
  });
});
