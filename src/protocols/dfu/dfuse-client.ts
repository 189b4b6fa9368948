/**
 * ST DfuSe extensions of DFU 1.1 (ST UM0424 "STM32 USB-FS-Device development kit" §4.3,
 * AN3156 "USB DFU protocol used in the STM32 bootloader" §5–§6): commands sent as DFU_DNLOAD
 * with wBlockNum = 0, data written and read at address pointer + (wBlockNum − 2) ×
 * wTransferSize, leaving DFU with a zero-length DNLOAD. Pure.
 */
import { ProtocolError } from '../../core/errors.ts';
import { DfuClient, DfuRequestError, type DfuProgress } from './dfu-client.ts';
import { dnloadRequest } from './dfu-requests.ts';
import { DfuRequest, DfuState, DfuStatus } from './dfu-spec.ts';

/** First byte of a DfuSe command block (AN3156 §6.1–§6.4). */
export const DfuseCommand = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS_POINTER: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
} as const;

/** Data blocks start at wBlockNum 2 (AN3156 §6.5: 0 is commands, 1 is reserved). */
export const DFUSE_FIRST_DATA_BLOCK = 2;

/** Encodes a DfuSe command block: the command byte and an optional little-endian address. */
export function encodeDfuseCommand(command: number, address?: number): Uint8Array {
  if (address === undefined) return new Uint8Array([command]);
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff)
    throw new RangeError('address must be a 32-bit unsigned integer');
  return new Uint8Array([
    command,
    address & 0xff,
    (address >>> 8) & 0xff,
    (address >>> 16) & 0xff,
    address >>> 24,
  ]);
}

/** Read protection refuses every command but Read Unprotect (AN3156 §6.3: errVENDOR). */
function mapDfuseError(err: unknown, what: string): unknown {
  if (err instanceof DfuRequestError && err.status === DfuStatus.errVENDOR) {
    return new ProtocolError(
      'protocol.read-protected',
      `The chip is read-protected, so it refused to ${what}.`,
      {
        cause: err,
        opcode: err.opcode ?? DfuRequest.DNLOAD,
        status: err.status,
        hints: [
          'Removing read protection erases the whole flash of the chip.',
          'If that is acceptable, choose "Remove read protection", wait for the board to restart, and flash again.',
        ],
      },
    );
  }
  if (err instanceof DfuRequestError && err.status === DfuStatus.errTARGET) {
    return new ProtocolError(
      'protocol.command-failed',
      `The chip does not allow that address (${what}).`,
      {
        cause: err,
        opcode: err.opcode ?? DfuRequest.DNLOAD,
        status: err.status,
      },
    );
  }
  return err;
}

/** A DfuSe host: the DFU 1.1 client plus ST's commands and addressed memory access. */
export class DfuseClient extends DfuClient {
  /**
   * Sends a command block and waits for it to run: GETSTATUS must answer dfuDNBUSY, then
   * after bwPollTimeout dfuDNLOAD-IDLE (AN3156 §6, Figure "Download request: host side").
   */
  async command(block: Uint8Array, what: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.send(dnloadRequest(this.interfaceNumber, 0, block), signal);
      const report = await this.pollWhileBusy(DfuRequest.DNLOAD, signal);
      if (report.state !== DfuState.dfuDNLOAD_IDLE) {
        throw new DfuRequestError(
          DfuRequest.DNLOAD,
          report,
          `After "${what}" the device went to state ${report.state} instead of dfuDNLOAD-IDLE.`,
        );
      }
    } catch (err) {
      throw mapDfuseError(err, what);
    }
  }

  /** Set Address Pointer (0x21). */
  async setAddress(address: number, signal?: AbortSignal): Promise<void> {
    await this.command(
      encodeDfuseCommand(DfuseCommand.SET_ADDRESS_POINTER, address),
      `set the address to 0x${address.toString(16)}`,
      signal,
    );
  }

  /** Erase of the page/sector holding `address` (0x41 + address). */
  async erasePage(address: number, signal?: AbortSignal): Promise<void> {
    await this.command(
      encodeDfuseCommand(DfuseCommand.ERASE, address),
      `erase the sector at 0x${address.toString(16)}`,
      signal,
    );
  }

  /** Mass erase (0x41 alone). */
  async massErase(signal?: AbortSignal): Promise<void> {
    await this.command(encodeDfuseCommand(DfuseCommand.ERASE), 'erase the whole flash', signal);
  }

  /**
   * Read Unprotect (0x92): the chip removes read protection, erases its flash and RAM and
   * resets (AN3156 §6.4), so after the first GETSTATUS (dfuDNBUSY) it disconnects.
   */
  async readUnprotect(signal?: AbortSignal): Promise<void> {
    await this.send(
      dnloadRequest(this.interfaceNumber, 0, encodeDfuseCommand(DfuseCommand.READ_UNPROTECT)),
      signal,
    );
    const report = await this.getStatus(signal);
    if (report.state !== DfuState.dfuDNBUSY) {
      throw new DfuRequestError(
        DfuRequest.DNLOAD,
        report,
        'The chip did not start removing read protection.',
      );
    }
  }

  /** Get Commands (UPLOAD with wBlockNum 0, AN3156 §5.1): the supported command bytes. */
  async getCommands(signal?: AbortSignal): Promise<Uint8Array> {
    await this.ensureIdle(signal);
    const list = await this.upload(0, this.functional.transferSize, signal);
    await this.abort(signal);
    return list;
  }

  /**
   * Writes `data` at `address` (memory must be erased already): Set Address Pointer, then
   * blocks 2, 3, … of wTransferSize, each waited for with GETSTATUS.
   */
  async writeMemory(
    address: number,
    data: Uint8Array,
    options: { signal?: AbortSignal | undefined; onProgress?: (p: DfuProgress) => void } = {},
  ): Promise<void> {
    const size = this.functional.transferSize;
    // wBlockNum is 16 bits: start a new address window before it would wrap.
    const window = (0xffff - DFUSE_FIRST_DATA_BLOCK) * size;
    for (let base = 0; base < data.length; base += window) {
      await this.setAddress(address + base, options.signal);
      const end = Math.min(base + window, data.length);
      let block = DFUSE_FIRST_DATA_BLOCK;
      for (let at = base; at < end; at += size) {
        const chunk = data.subarray(at, Math.min(at + size, end));
        try {
          await this.dnload(block, chunk, options.signal);
          const report = await this.pollWhileBusy(DfuRequest.DNLOAD, options.signal);
          if (report.state !== DfuState.dfuDNLOAD_IDLE) {
            throw new DfuRequestError(DfuRequest.DNLOAD, report);
          }
        } catch (err) {
          throw mapDfuseError(err, `write at 0x${(address + at).toString(16)}`);
        }
        block++;
        options.onProgress?.({ bytesDone: at + chunk.length, bytesTotal: data.length });
      }
    }
  }

  /**
   * Reads `length` bytes at `address` (AN3156 §5.2): Set Address Pointer, ABORT to dfuIDLE,
   * UPLOAD blocks 2, 3, …, then ABORT again.
   */
  async readMemory(
    address: number,
    length: number,
    options: { signal?: AbortSignal | undefined; onProgress?: (p: DfuProgress) => void } = {},
  ): Promise<Uint8Array> {
    const size = this.functional.transferSize;
    const out = new Uint8Array(length);
    const window = (0xffff - DFUSE_FIRST_DATA_BLOCK) * size;
    for (let base = 0; base < length; base += window) {
      await this.setAddress(address + base, options.signal);
      await this.abort(options.signal);
      const end = Math.min(base + window, length);
      let block = DFUSE_FIRST_DATA_BLOCK;
      for (let at = base; at < end; at += size) {
        const want = Math.min(size, end - at);
        let chunk: Uint8Array;
        try {
          chunk = await this.upload(block, want, options.signal);
        } catch (err) {
          throw mapDfuseError(err, `read at 0x${(address + at).toString(16)}`);
        }
        if (chunk.length !== want) {
          throw new ProtocolError(
            'protocol.bad-reply',
            `The chip returned ${chunk.length} of ${want} bytes at 0x${(address + at).toString(16)}.`,
            {
              opcode: DfuRequest.UPLOAD,
            },
          );
        }
        out.set(chunk, at);
        block++;
        options.onProgress?.({ bytesDone: at + want, bytesTotal: length });
      }
      await this.abort(options.signal);
    }
    return out;
  }

  /**
   * Leave DFU mode (AN3156 §6.5): Set Address Pointer to the application, zero-length DNLOAD,
   * GETSTATUS answers dfuMANIFEST and the chip jumps to the application and disconnects.
   */
  async leave(address: number | undefined, signal?: AbortSignal): Promise<void> {
    if (address !== undefined) await this.setAddress(address, signal);
    await this.send(
      dnloadRequest(this.interfaceNumber, DFUSE_FIRST_DATA_BLOCK, new Uint8Array(0)),
      signal,
    );
    try {
      const report = await this.getStatus(signal);
      if (report.state !== DfuState.dfuMANIFEST) {
        throw new DfuRequestError(DfuRequest.DNLOAD, report, 'The chip did not leave DFU mode.');
      }
    } catch (err) {
      // The chip may already be gone: that is the success case.
      if (err instanceof DfuRequestError) throw err;
      this.logger.debug(`no status after leave: ${(err as Error).message}`);
    }
  }
}
