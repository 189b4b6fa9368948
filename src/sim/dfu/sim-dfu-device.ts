/**
 * The device side of USB DFU 1.1: the state machine of §6.1.2 and Appendix A.2 (Table A.2.x
 * "State transition summary") exactly as a strict device applies it. Every request not
 * allowed in the current state is STALLed and moves the device to dfuERROR with
 * errSTALLEDPKT; a request during dfuDNBUSY or dfuMANIFEST (before bwPollTimeout has passed)
 * is such a request. Subclasses supply what a download block, manifestation and upload do.
 * Pure.
 */
import type { UsbSetup } from '../../transport/usb.ts';
import type { ConfigurationSpec } from '../../transport/usb-descriptors.ts';
import {
  encodeFunctionalDescriptor,
  type DfuFunctionalDescriptor,
} from '../../protocols/dfu/dfu-descriptor.ts';
import { encodeStatus } from '../../protocols/dfu/dfu-requests.ts';
import {
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
  DfuRequest,
  DfuState,
  DfuStatus,
} from '../../protocols/dfu/dfu-spec.ts';
import type { Clock } from '../../core/clock.ts';
import {
  STALL_IN,
  STALL_OUT,
  SimUsbDevice,
  type SimDeviceIdentity,
  type SimInResult,
  type SimOutResult,
} from '../usb/sim-usb-device.ts';
import type { UsbLinkModelOptions } from '../usb/usb-link-model.ts';

/** What the device does for one block or for manifestation: how long it is busy, and the outcome. */
export interface DfuWork {
  pollTimeoutMs: number;
  status: number;
}

/** An upload answer: bytes, or an error status (the request is stalled). */
export type DfuUploadAnswer = { data: Uint8Array } | { error: number };

export interface SimDfuDeviceOptions {
  identity: SimDeviceIdentity;
  clock: Clock;
  functional: DfuFunctionalDescriptor;
  /** True for a device running its application with a run-time DFU interface (appIDLE). */
  runtime?: boolean;
  /** Names of the alternate settings of the DFU interface (one per alternate). */
  alternateNames?: readonly string[];
  link?: UsbLinkModelOptions;
  interfaceNumber?: number;
  /**
   * DFU 1.1 Appendix A.2.4 (state 3, dfuDNLOAD-SYNC): a block whose work is already done when
   * DFU_GETSTATUS arrives ("block complete") is answered dfuDNLOAD-IDLE with bwPollTimeout 0,
   * or dfuERROR when it failed; only a block still in progress goes to dfuDNBUSY. True for
   * devices that write a block while its data stage arrives (TI's Tiva DFU boot loader); false
   * (the default) for devices that always answer dfuDNBUSY first (ST's DfuSe bootloader,
   * AN3156 §6; TinyUSB's DFU class).
   */
  idleWhenBlockDone?: boolean;
}

/** A log line of what the device saw, for tests. */
export interface DfuTraceEntry {
  time: number;
  request: number;
  value: number;
  length: number;
  stateBefore: number;
  stateAfter: number;
  stalled: boolean;
}

export abstract class SimDfuDevice extends SimUsbDevice {
  readonly functional: DfuFunctionalDescriptor;
  readonly interfaceNumber: number;
  state: number;
  status: number = DfuStatus.OK;
  /** Every class request, in order. */
  readonly trace: DfuTraceEntry[] = [];
  private busyUntil = 0;
  private pendingBlock: { block: number; data: Uint8Array } | undefined;
  private blockResult: number | undefined;
  private manifestStarted = false;
  private manifestResult: number | undefined;
  private pollTimeoutMs = 0;
  private readonly idleWhenBlockDone: boolean;

  protected constructor(options: SimDfuDeviceOptions) {
    const runtime = options.runtime ?? false;
    const iface = options.interfaceNumber ?? 0;
    super({
      identity: options.identity,
      clock: options.clock,
      ...(options.link ? { link: options.link } : {}),
      configuration: (dev): ConfigurationSpec => {
        const names = options.alternateNames ?? [undefined];
        return {
          configurationValue: 1,
          interfaces: names.map((name, alt) => ({
            interfaceNumber: iface,
            alternateSetting: alt,
            interfaceClass: DFU_INTERFACE_CLASS,
            interfaceSubclass: DFU_INTERFACE_SUBCLASS,
            interfaceProtocol: runtime ? DFU_PROTOCOL_RUNTIME : DFU_PROTOCOL_DFU_MODE,
            stringIndex: dev.stringIndexOf(name),
            // DfuSe devices place the functional descriptor after the last alternate (UM0424).
            ...(alt === names.length - 1
              ? { extra: [encodeFunctionalDescriptor(options.functional)] }
              : {}),
          })),
        };
      },
    });
    this.functional = options.functional;
    this.interfaceNumber = iface;
    this.state = runtime ? DfuState.appIDLE : DfuState.dfuIDLE;
    this.idleWhenBlockDone = options.idleWhenBlockDone ?? false;
  }

  /** Work for one downloaded block, started at the GETSTATUS after DFU_DNLOAD. */
  protected abstract download(block: number, data: Uint8Array): DfuWork;
  /** Work of manifestation, started at the GETSTATUS after the zero-length DFU_DNLOAD. */
  protected abstract manifest(): DfuWork;
  /** Answer to DFU_UPLOAD in dfuIDLE/dfuUPLOAD-IDLE. */
  protected abstract upload(block: number, length: number): DfuUploadAnswer;
  /**
   * Checked when DFU_DNLOAD arrives: a status makes the device STALL it at once (e.g. DfuSe
   * rejects unknown commands and wBlockNum 1 this way); `undefined` accepts it.
   */
  protected checkDownload(_block: number, _data: Uint8Array): number | undefined {
    return undefined;
  }
  /** True when a zero-length DNLOAD may start manifestation (else errNOTDONE). */
  protected downloadComplete(): boolean {
    return true;
  }
  /** DfuSe accepts the zero-length DNLOAD ("leave") in dfuIDLE too; DFU 1.1 does not. */
  protected zeroLengthInIdleAllowed(): boolean {
    return false;
  }
  /** Run-time mode: DFU_DETACH was accepted. */
  protected onDetach(_timeoutMs: number): void {}
  /** Manifestation finished (after its poll timeout). */
  protected onManifested(): void {}
  /** DFU_ABORT was accepted. */
  protected onAbort(): void {}

  /** Moves time-driven states forward (dfuDNBUSY → dfuDNLOAD-SYNC, dfuMANIFEST → …). */
  private tick(): void {
    if (this.clock.now() < this.busyUntil) return;
    if (this.state === DfuState.dfuDNBUSY) this.state = DfuState.dfuDNLOAD_SYNC;
    else if (this.state === DfuState.dfuMANIFEST) {
      if (this.manifestResult !== undefined && this.manifestResult !== DfuStatus.OK) {
        this.state = DfuState.dfuERROR;
        this.status = this.manifestResult;
      } else {
        this.state = this.functional.manifestationTolerant
          ? DfuState.dfuMANIFEST_SYNC
          : DfuState.dfuMANIFEST_WAIT_RESET;
      }
      this.onManifested();
    }
  }

  private get busy(): boolean {
    return this.state === DfuState.dfuDNBUSY || this.state === DfuState.dfuMANIFEST;
  }

  /** STALL and dfuERROR (DFU 1.1 §6.1.2: "device stalled an unexpected request"). */
  protected fail(status: number = DfuStatus.errSTALLEDPKT): false {
    if (this.state !== DfuState.appIDLE && this.state !== DfuState.appDETACH) {
      this.state = DfuState.dfuERROR;
      this.status = status;
    }
    return false;
  }

  private forUs(setup: UsbSetup): boolean {
    return setup.recipient === 'interface' && (setup.index & 0xff) === this.interfaceNumber;
  }

  private record(setup: UsbSetup, length: number, before: number, stalled: boolean): void {
    this.trace.push({
      time: this.clock.now(),
      request: setup.request,
      value: setup.value,
      length,
      stateBefore: before,
      stateAfter: this.state,
      stalled,
    });
  }

  protected classIn(setup: UsbSetup, length: number): SimInResult {
    if (!this.forUs(setup)) return STALL_IN;
    this.tick();
    const before = this.state;
    const r = this.handleIn(setup, length);
    this.record(setup, length, before, r.status === 'stall');
    return r;
  }

  protected classOut(setup: UsbSetup, data: Uint8Array): SimOutResult {
    if (!this.forUs(setup)) return STALL_OUT;
    this.tick();
    const before = this.state;
    const ok = this.handleOut(setup, data);
    this.record(setup, data.length, before, !ok);
    return ok ? { status: 'ok', bytesWritten: data.length } : STALL_OUT;
  }

  private handleIn(setup: UsbSetup, length: number): SimInResult {
    const runtime = this.state === DfuState.appIDLE || this.state === DfuState.appDETACH;
    if (this.state === DfuState.dfuMANIFEST_WAIT_RESET) {
      // Only a USB reset leaves dfuMANIFEST-WAIT-RESET (DFU 1.1 Appendix A.2.9, Figure A.1), but
      // the status requests are answered so that the host sees the state and resets: dfu-util
      // 0.11 (src/dfu_load.c, dfuload_do_dnload) polls DFU_GETSTATUS after dfuMANIFEST and
      // sends the reset on dfuMANIFEST-WAIT-RESET; a stall there makes it fail the download.
      if (setup.request === DfuRequest.GETSTATUS && length === 6)
        return { status: 'ok', data: this.getStatus() };
      if (setup.request === DfuRequest.GETSTATE && length === 1)
        return { status: 'ok', data: new Uint8Array([this.state]) };
      return STALL_IN;
    }
    if (this.busy) {
      this.fail();
      return STALL_IN;
    }
    switch (setup.request) {
      case DfuRequest.GETSTATUS:
        if (length !== 6 || setup.value !== 0) return this.fail() || STALL_IN;
        return { status: 'ok', data: this.getStatus() };
      case DfuRequest.GETSTATE:
        if (length !== 1 || setup.value !== 0) return this.fail() || STALL_IN;
        return { status: 'ok', data: new Uint8Array([this.state]) };
      case DfuRequest.UPLOAD: {
        if (runtime) return STALL_IN;
        if (!this.functional.canUpload || length === 0 || length > this.functional.transferSize)
          return this.fail() || STALL_IN;
        if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuUPLOAD_IDLE)
          return this.fail() || STALL_IN;
        const answer = this.upload(setup.value, length);
        if ('error' in answer) return this.fail(answer.error) || STALL_IN;
        this.state = answer.data.length < length ? DfuState.dfuIDLE : DfuState.dfuUPLOAD_IDLE;
        return { status: 'ok', data: answer.data };
      }
      default:
        return this.fail() || STALL_IN;
    }
  }

  private handleOut(setup: UsbSetup, data: Uint8Array): boolean {
    const runtime = this.state === DfuState.appIDLE || this.state === DfuState.appDETACH;
    if (this.state === DfuState.dfuMANIFEST_WAIT_RESET) return false; // stalled, stays (A.2.9)
    if (this.busy) return this.fail();
    switch (setup.request) {
      case DfuRequest.DETACH:
        if (this.state !== DfuState.appIDLE || data.length !== 0) return this.fail();
        this.state = DfuState.appDETACH;
        this.onDetach(setup.value);
        return true;
      case DfuRequest.DNLOAD:
        if (runtime) return false;
        if (!this.functional.canDownload || data.length > this.functional.transferSize)
          return this.fail();
        if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuDNLOAD_IDLE)
          return this.fail();
        if (data.length === 0) {
          if (this.state === DfuState.dfuIDLE && !this.zeroLengthInIdleAllowed())
            return this.fail();
          if (this.state === DfuState.dfuDNLOAD_IDLE && !this.downloadComplete())
            return this.fail(DfuStatus.errNOTDONE);
          this.state = DfuState.dfuMANIFEST_SYNC;
          this.manifestStarted = false;
          this.manifestResult = undefined;
          return true;
        }
        {
          const reject = this.checkDownload(setup.value, data);
          if (reject !== undefined) return this.fail(reject);
        }
        this.pendingBlock = { block: setup.value, data: data.slice() };
        this.blockResult = undefined;
        this.state = DfuState.dfuDNLOAD_SYNC;
        return true;
      case DfuRequest.CLRSTATUS:
        if (runtime || this.state !== DfuState.dfuERROR || data.length !== 0)
          return runtime ? false : this.fail();
        this.state = DfuState.dfuIDLE;
        this.status = DfuStatus.OK;
        return true;
      case DfuRequest.ABORT:
        if (runtime) return false;
        if (data.length !== 0) return this.fail();
        if (
          this.state !== DfuState.dfuIDLE &&
          this.state !== DfuState.dfuDNLOAD_IDLE &&
          this.state !== DfuState.dfuUPLOAD_IDLE
        ) {
          return this.fail();
        }
        this.state = DfuState.dfuIDLE;
        this.onAbort();
        return true;
      default:
        return runtime ? false : this.fail();
    }
  }

  /** DFU_GETSTATUS: also the moment the device starts the work of a block or manifestation. */
  private getStatus(): Uint8Array {
    const now = this.clock.now();
    this.pollTimeoutMs = 0;
    if (this.state === DfuState.dfuDNLOAD_SYNC) {
      if (this.pendingBlock) {
        const { block, data } = this.pendingBlock;
        this.pendingBlock = undefined;
        const work = this.download(block, data);
        this.blockResult = work.status;
        this.pollTimeoutMs = Math.ceil(work.pollTimeoutMs);
        this.busyUntil = now + this.pollTimeoutMs;
        if (this.idleWhenBlockDone && this.pollTimeoutMs === 0) {
          // Block complete (Appendix A.2.4): no dfuDNBUSY round trip.
          if (work.status === DfuStatus.OK) this.state = DfuState.dfuDNLOAD_IDLE;
          else {
            this.state = DfuState.dfuERROR;
            this.status = work.status;
          }
        } else {
          this.state = DfuState.dfuDNBUSY;
        }
      } else if (this.blockResult !== undefined && this.blockResult !== DfuStatus.OK) {
        this.state = DfuState.dfuERROR;
        this.status = this.blockResult;
      } else {
        this.state = DfuState.dfuDNLOAD_IDLE;
      }
    } else if (this.state === DfuState.dfuMANIFEST_SYNC) {
      if (!this.manifestStarted) {
        this.manifestStarted = true;
        const work = this.manifest();
        this.manifestResult = work.status;
        this.pollTimeoutMs = Math.ceil(work.pollTimeoutMs);
        this.busyUntil = now + this.pollTimeoutMs;
        this.state = DfuState.dfuMANIFEST;
      } else {
        this.state = DfuState.dfuIDLE;
      }
    }
    return encodeStatus({
      status: this.status,
      pollTimeoutMs: this.pollTimeoutMs,
      state: this.state,
      stringIndex: 0,
    });
  }

  protected override onBusReset(): void {
    this.tick();
    this.busyUntil = 0;
    this.pendingBlock = undefined;
  }
}
