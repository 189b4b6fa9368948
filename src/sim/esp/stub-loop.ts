/**
 * The main loop of esp-flasher-stub as the simulated board runs it once the stub is uploaded
 * (espressif/esp-flasher-stub v1.2–v1.3: `src/main.c`, `src/command_handler.c` `handle_command`,
 * `src/frame_buffer.c`, `src/slip.c`):
 *
 * - Frames arrive in two receive buffers: one the main loop works on, one more the interrupt
 *   handler fills meanwhile. A frame that completes while both are taken is dropped: after a
 *   frame the receiver has no buffer until the main loop takes that frame (`slip_rearm`).
 * - Header checks come first: a wrong direction byte answers INVALID_COMMAND (0xC3), a size
 *   field that does not match the frame BAD_DATA_LEN (0xC0). A frame longer than the buffer
 *   (8 + 0x4000 + 0xFF bytes) is a frame error: no answer.
 * - A command is answered, then its "post-process" runs: the flash work of a FLASH_DATA or
 *   FLASH_DEFL_DATA block (stub-writer.ts), a READ_FLASH stream, a baud change. The main loop
 *   takes the next frame only afterwards, so that frame's reply waits for the work.
 * - A post-process that fails leaves its error code (`accumulated_result`) for the next command
 *   of any kind: that command gets the error as its reply and is not run.
 * - Flash commands (SPI_FLASH_MD5, READ_FLASH, ERASE_*) wait until the chip has finished an erase
 *   started in the background.
 */
import type { EspChip } from '../../protocols/esp/chips.ts';
import {
  DIRECTION_REQUEST,
  ESP_CHECKSUM_SEED,
  PACKET_HEADER_LENGTH,
  StubError,
} from '../../protocols/esp/constants.ts';
import { espChecksum, type CommandPacket } from '../../protocols/esp/packet.ts';
import { view } from '../../core/bytes.ts';
import type { FlashModel } from '../flash-model.ts';
import { FlashChipBusy, StubFlashWrite } from './stub-writer.ts';

/** `FRAME_BUFFER_SIZE` (frame_buffer.h): 8-byte header + 0x4000 data + 0xFF. */
const STUB_FRAME_BUFFER = 8 + 0x4000 + 0xff;
/** Header of FLASH_DATA / FLASH_DEFL_DATA: size, sequence, two reserved words. */
const DATA_HEADER = 16;

/** What the stub makes of a received frame before running anything. */
export type Screened =
  | { kind: 'command'; cmd: CommandPacket }
  | { kind: 'answer'; op: number; error: number }
  | { kind: 'ignore' };

export interface StubLoopContext {
  chip: EspChip;
  flash: FlashModel;
  now(): number;
}

/** The stub's state between commands: flash write, pending error, busy times. */
export class StubMainLoop {
  /** Board time at which the post-process of the last command ends. */
  freeAt = 0;
  /** The flash chip: erases started by the stub run on after the CPU moved on. */
  readonly flashChip = new FlashChipBusy();
  /** Set when the stub went into an endless loop; it answers nothing any more. */
  hung = false;
  private pendingError = 0;
  private write: StubFlashWrite | undefined;

  constructor(private readonly ctx: StubLoopContext) {}

  /** `handle_command`'s checks of the header, and the receive buffer's size limit. */
  screen(frame: Uint8Array): Screened {
    if (frame.length > STUB_FRAME_BUFFER) return { kind: 'ignore' };
    const op = frame[1] ?? 0;
    if (frame[0] !== DIRECTION_REQUEST) {
      return { kind: 'answer', op, error: StubError.INVALID_COMMAND };
    }
    const size = frame.length >= 4 ? view(frame).getUint16(2, true) : -1;
    if (size !== frame.length - PACKET_HEADER_LENGTH) {
      return { kind: 'answer', op, error: StubError.BAD_DATA_LEN };
    }
    return {
      kind: 'command',
      cmd: {
        op,
        checksum: view(frame).getUint32(4, true),
        data: frame.subarray(PACKET_HEADER_LENGTH),
      },
    };
  }

  /** The error a failed post-process left for this command (0: none); it is used up. */
  takePendingError(): number {
    const error = this.pendingError;
    this.pendingError = 0;
    return error;
  }

  /** A post-process failure to report with the next command (READ_FLASH's own checks). */
  failLater(error: number): void {
    this.pendingError = error;
  }

  /** Milliseconds until the flash chip is idle (reads, MD5 and erases wait for it). */
  chipBusyMs(): number {
    return Math.max(0, this.flashChip.until - this.ctx.now());
  }

  /**
   * FLASH_BEGIN / FLASH_DEFL_BEGIN (`s_init_flash_operation`): four words, or five with the
   * encryption flag. Starts the first erase. Returns the CPU time spent before the reply (the
   * blank check's sector read) and the response code.
   */
  flashBegin(data: Uint8Array): { ms: number; error: number } {
    if (data.length !== 16 && data.length !== 20) return { ms: 0, error: StubError.BAD_DATA_LEN };
    const v = view(data);
    const now = this.ctx.now();
    this.write = new StubFlashWrite(this.ctx.flash, this.flashChip, {
      totalSize: v.getUint32(0, true),
      blocks: v.getUint32(4, true),
      offset: v.getUint32(12, true),
      skipBlankSectors: this.ctx.chip.id !== 'esp8266',
    });
    const step = this.write.begin(now);
    return { ms: step.at - now, error: step.error };
  }

  /**
   * FLASH_DATA (`s_flash_data`) and FLASH_DEFL_DATA (`s_flash_defl_data`): the checks that
   * decide the reply. On success the block's flash work runs at once in model time and the
   * main loop stays busy until it ends; its error waits for the next command.
   */
  flashData(cmd: CommandPacket, compressed: boolean): number {
    const d = cmd.data;
    const write = this.write;
    if (d.length < DATA_HEADER) {
      return compressed ? StubError.BAD_DATA_LEN : StubError.NOT_ENOUGH_DATA;
    }
    if (!write) return StubError.NOT_IN_FLASH_MODE;
    const v = view(d);
    const declared = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    const payload = d.subarray(DATA_HEADER);
    let block: Uint8Array;
    if (compressed) {
      // "If all expected data has already been decompressed and written, only accept the
      // checksum if it is part of the data": the size checked includes the 16-byte header.
      if (write.remaining === 0 && d.length > 4) return StubError.TOO_MUCH_DATA;
      // The checksum and the inflater use the size the block header gives.
      if (declared > payload.length) return StubError.BAD_DATA_CHECKSUM;
      block = payload.subarray(0, declared);
    } else {
      if (declared !== payload.length) return StubError.TOO_MUCH_DATA;
      block = payload;
    }
    if (espChecksum(block, ESP_CHECKSUM_SEED) !== (cmd.checksum & 0xff)) {
      return StubError.BAD_DATA_CHECKSUM;
    }
    const now = this.ctx.now();
    const step = compressed ? write.inflateBlock(block, seq, now) : write.writePlain(block, now);
    this.freeAt = step.at;
    this.pendingError = step.error;
    if (step.hung) this.hung = true;
    return 0;
  }

  /**
   * FLASH_END / FLASH_DEFL_END (`s_handle_flash_end`): every announced byte must be written;
   * the reboot flag is not acted on ("TODO: Implement reboot"), so the stub stays.
   */
  flashEnd(data: Uint8Array): number {
    if (data.length !== 4) return StubError.BAD_DATA_LEN;
    if (!this.write) return StubError.NOT_IN_FLASH_MODE;
    if (this.write.remaining !== 0) return StubError.BAD_DATA_LEN;
    this.write = undefined;
    return 0;
  }
}
