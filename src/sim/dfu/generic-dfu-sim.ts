/**
 * A simulated generic USB DFU 1.1 board: an application with a run-time DFU interface
 * (DFU 1.1 §4.1) that, on DFU_DETACH and a USB reset (or by itself with bitWillDetach),
 * re-enumerates as a DFU-mode device with another product id (§5.1), takes one image by
 * DFU_DNLOAD, manifests it (§7; tolerant or not) and returns to run-time after a reset.
 * Faults are injectable: a status error on a given block, a failing manifestation, the device
 * vanishing mid-download, random write errors from a seeded generator. Pure.
 */
import type { Clock } from '../../core/clock.ts';
import { DfuState, DfuStatus } from '../../protocols/dfu/dfu-spec.ts';
import type { DfuFunctionalDescriptor } from '../../protocols/dfu/dfu-descriptor.ts';
import { FlashModel, INSTANT_TIMING, type FlashTiming } from '../flash-model.ts';
import { Prng } from '../prng.ts';
import { SimDfuDevice, type DfuUploadAnswer, type DfuWork } from './sim-dfu-device.ts';
import type { SimUsbBus } from '../usb/sim-usb-device.ts';

/** pid.codes test vendor id (https://pid.codes/1209/0001/ is reserved for testing). */
export const GENERIC_DFU_VENDOR_ID = 0x1209;
export const GENERIC_RUNTIME_PRODUCT_ID = 0x0001;
export const GENERIC_DFU_PRODUCT_ID = 0x0002;

interface GenericDfuFaults {
  /** This block (wBlockNum) ends with this status (e.g. errWRITE). */
  failBlock?: { block: number; status: number };
  /** Manifestation ends with this status (e.g. errVERIFY). */
  failManifest?: number;
  /** The device drops off the bus once this many bytes were downloaded. */
  loseAfterBytes?: number;
  /** Each block fails with errWRITE with this probability, drawn from `seed`. */
  writeErrorRate?: number;
  seed?: number;
}

export interface GenericDfuBoardOptions {
  clock: Clock;
  bus: SimUsbBus;
  /** Firmware storage size; default 256 KiB in 4 KiB sectors. */
  flashSize?: number;
  timing?: FlashTiming;
  transferSize?: number;
  manifestationTolerant?: boolean;
  willDetach?: boolean;
  canUpload?: boolean;
  /** Start in DFU mode instead of run-time mode. */
  startInDfuMode?: boolean;
  /** Time to disappear and come back after a detach or reset. Default 50 ms. */
  reenumerateMs?: number;
  /** Time manifestation takes (checking the image). Default 20 ms. */
  manifestMs?: number;
  faults?: GenericDfuFaults;
  serialNumber?: string;
  /**
   * Answer dfuDNLOAD-IDLE at once for a block that took no time (DFU 1.1 Appendix A.2.4,
   * "block complete"); see SimDfuDeviceOptions.idleWhenBlockDone. Default true; false makes
   * every block go through dfuDNBUSY, as TinyUSB's DFU class does.
   */
  idleWhenBlockDone?: boolean;
}

/** The board: its flash, and whichever USB face (run-time or DFU mode) it shows. */
export class GenericDfuBoard {
  readonly flash: FlashModel;
  readonly clock: Clock;
  readonly bus: SimUsbBus;
  readonly options: GenericDfuBoardOptions;
  readonly prng: Prng | undefined;
  /** Length of the image stored by the last complete download. */
  imageLength = 0;
  /** Number of times the firmware was started. */
  boots = 0;
  current: GenericDfuDevice;

  constructor(options: GenericDfuBoardOptions) {
    this.options = options;
    this.clock = options.clock;
    this.bus = options.bus;
    this.flash = new FlashModel({
      size: options.flashSize ?? 256 * 1024,
      sectorSize: 4096,
      timing: options.timing ?? INSTANT_TIMING,
    });
    this.prng = options.faults?.writeErrorRate ? new Prng(options.faults.seed ?? 1) : undefined;
    this.current = new GenericDfuDevice(this, !(options.startInDfuMode ?? false));
    this.bus.attach(this.current);
  }

  functional(runtime: boolean): DfuFunctionalDescriptor {
    return {
      canDownload: true,
      canUpload: this.options.canUpload ?? true,
      manifestationTolerant: this.options.manifestationTolerant ?? true,
      willDetach: this.options.willDetach ?? false,
      detachTimeoutMs: 1000,
      transferSize: runtime ? 64 : (this.options.transferSize ?? 1024),
      dfuVersion: 0x0110,
    };
  }

  /** Drops the current face off the bus and attaches the other one after `reenumerateMs`. */
  reenumerate(toRuntime: boolean): void {
    const old = this.current;
    this.bus.detach(old);
    const next = new GenericDfuDevice(this, toRuntime);
    this.current = next;
    if (toRuntime) this.boots++;
    this.clock.setTimer(this.options.reenumerateMs ?? 50, () => this.bus.attach(next));
  }

  /** The stored image. */
  image(): Uint8Array {
    return this.flash.read(0, this.imageLength);
  }
}

/** One USB face of the board. */
export class GenericDfuDevice extends SimDfuDevice {
  private expectedBlock = 0;
  private received = 0;
  private erasedUpTo = 0;
  private failed = false;
  private detachTimer: ReturnType<Clock['setTimer']> | undefined;

  constructor(
    private readonly board: GenericDfuBoard,
    readonly runtime: boolean,
  ) {
    super({
      identity: {
        vendorId: GENERIC_DFU_VENDOR_ID,
        productId: runtime ? GENERIC_RUNTIME_PRODUCT_ID : GENERIC_DFU_PRODUCT_ID,
        deviceVersion: 0x0100,
        manufacturer: 'webflash',
        product: runtime ? 'Example Gadget' : 'Example Gadget (DFU)',
        serialNumber: board.options.serialNumber ?? 'GADGET0001',
      },
      clock: board.clock,
      functional: board.functional(runtime),
      runtime,
      alternateNames: [runtime ? 'Example Gadget DFU' : 'Example Gadget Firmware'],
      idleWhenBlockDone: board.options.idleWhenBlockDone ?? true,
    });
  }

  protected override onDetach(timeoutMs: number): void {
    if (this.functional.willDetach) {
      this.clock.setTimer(5, () => this.board.reenumerate(false));
      return;
    }
    // Without bitWillDetach the device waits wTimeout for a USB reset, then returns to appIDLE (§5.1).
    this.detachTimer = this.clock.setTimer(timeoutMs, () => {
      this.detachTimer = undefined;
      this.state = DfuState.appIDLE;
    });
  }

  protected override onBusReset(): void {
    super.onBusReset();
    if (this.runtime && this.state === DfuState.appDETACH) {
      if (this.detachTimer) this.clock.clearTimer(this.detachTimer);
      this.board.reenumerate(false);
    } else if (!this.runtime) {
      // DFU 1.1 Appendix A.2, states 2–10, "USB reset signaling detected": the device runs its
      // firmware (appIDLE) when it holds a valid one, whatever DFU state it was in (this is how
      // `dfu-util -R` ends an update: DFU_DETACH, stalled in DFU mode, then the reset); without
      // one it stays in DFU mode and reports errFIRMWARE.
      if (this.board.imageLength > 0) {
        this.board.reenumerate(true);
      } else {
        this.state = DfuState.dfuERROR;
        this.status = DfuStatus.errFIRMWARE;
      }
    }
  }

  protected override downloadComplete(): boolean {
    return this.received > 0 && !this.failed;
  }

  protected override onAbort(): void {
    this.expectedBlock = 0;
    this.received = 0;
    this.erasedUpTo = 0;
  }

  protected download(block: number, data: Uint8Array): DfuWork {
    const faults = this.board.options.faults ?? {};
    if (block === 0) {
      // A download always starts at block 0 (DFU 1.1 §6.1.1): start over.
      this.onAbort();
      this.failed = false;
    }
    if (block !== this.expectedBlock) return this.failWith(DfuStatus.errADDRESS);
    if (faults.failBlock?.block === block) return this.failWith(faults.failBlock.status);
    if (this.board.prng?.chance(faults.writeErrorRate ?? 0))
      return this.failWith(DfuStatus.errWRITE);
    const flash = this.board.flash;
    const offset = this.received;
    if (offset + data.length > flash.size) return this.failWith(DfuStatus.errADDRESS);
    if (offset === 0) this.board.imageLength = 0;
    let ms = 0;
    while (this.erasedUpTo < offset + data.length) {
      ms += flash.eraseSector(flash.sectorAt(this.erasedUpTo).index);
      this.erasedUpTo += flash.sectorAt(this.erasedUpTo).size;
    }
    ms += flash.program(offset, data).ms;
    this.received += data.length;
    this.expectedBlock = (block + 1) & 0xffff;
    if (faults.loseAfterBytes !== undefined && this.received >= faults.loseAfterBytes) {
      this.clock.setTimer(1, () => this.board.bus.detach(this));
    }
    return { pollTimeoutMs: ms, status: DfuStatus.OK };
  }

  private failWith(status: number): DfuWork {
    this.failed = true;
    return { pollTimeoutMs: 0, status };
  }

  protected manifest(): DfuWork {
    const status = this.board.options.faults?.failManifest ?? DfuStatus.OK;
    if (status === DfuStatus.OK) this.board.imageLength = this.received;
    this.expectedBlock = 0;
    this.received = 0;
    this.erasedUpTo = 0;
    return { pollTimeoutMs: this.board.options.manifestMs ?? 20, status };
  }

  protected upload(block: number, length: number): DfuUploadAnswer {
    const start = block * this.functional.transferSize;
    const end = Math.min(start + length, this.board.imageLength);
    return { data: start >= end ? new Uint8Array(0) : this.board.flash.read(start, end - start) };
  }
}
