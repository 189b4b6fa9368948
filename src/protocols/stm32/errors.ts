/**
 * Errors of the STM32 USART bootloader protocol: its NACK, and read protection with the way out.
 */
import { ProtocolError } from '../../core/errors.ts';
import { Command, NACK, commandNames } from './commands.ts';

/**
 * A NACK from the bootloader. `retryable`: the frame it answers may have been damaged on the
 * wire (every checksummed frame), so sending it again may succeed.
 */
export class Stm32NackError extends ProtocolError {
  readonly retryable: boolean;
  constructor(opcode: number, stage: string, retryable: boolean) {
    super(
      'protocol.command-failed',
      `The STM32 bootloader refused ${commandNames[opcode] ?? `command 0x${opcode.toString(16)}`} (NACK after the ${stage}).`,
      { opcode, status: NACK },
    );
    this.retryable = retryable;
  }
}

/** Commands that read protection (RDP level 1) blocks: NACK right after the opcode (AN3155 Table 2 note). */
export const RDP_GATED: ReadonlySet<number> = new Set([
  Command.READ_MEMORY,
  Command.WRITE_MEMORY,
  Command.GO,
  Command.ERASE,
  Command.EXTENDED_ERASE,
  Command.WRITE_PROTECT,
  Command.WRITE_UNPROTECT,
  Command.READOUT_PROTECT,
  Command.GET_CHECKSUM,
]);

/** Error for a read-protected chip, with the way out. */
export function readProtectedError(opcode?: number): ProtocolError {
  return new ProtocolError(
    'protocol.read-protected',
    'The STM32 is read-protected (RDP level 1): its bootloader refuses to read, write, erase or start code.',
    {
      ...(opcode === undefined ? {} : { opcode, status: NACK }),
      hints: [
        'Readout unprotect erases the whole flash and is allowed only with an explicit option.',
        'If the device may be wiped, enable "readout unprotect (erases the chip)" and flash again.',
      ],
    },
  );
}
