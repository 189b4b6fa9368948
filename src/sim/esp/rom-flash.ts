/**
 * Flash writes of the simulated ESP ROM loader (loader.ts): FLASH_BEGIN / FLASH_DATA /
 * FLASH_END and their compressed FLASH_DEFL_* forms (esptool serial protocol, "Writing Data"),
 * with the ROM's erase (SPIEraseArea) and its timing. The stub's writes are in stub-writer.ts.
 */
import { Unzlib } from 'fflate';
import { view } from '../../core/bytes.ts';
import { ESP_CHECKSUM_SEED, RomError } from '../../protocols/esp/constants.ts';
import { espChecksum, type CommandPacket } from '../../protocols/esp/packet.ts';
import {
  LoaderFailure,
  args,
  need,
  type LoaderAction,
  type LoaderContext,
} from './loader-types.ts';

interface WriteState {
  compressed: boolean;
  offset: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
  /** Bytes written so far (compressed writes: decompressed bytes). */
  written: number;
  inflater?: Unzlib;
  inflateFailed?: boolean;
}

const SECTOR = 4096;
const SECTORS_PER_BLOCK = 16;

/** The ROM's flash write in progress, from FLASH_BEGIN to FLASH_END. */
export class RomFlashWriter {
  private write: WriteState | undefined;
  private pendingProgramMs = 0;

  constructor(private readonly ctx: LoaderContext) {}

  /** Forgets the write in progress (the ROM stopped running). */
  reset(): void {
    this.write = undefined;
  }

  /**
   * FLASH_BEGIN / FLASH_DEFL_BEGIN: size, blocks, block size, offset (and an encrypted-write
   * word). Erases before answering.
   * @throws {LoaderFailure}
   */
  async begin(cmd: CommandPacket, compressed: boolean): Promise<void> {
    const d = cmd.data;
    // The fifth word (encrypted write) is sent to ROMs after the ESP32's; accept it everywhere
    // as esptool-js sends it to the ESP32 ROM too.
    need(d.length === 16 || d.length === 20);
    const [size, blocks, blockSize, offset] = args(d);
    const flash = this.ctx.flash;
    if (offset > flash.size || blockSize === 0 || blockSize > 0x10000) {
      throw new LoaderFailure(RomError.INVALID_MESSAGE);
    }
    this.write = { compressed, offset, blocks, blockSize, nextSeq: 0, written: 0 };
    if (compressed) this.startInflater(this.write);
    if (this.ctx.chip.id === 'esp8266') {
      // SPIEraseArea's bug: it erases from the start of the sector, and more than asked.
      const start = offset - (offset % SECTOR);
      await eraseArea(
        this.ctx,
        start,
        Math.min(esp8266RomEraseLength(offset, size), flash.size - start),
      );
    } else {
      await eraseArea(this.ctx, offset, Math.min(size, flash.size - offset));
    }
  }

  private startInflater(state: WriteState): void {
    state.inflater = new Unzlib((chunk) => {
      const room = this.ctx.flash.size - (state.offset + state.written);
      const part = chunk.subarray(0, Math.max(0, Math.min(chunk.length, room)));
      if (part.length > 0) {
        const r = this.ctx.flash.program(state.offset + state.written, part);
        this.pendingProgramMs += r.ms;
      }
      state.written += chunk.length;
    });
  }

  /**
   * FLASH_DATA / FLASH_DEFL_DATA: writes the block before acknowledging it; a retransmitted
   * block (the previous sequence number) is acknowledged without writing it again.
   * @throws {LoaderFailure}
   */
  async data(cmd: CommandPacket, compressed: boolean): Promise<void> {
    const state = this.write;
    const d = cmd.data;
    if (!state || state.compressed !== compressed) {
      throw new LoaderFailure(RomError.INVALID_MESSAGE);
    }
    need(d.length >= 16);
    const [length, seq] = args(d);
    const block = d.subarray(16);
    if (length !== block.length) throw new LoaderFailure(RomError.INVALID_MESSAGE);
    if (espChecksum(block, ESP_CHECKSUM_SEED) !== (cmd.checksum & 0xff)) {
      throw new LoaderFailure(RomError.INVALID_CRC);
    }
    if (seq + 1 === state.nextSeq) return; // a retransmitted block: already written
    if (seq !== state.nextSeq) throw new LoaderFailure(RomError.INVALID_MESSAGE);
    let ms: number;
    if (compressed) {
      if (state.inflateFailed) throw new LoaderFailure(RomError.DEFLATE_ERROR);
      this.pendingProgramMs = 0;
      try {
        state.inflater!.push(block, seq + 1 >= state.blocks);
      } catch {
        state.inflateFailed = true;
        throw new LoaderFailure(RomError.DEFLATE_ERROR);
      }
      ms = this.pendingProgramMs;
    } else {
      const at = state.offset + seq * state.blockSize;
      const room = Math.max(0, this.ctx.flash.size - at);
      if (room < block.length && block.subarray(room).some((b) => b !== 0xff)) {
        throw new LoaderFailure(RomError.FLASH_WRITE_ERROR);
      }
      ms = room > 0 ? this.ctx.flash.program(at, block.subarray(0, room)).ms : 0;
      state.written += block.length;
    }
    state.nextSeq = seq + 1;
    await this.ctx.wait(ms); // the ROM writes the block before acknowledging it
  }

  /**
   * FLASH_END / FLASH_DEFL_END: "0 to reboot, 1 to run user code".
   * @throws {LoaderFailure}
   */
  end(cmd: CommandPacket): LoaderAction {
    need(cmd.data.length === 4);
    const runUserCode = view(cmd.data).getUint32(0, true) !== 0;
    this.write = undefined;
    return runUserCode ? { kind: 'run-user-code' } : { kind: 'reboot' };
  }
}

/**
 * Erases `size` bytes at `offset` and waits as long as the chip takes: SPIEraseArea uses a
 * 64 KiB block erase for aligned, fully covered blocks, else 4 KiB sectors.
 */
export async function eraseArea(ctx: LoaderContext, offset: number, size: number): Promise<void> {
  if (size <= 0) return;
  const flash = ctx.flash;
  const { sectors } = flash.eraseRange(offset, Math.min(size, flash.size - offset));
  let ms = 0;
  let i = 0;
  while (i < sectors.length) {
    const s = sectors[i]!;
    if (s.start % 65536 === 0 && i + 16 <= sectors.length) {
      ms += flash.timing.sectorEraseMs(65536);
      i += 16;
    } else {
      ms += flash.timing.sectorEraseMs(s.size);
      i++;
    }
  }
  await ctx.wait(ms);
}

/**
 * What the ESP8266 ROM's FLASH_BEGIN really erases, in bytes from the start of the first sector,
 * when asked to erase `size` bytes at `offset`. Its SPIEraseArea has a bug (esptool issue 33,
 * "Add workaround for a bug in SPIEraseArea"; esptool serial-protocol.rst "erase size bug"): with
 * n = the sectors asked for and head = the sectors from the start to the next 64 KiB block
 * boundary, a range that crosses the boundary gets head extra sectors erased, one that does not
 * cross it n extra sectors, i.e. n + min(head, n) sectors in all. esptool's `get_erase_size`
 * (and webflash's `esp8266EraseSize`) send a smaller size so that this comes out right.
 */
export function esp8266RomEraseLength(offset: number, size: number): number {
  const sectors = Math.ceil(size / SECTOR);
  const head = SECTORS_PER_BLOCK - (Math.floor(offset / SECTOR) % SECTORS_PER_BLOCK);
  return (sectors + Math.min(head, sectors)) * SECTOR;
}
