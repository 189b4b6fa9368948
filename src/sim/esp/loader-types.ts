/**
 * What the simulated ESP serial loader (loader.ts) shares with its parts (rom-flash.ts): the
 * board it runs on, the results it hands back, and how a command is refused.
 */
import { view } from '../../core/bytes.ts';
import type { EspChip } from '../../protocols/esp/chips.ts';
import type { FlashModel } from '../flash-model.ts';
import type { EspRegisterFile } from './registers.ts';

/** What the loader needs from its board. */
export interface LoaderContext {
  chip: EspChip;
  flash: FlashModel;
  registers: EspRegisterFile;
  /** The board talks through the chip's USB-Serial/JTAG controller, not a UART. */
  usbSerialJtag: boolean;
  /** Waits `ms` of device time (flash erase/program, register write delays). */
  wait(ms: number): Promise<void>;
}

/** What the board must do after sending the replies. */
export type LoaderAction =
  | { kind: 'baud'; baudRate: number }
  | { kind: 'reboot' }
  | { kind: 'run-user-code' }
  | { kind: 'stub-started' }
  /** Stub READ_FLASH: stream the region in packets, at most `maxInFlight` unacknowledged. */
  | { kind: 'read-flash'; address: number; size: number; packetSize: number; maxInFlight: number };

export interface LoaderResult {
  replies: Uint8Array[];
  after?: LoaderAction;
}

/** A command the loader refuses with `code`. */
export class LoaderFailure extends Error {
  constructor(readonly code: number) {
    super(`loader error 0x${code.toString(16)}`);
  }
}

/** Marks a malformed argument list: the ROM's "invalid message", the stub's "bad data length". */
export const MALFORMED = -1;

export function need(ok: boolean): void {
  if (!ok) throw new LoaderFailure(MALFORMED);
}

/** The first four little-endian words of the argument data (0 where the data is shorter). */
export function args(d: Uint8Array): [number, number, number, number] {
  const v = view(d);
  const at = (i: number): number => (d.length >= i * 4 + 4 ? v.getUint32(i * 4, true) : 0);
  return [at(0), at(1), at(2), at(3)];
}
