/**
 * Scripted faults for the simulated ESP loader, per command, and a record of every command it
 * received: for tests that need one exact failure (a lost reply at block 40, a checksum error at
 * block 2) rather than random line noise (serial-wire.ts `setFaults`).
 *
 * Commands are named as esptool names them, with the occurrence counted from 1 over the
 * board's life: "FLASH_DEFL_DATA#3" is the third FLASH_DEFL_DATA it received; a name without
 * "#n" matches every occurrence.
 */
import { commandName } from '../../protocols/esp/constants.ts';
import type { CommandPacket } from '../../protocols/esp/packet.ts';

/** What happens to one command. */
export type CommandFault =
  /** The loader neither runs nor answers it, as if the frame had been lost on the way. */
  | 'drop'
  /** The loader runs it, but its reply arrives with a broken SLIP escape (0xDB 0x01). */
  | 'garble'
  /** The loader refuses it with this error code (ROM or stub codes), without running it. */
  | { error: number };

/** A command the loader received. */
export interface CommandRecord {
  op: number;
  /** The argument data, copied. */
  data: Uint8Array;
  /** "NAME#n", e.g. "SPI_ATTACH#1". */
  label: string;
}

/** The faults to inject and the record of commands, kept by the board across resets. */
export class CommandScript {
  /** Every command the loader received, in order. */
  readonly log: CommandRecord[] = [];
  private readonly faults = new Map<string, CommandFault>();
  private readonly counts = new Map<string, number>();

  /** Scripts `fault` for the command `label` ("NAME#n", or "NAME" for every occurrence). */
  set(label: string, fault: CommandFault): void {
    this.faults.set(label, fault);
  }

  /** Records a received command; returns the fault scripted for it, if any. */
  take(cmd: CommandPacket): CommandFault | undefined {
    const name = commandName(cmd.op);
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    const label = `${name}#${n}`;
    this.log.push({ op: cmd.op, data: cmd.data.slice(), label });
    return this.faults.get(label) ?? this.faults.get(name);
  }
}

/** A reply frame for `op` with an invalid SLIP escape: the host's decoder rejects it. */
export function garbledReply(op: number): Uint8Array {
  return Uint8Array.of(0xc0, 0x01, op, 0xdb, 0x01, 0xc0);
}
