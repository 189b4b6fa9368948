import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/clock.ts';
import { Avr109Client } from '../../protocols/avr/avr109.ts';
import { Stk500v1Client } from '../../protocols/avr/stk500v1.ts';
import { Stk500v2Client } from '../../protocols/avr/stk500v2.ts';
import { createBoard, getBoardPreset } from '../boards.ts';
import type { AvrSimBoardHandle } from './boards.ts';

const PRESETS = [
  ['uno', 'avr-stk500v1', [0x1e, 0x95, 0x0f]],
  ['nano-old', 'avr-stk500v1', [0x1e, 0x95, 0x0f]],
  ['diecimila', 'avr-stk500v1', [0x1e, 0x94, 0x06]],
  ['mega2560', 'avr-stk500v2', [0x1e, 0x98, 0x01]],
  ['leonardo', 'avr109', [0x1e, 0x95, 0x87]],
] as const;

async function signature(board: AvrSimBoardHandle): Promise<number[]> {
  const link = await board.wire!.port!.open({ baudRate: board.baudRate });
  if (board.protocol === 'avr-stk500v1') {
    const c = new Stk500v1Client(link);
    await c.sync({ attempts: 1 });
    return [...(await c.readSignature())];
  }
  if (board.protocol === 'avr-stk500v2') {
    const c = new Stk500v2Client(link);
    await c.signOn({ attempts: 1 });
    return [0, 1, 2].reduce<Promise<number[]>>(
      async (acc, i) => [...(await acc), await c.readSignatureByte(i)],
      Promise.resolve([]),
    );
  }
  const c = new Avr109Client(link);
  await c.sync({ attempts: 1 });
  return [...(await c.readSignature())];
}

describe('AVR presets in the board registry', () => {
  it.each(PRESETS)(
    '%s waits in its bootloader without control lines and reads its signature',
    async (name, protocol, sig) => {
      expect(getBoardPreset(name)?.protocol).toBe(protocol);
      const clock = new VirtualClock({ yieldToHost: setImmediate });
      const board = createBoard(name, { clock, startInBootloader: true }) as AvrSimBoardHandle;
      expect(await signature(board)).toEqual([...sig]);
    },
  );

  it('bridged: a byte while the sketch runs resets into the bootloader (and is lost)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('uno', { clock, startInBootloader: true }) as AvrSimBoardHandle;
    const link = await board.wire!.port!.open({ baudRate: 115200 });
    const c = new Stk500v1Client(link);
    await c.sync({ attempts: 1 });
    await c.leaveProgmode();
    await new Promise<void>((done) => clock.setTimer(50, done));
    expect(board.device.state).toBe('application');
    await c.sync({ attempts: 3 }); // the first GET_SYNC resets the board; a retry finds optiboot
    expect(board.device.state).toBe('bootloader');
  });

  it('images given to the preset are in flash; the boot section holds a bootloader', () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const data = Uint8Array.of(1, 2, 3, 4);
    const board = createBoard('mega2560', { clock, images: [{ address: 0x100, data }] });
    expect(Array.from(board.flash.read(0x100, 4))).toEqual([1, 2, 3, 4]);
    expect(board.flash.isErased(0x3e000, 0x2000)).toBe(false);
  });
});
