/**
 * A host-side USB DFU 1.1 client: every class request, GETSTATUS polling that honours
 * bwPollTimeout (§6.1.2), error recovery to dfuIDLE (Appendix A.1), whole-image download with
 * manifestation (§7) and upload (§6.2). DfuSe builds on it (dfuse-client.ts). Pure: it talks
 * through a `UsbConnection` and waits on the injected Clock.
 */
import { sleep, type Clock } from '../../core/clock.ts';
import { ProtocolError, TimeoutError, throwIfAborted } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { UsbConnection } from '../../transport/usb.ts';
import type { DfuFunctionalDescriptor } from './dfu-descriptor.ts';
import {
  abortRequest,
  clrStatusRequest,
  decodeStatus,
  detachRequest,
  dnloadRequest,
  getStateRequest,
  getStatusRequest,
  uploadRequest,
  type DfuStatusReport,
  type DfuWireRequest,
} from './dfu-requests.ts';
import {
  DFU_REQUEST_NAMES,
  DFU_STATUS_TEXT,
  DfuRequest,
  DfuState,
  DfuStatus,
  stateName,
  statusName,
} from './dfu-spec.ts';

export interface DfuClientOptions {
  connection: UsbConnection;
  interfaceNumber: number;
  functional: DfuFunctionalDescriptor;
  clock: Clock;
  logger?: Logger;
  /** Longest a device may stay busy (dfuDNBUSY/dfuMANIFEST) for one step. Default 60 s. */
  maxBusyMs?: number;
  /** Deadline of one control transfer. Default 5 s. */
  transferTimeoutMs?: number;
}

export interface DfuProgress {
  bytesDone: number;
  bytesTotal: number;
}

/** Thrown by a request the device refused; `status`/`state` are what GETSTATUS said next. */
export class DfuRequestError extends ProtocolError {
  readonly state: number | undefined;
  constructor(request: number, report: DfuStatusReport | undefined, message?: string) {
    const reqName = DFU_REQUEST_NAMES[request] ?? `request ${request}`;
    const detail = report
      ? `${statusName(report.status)} (${DFU_STATUS_TEXT[report.status]?.text ?? 'unknown status'}), state ${stateName(report.state)}`
      : 'no status';
    super('protocol.command-failed', message ?? `The device refused ${reqName}: ${detail}.`, {
      opcode: request,
      ...(report ? { status: report.status } : {}),
      hints: ['Try again; if it keeps failing, unplug the board and put it back in DFU mode.'],
    });
    this.state = report?.state;
  }
}

/** DFU 1.1 host: requests and the sequences built from them. */
export class DfuClient {
  readonly connection: UsbConnection;
  readonly interfaceNumber: number;
  readonly functional: DfuFunctionalDescriptor;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  private readonly maxBusyMs: number;
  private readonly transferTimeoutMs: number;

  constructor(options: DfuClientOptions) {
    this.connection = options.connection;
    this.interfaceNumber = options.interfaceNumber;
    this.functional = options.functional;
    this.clock = options.clock;
    this.logger = options.logger ?? silentLogger;
    this.maxBusyMs = options.maxBusyMs ?? 60_000;
    this.transferTimeoutMs = options.transferTimeoutMs ?? 5000;
  }

  /** Sends one request; a stall becomes a DfuRequestError carrying the device's status. */
  protected async send(req: DfuWireRequest, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const opts = { timeoutMs: this.transferTimeoutMs, signal };
    const request = req.setup.request;
    if (req.direction === 'in') {
      const r = await this.connection.controlIn(req.setup, req.length, opts);
      if (r.status === 'stall') throw await this.refused(request);
      if (r.status === 'babble') {
        throw new ProtocolError(
          'protocol.bad-reply',
          `The device sent too much data for ${DFU_REQUEST_NAMES[request]}.`,
          {
            opcode: request,
          },
        );
      }
      return r.data;
    }
    const r = await this.connection.controlOut(req.setup, req.data ?? new Uint8Array(0), opts);
    if (r.status === 'stall') throw await this.refused(request);
    if (r.status !== 'ok' || r.bytesWritten !== req.length) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `The device took ${r.bytesWritten} of ${req.length} bytes of ${DFU_REQUEST_NAMES[request]}.`,
        { opcode: request },
      );
    }
    return new Uint8Array(0);
  }

  /** After a stall the device is in dfuERROR; GETSTATUS tells why (DFU 1.1 §6.1.2). */
  private async refused(request: number): Promise<DfuRequestError> {
    if (request === DfuRequest.GETSTATUS) return new DfuRequestError(request, undefined);
    try {
      const report = await this.getStatus();
      return new DfuRequestError(request, report);
    } catch {
      return new DfuRequestError(request, undefined);
    }
  }

  /**
   * Waits bwPollTimeout, the least time the host must leave before the next DFU_GETSTATUS
   * (§6.1.2). 0 means "ask again now": no timer, which on a real clock would cost a timer tick
   * (1 ms in Node, up to 4 ms for nested timers in a browser) for nothing.
   */
  private async waitPoll(ms: number, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (ms > 0) await sleep(this.clock, ms, signal);
  }

  /** DFU_DETACH (§5.1). */
  async detach(
    timeoutMs = Math.min(this.functional.detachTimeoutMs || 1000, 0xffff),
  ): Promise<void> {
    await this.send(detachRequest(this.interfaceNumber, timeoutMs));
  }

  /** DFU_DNLOAD of one block (§6.1.1); does not wait for the device. */
  async dnload(blockNum: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (data.length > this.functional.transferSize) {
      throw new RangeError(
        `DFU block of ${data.length} bytes exceeds wTransferSize ${this.functional.transferSize}`,
      );
    }
    await this.send(dnloadRequest(this.interfaceNumber, blockNum, data), signal);
  }

  /** DFU_UPLOAD of one block (§6.2). */
  async upload(blockNum: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const data = await this.send(uploadRequest(this.interfaceNumber, blockNum, length), signal);
    if (data.length > length) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `DFU_UPLOAD returned ${data.length} bytes for ${length} asked`,
        {
          opcode: DfuRequest.UPLOAD,
        },
      );
    }
    return data;
  }

  /** DFU_GETSTATUS (§6.1.2). */
  async getStatus(signal?: AbortSignal): Promise<DfuStatusReport> {
    return decodeStatus(await this.send(getStatusRequest(this.interfaceNumber), signal));
  }

  /** DFU_CLRSTATUS (§6.1.3): dfuERROR → dfuIDLE. */
  async clrStatus(signal?: AbortSignal): Promise<void> {
    await this.send(clrStatusRequest(this.interfaceNumber), signal);
  }

  /** DFU_GETSTATE (§6.1.5). */
  async getState(signal?: AbortSignal): Promise<number> {
    const data = await this.send(getStateRequest(this.interfaceNumber), signal);
    if (data.length !== 1) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `DFU_GETSTATE answered ${data.length} bytes instead of 1`,
        {
          opcode: DfuRequest.GETSTATE,
        },
      );
    }
    return data[0]!;
  }

  /** DFU_ABORT (§6.1.4): back to dfuIDLE from an idle download or upload. */
  async abort(signal?: AbortSignal): Promise<void> {
    await this.send(abortRequest(this.interfaceNumber), signal);
  }

  /**
   * Polls DFU_GETSTATUS, waiting bwPollTimeout between polls as §6.1.2 requires, until the
   * device leaves the busy states (dfuDNLOAD-SYNC, dfuDNBUSY, dfuMANIFEST-SYNC, dfuMANIFEST).
   * Returns the last report.
   * @throws {DfuRequestError} when the device reports dfuERROR.
   * @throws {TimeoutError} when it stays busy longer than `maxBusyMs`.
   */
  async pollWhileBusy(request: number, signal?: AbortSignal): Promise<DfuStatusReport> {
    const start = this.clock.now();
    for (;;) {
      const report = await this.getStatus(signal);
      if (report.state === DfuState.dfuERROR || report.status !== DfuStatus.OK) {
        throw new DfuRequestError(request, report);
      }
      if (
        report.state !== DfuState.dfuDNBUSY &&
        report.state !== DfuState.dfuDNLOAD_SYNC &&
        report.state !== DfuState.dfuMANIFEST_SYNC
      ) {
        return report;
      }
      if (this.clock.now() - start + report.pollTimeoutMs > this.maxBusyMs) {
        throw new TimeoutError(
          `The device stayed busy after ${DFU_REQUEST_NAMES[request]}`,
          this.maxBusyMs,
        );
      }
      await this.waitPoll(report.pollTimeoutMs, signal);
    }
  }

  /**
   * Brings the device to dfuIDLE from any DFU-mode state the host can leave (Appendix A.1):
   * CLRSTATUS from dfuERROR, ABORT from the idle download/upload states.
   * @throws {ProtocolError} when the device is in a state the host cannot leave (run-time
   *   mode, manifestation waiting for a reset).
   */
  async ensureIdle(signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const report = await this.getStatus(signal);
      switch (report.state) {
        case DfuState.dfuIDLE:
          if (report.status === DfuStatus.OK) return;
          await this.clrStatus(signal);
          break;
        case DfuState.dfuERROR:
          this.logger.debug(`clearing ${statusName(report.status)}`);
          await this.clrStatus(signal);
          break;
        case DfuState.dfuDNLOAD_IDLE:
        case DfuState.dfuUPLOAD_IDLE:
          await this.abort(signal);
          break;
        case DfuState.dfuDNBUSY:
        case DfuState.dfuMANIFEST:
          await this.waitPoll(report.pollTimeoutMs, signal);
          break;
        case DfuState.dfuDNLOAD_SYNC:
        case DfuState.dfuMANIFEST_SYNC:
          break;
        default:
          throw new ProtocolError(
            'protocol.unsupported',
            `The device is in ${stateName(report.state)}, not in DFU mode.`,
            {
              status: report.status,
              hints: ['Unplug the board and put it in DFU mode again.'],
            },
          );
      }
    }
    const state = await this.getState(signal);
    if (state !== DfuState.dfuIDLE) {
      throw new ProtocolError(
        'protocol.command-failed',
        `The device did not return to dfuIDLE (it is in ${stateName(state)}).`,
      );
    }
  }

  /**
   * Downloads a whole image (§6.1.1): blocks of wTransferSize numbered from 0, each followed by
   * status polling. Does not end the download; call `manifest()` after.
   */
  async downloadBlocks(
    data: Uint8Array,
    options: { signal?: AbortSignal | undefined; onProgress?: (p: DfuProgress) => void } = {},
  ): Promise<void> {
    const size = this.functional.transferSize;
    let block = 0;
    for (let at = 0; at < data.length; at += size) {
      const chunk = data.subarray(at, Math.min(at + size, data.length));
      await this.dnload(block, chunk, options.signal);
      const report = await this.pollWhileBusy(DfuRequest.DNLOAD, options.signal);
      if (report.state !== DfuState.dfuDNLOAD_IDLE) {
        throw new DfuRequestError(
          DfuRequest.DNLOAD,
          report,
          `After block ${block} the device went to ${stateName(report.state)} instead of dfuDNLOAD-IDLE.`,
        );
      }
      block = (block + 1) & 0xffff;
      options.onProgress?.({ bytesDone: at + chunk.length, bytesTotal: data.length });
    }
  }

  /**
   * Ends the download with a zero-length DFU_DNLOAD and follows manifestation (§7):
   * a manifestation-tolerant device returns to dfuIDLE; another one ends in
   * dfuMANIFEST-WAIT-RESET (or stops answering) and waits for a USB reset, which this sends.
   * Returns 'idle' or 'reset'.
   */
  async manifest(signal?: AbortSignal): Promise<'idle' | 'reset'> {
    await this.send(dnloadRequest(this.interfaceNumber, 0, new Uint8Array(0)), signal);
    const start = this.clock.now();
    for (;;) {
      let report: DfuStatusReport;
      try {
        report = await this.getStatus(signal);
      } catch (err) {
        // A device that is not manifestation tolerant may stop answering (§7, Figure A.2).
        if (!this.functional.manifestationTolerant) {
          this.logger.debug(
            `no status during manifestation (${(err as Error).message}); resetting`,
          );
          await this.connection.reset();
          return 'reset';
        }
        throw err;
      }
      if (report.state === DfuState.dfuERROR || report.status !== DfuStatus.OK) {
        throw new DfuRequestError(
          DfuRequest.DNLOAD,
          report,
          `Manifestation failed: ${statusName(report.status)} (${DFU_STATUS_TEXT[report.status]?.text ?? ''}).`,
        );
      }
      if (report.state === DfuState.dfuIDLE) return 'idle';
      if (report.state === DfuState.dfuMANIFEST_WAIT_RESET) {
        await this.connection.reset();
        return 'reset';
      }
      if (report.state === DfuState.dfuMANIFEST && !this.functional.manifestationTolerant) {
        await this.waitPoll(report.pollTimeoutMs, signal);
        await this.connection.reset();
        return 'reset';
      }
      if (this.clock.now() - start + report.pollTimeoutMs > this.maxBusyMs) {
        throw new TimeoutError('The device did not finish manifestation', this.maxBusyMs);
      }
      await this.waitPoll(report.pollTimeoutMs, signal);
    }
  }

  /**
   * Uploads the whole image (§6.2): blocks of wTransferSize from 0 until a short block, or
   * `maxLength` bytes (then ABORT). Starts and ends in dfuIDLE.
   */
  async uploadAll(
    options: {
      maxLength?: number;
      signal?: AbortSignal | undefined;
      onProgress?: (p: DfuProgress) => void;
    } = {},
  ): Promise<Uint8Array> {
    const size = this.functional.transferSize;
    const max = options.maxLength ?? Infinity;
    const parts: Uint8Array[] = [];
    let total = 0;
    let block = 0;
    for (;;) {
      const want = Math.min(size, max - total);
      const chunk = await this.upload(block, want, options.signal);
      parts.push(chunk);
      total += chunk.length;
      block = (block + 1) & 0xffff;
      options.onProgress?.({ bytesDone: total, bytesTotal: Number.isFinite(max) ? max : total });
      if (chunk.length < want) break; // a short frame ends the upload: the device is in dfuIDLE
      if (total >= max) {
        await this.abort(options.signal);
        break;
      }
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
