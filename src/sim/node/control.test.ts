import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../core/clock.ts';
import { createBoard } from '../boards.ts';
import type { EspSimBoard } from '../esp/boards.ts';
import type { Stm32SimBoardHandle } from '../stm32/boards.ts';
import { controlCommand, serveControl } from './control.ts';

/** Sends lines to the control port and collects the reply lines. */
function ask(port: number, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(lines.join('\n')));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text.trim().split('\n')));
    socket.on('error', reject);
  });
}

describe('the reset line of npm run sim (--control)', () => {
  it('"reset" brings an STM32 that runs its application back to its bootloader', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('stm32f4', { clock, startInBootloader: true }) as Stm32SimBoardHandle;
    board.device.setBoot0('low');
    await sleep(clock, 20);
    expect(board.device.state).toBe('application');
    const control = await serveControl({ board, host: '127.0.0.1', port: 0 });
    try {
      // The last command may come without a newline from a client that closes (bash /dev/tcp).
      const replies = await ask(control.port, ['help', 'nonsense', 'RESET']);
      expect(replies[0]).toMatch(/^ok commands: reset/);
      expect(replies[1]).toMatch(/^error: unknown command "nonsense"/);
      expect(replies[2]).toBe('ok stm32f4 restarted in its bootloader');
      expect(board.device.state).toBe('bootloader');
    } finally {
      await control.close();
    }
  });

  it('"bootloader" restarts an ESP in download mode', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const board = createBoard('esp32', { clock, startInBootloader: true }) as EspSimBoard;
    board.device.reset(); // a watchdog reset: the application runs
    await sleep(clock, 50);
    expect(board.device.mode).toBe('app');
    expect(controlCommand(board, 'bootloader')).toBe('ok esp32 restarted in its bootloader');
    await sleep(clock, 10);
    expect(board.device.mode).toBe('download');
  });
});
