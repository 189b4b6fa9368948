/** A simulated Arduino board on an ideal wire, in virtual time, with an open host link. */
import { VirtualClock, sleep } from '../../src/core/clock.ts';
import type { SerialLink } from '../../src/transport/link.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { LINK_IDEAL, type LinkModel } from '../../src/sim/serial-wire.ts';

export interface Rig {
  clock: VirtualClock;
  board: AvrSimBoardHandle;
  link: SerialLink;
  /** Lets `ms` of virtual time pass. */
  wait(ms: number): Promise<void>;
}

/**
 * Builds the board, opens its port (which resets the board through DTR; the Leonardo is reset
 * first and its bootloader's port opened) and waits until the bootloader listens.
 */
export async function rig(
  name: string,
  options: { link?: LinkModel; baudRate?: number; settleMs?: number } = {},
): Promise<Rig> {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard(name, { clock, link: options.link ?? LINK_IDEAL }) as AvrSimBoardHandle;
  const wait = (ms: number): Promise<void> => sleep(clock, ms);
  if (name === 'leonardo') {
    // RESET pressed: Caterina runs and its USB port (2341:0036) enumerates.
    board.device.pressReset();
    await wait(700);
  }
  const link = await board.wire!.port!.open({ baudRate: options.baudRate ?? board.baudRate });
  await wait(options.settleMs ?? 100);
  return { clock, board, link, wait };
}

/** Sends bytes and collects what comes back within `ms`. */
export async function exchange(r: Rig, bytes: ArrayLike<number>, ms = 50): Promise<number[]> {
  await r.link.write(Uint8Array.from(bytes));
  await r.wait(ms);
  const n = r.link.input.available;
  if (n === 0) return [];
  return [...(await r.link.input.readExactly(n, { timeoutMs: 1 }))];
}
