import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/clock.ts';
import { STM32_CHIPS } from '../../protocols/stm32/chips.ts';
import { Stm32Client } from '../../protocols/stm32/client.ts';
import { createBoard, getBoardPreset } from '../boards.ts';
import type { Stm32SimBoardHandle } from './boards.ts';

describe('STM32 presets in the board registry', () => {
  it.each(STM32_CHIPS.map((c) => [c.chip, c.productId] as const))(
    '%s starts in its bootloader without control lines and answers GET_ID',
    async (name, productId) => {
      expect(getBoardPreset(name)?.protocol).toBe('stm32-usart');
      const clock = new VirtualClock({ yieldToHost: setImmediate });
      const board = createBoard(name, { clock, startInBootloader: true }) as Stm32SimBoardHandle;
      const link = await board.wire!.port!.open({ baudRate: 115200, parity: 'even' });
      const client = new Stm32Client(link, { clock });
      expect(await client.sync()).toBe('ack');
      expect(await client.getId()).toBe(productId);
    },
  );

  it("enterBootloader() (a bridge's new client) listens at once: the first 0x7F is answered", async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('stm32f4', { clock, startInBootloader: true }) as Stm32SimBoardHandle;
    const link = await board.wire!.port!.open({ baudRate: 115200, parity: 'even' });
    const client = new Stm32Client(link, { clock });
    await client.sync();
    board.enterBootloader!();
    expect(await client.sync({ attempts: 1 })).toBe('ack');
  });

  it('images given to the preset are in flash', () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const data = Uint8Array.of(1, 2, 3, 4);
    const board = createBoard('stm32g0', { clock, images: [{ address: 0x08000100, data }] });
    expect(Array.from(board.flash.read(0x08000100, 4))).toEqual([1, 2, 3, 4]);
  });
});
