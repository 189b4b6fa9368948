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
      const region = { name: 'app', address: 0x10000, data: app.subarray(0, 64 * 1024) };
      await session.write(region, {});
      await session.verify(region, {});
      await session.reset();
    },
  );
});
