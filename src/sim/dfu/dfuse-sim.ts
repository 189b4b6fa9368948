/**
 * A simulated STM32 system bootloader in DFU mode (ST AN2606, AN3156): USB 0483:df11,
 * bcdDevice 0x2200, DfuSe (bcdDFU 0x011A) with wTransferSize 2048 and bmAttributes 0x0B
 * (download, upload, will detach; not manifestation tolerant), and the four alternate settings
 * with the chip's real interface strings. Two chips (`DfuseChip`): the STM32F405 (AN2606
 * "STM32F40xxx/41xxx devices bootloader"; 16/64/128 KiB sectors) and the STM32L476 (2 KiB
 * pages). Flash timing from the shared FlashModel (datasheet values), read-out protection
 * (RDP level 1) with errVENDOR answers and Read Unprotect. Pure.
 */
import type { Clock } from '../../core/clock.ts';
import { DfuState, DfuStatus } from '../../protocols/dfu/dfu-spec.ts';
import {
  parseMemoryLayout,
  type MemoryLayout,
  type MemorySegment,
} from '../../protocols/dfu/dfuse-layout.ts';
import { ST_DFU_BOOTLOADER } from '../../protocols/dfu/dfuse-chips.ts';
import { DfuseCommand, DFUSE_FIRST_DATA_BLOCK } from '../../protocols/dfu/dfuse-client.ts';
import {
  FlashModel,
  STM32F4_1M_SECTORS,
  STM32F4_TIMING,
  type FlashTiming,
} from '../flash-model.ts';
import { STM32_FAMILY_TIMING } from '../stm32/memory.ts';
import { SimDfuDevice, type DfuUploadAnswer, type DfuWork } from './sim-dfu-device.ts';
import type { SimUsbBus } from '../usb/sim-usb-device.ts';

/** The interface strings of the STM32F405's DFU bootloader, alternate settings 0..3. */
export const STM32F405_INTERFACE_STRINGS = [
  '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
  '@Option Bytes  /0x1FFFC000/01*016 e',
  '@OTP Memory /0x1FFF7800/01*512 e,01*016 e',
  '@Device Feature  /0xFFFF0000/01*004 e',
] as const;

/** One chip's DfuSe bootloader: what it reports and how its flash behaves. */
export interface DfuseChip {
  name: string;
  /** Interface strings of alternate settings 0..3: flash, option bytes, OTP, device feature. */
  interfaceStrings: readonly string[];
  /** Flash sector (page) sizes from 0x08000000, as the chip has them. */
  sectors: readonly number[];
  timing: FlashTiming;
  /** Offset of the RDP byte in the option bytes (0xAA: level 0). */
  rdpOffset: number;
}

/** STM32F405: 1 MiB in 4×16, 1×64 and 7×128 KiB sectors (RM0090 §3.3); RDP at 0x1FFFC001. */
export const STM32F405_DFUSE: DfuseChip = {
  name: 'STM32F405',
  interfaceStrings: STM32F405_INTERFACE_STRINGS,
  sectors: STM32F4_1M_SECTORS,
  timing: STM32F4_TIMING,
  rdpOffset: 1,
};

/**
 * STM32L476: 1 MiB in 512 pages of 2 KiB (RM0351 §3.3.1, two banks of 256), which its
 * bootloader reports as "512*0002Kg" (the string ST's STM32L4 bootloader gives, as seen on an
 * STM32L452 board); option bytes at 0x1FFF7800 with RDP in the first byte of FLASH_OPTR
 * (RM0351 §3.4.1); the L4 family's flash timing (page erase 22 ms, 64-bit program 81.7 µs).
 */
export const STM32L476_DFUSE: DfuseChip = {
  name: 'STM32L476',
  interfaceStrings: [
    '@Internal Flash  /0x08000000/512*0002Kg',
    '@Option Bytes  /0x1FFF7800/01*040 e',
    '@OTP Memory /0x1FFF7000/01*0001Kg',
    '@Device Feature/0xFFFF0000/01*004 e',
  ],
  sectors: Array<number>(512).fill(2048),
  timing: STM32_FAMILY_TIMING.L4,
  rdpOffset: 0,
};

/** Time from the last answer to the chip dropping off the bus (its reset). */
const DETACH_DELAY_MS = 5;

/** ST's DFU bootloader identity (protocols/dfu/dfuse-chips.ts), which the simulated chip has. */
export const STM32_DFU_VENDOR_ID = ST_DFU_BOOTLOADER.vendorId;
export const STM32_DFU_PRODUCT_ID = ST_DFU_BOOTLOADER.productId;

/** A memory behind one alternate setting: the flash model, or plain bytes. */
interface SimMemory {
  layout: MemoryLayout;
  flash?: FlashModel;
  bytes?: Uint8Array;
  /** OTP: bits only go from 1 to 0, and nothing erases them. */
  otp?: boolean;
}

export interface DfuseSimOptions {
  clock: Clock;
  bus: SimUsbBus;
  /** RDP level 1: every command but Read Unprotect answers errVENDOR (AN3156 §6). */
  readProtected?: boolean;
  serialNumber?: string;
  /** Default STM32F405_DFUSE. */
  chip?: DfuseChip;
  /** Default: the chip's. */
  timing?: FlashTiming;
  /** Called when the chip leaves DFU and jumps to `address` (it has detached from the bus). */
  onLeave?: (address: number) => void;
  /** Milliseconds from detaching to attaching again after Read Unprotect (plus the mass erase). */
  reattachMs?: number;
}

/** The STM32F405 DfuSe bootloader. */
export class DfuseSimDevice extends SimDfuDevice {
  readonly flash: FlashModel;
  readonly memories: SimMemory[];
  readProtected: boolean;
  /** The DfuSe address pointer; 0x08000000 until set (AN3156 §5.2). */
  addressPointer = 0x08000000;
  /** Where "leave DFU" jumped, once it has. */
  jumpedTo: number | undefined;
  private readonly bus: SimUsbBus;
  private readonly onLeaveCb: ((address: number) => void) | undefined;
  private readonly reattachMs: number;
  private readonly rdpOffset: number;

  constructor(options: DfuseSimOptions) {
    const chip = options.chip ?? STM32F405_DFUSE;
    super({
      identity: {
        vendorId: STM32_DFU_VENDOR_ID,
        productId: STM32_DFU_PRODUCT_ID,
        deviceVersion: 0x2200,
        manufacturer: 'STMicroelectronics',
        product: 'STM32  BOOTLOADER',
        serialNumber: options.serialNumber ?? '336F38673231',
      },
      clock: options.clock,
      functional: {
        canDownload: true,
        canUpload: true,
        manifestationTolerant: false,
        willDetach: true,
        detachTimeoutMs: 255,
        transferSize: 2048,
        dfuVersion: 0x011a,
      },
      alternateNames: chip.interfaceStrings,
    });
    this.bus = options.bus;
    this.readProtected = options.readProtected ?? false;
    this.onLeaveCb = options.onLeave;
    this.reattachMs = options.reattachMs ?? 100;
    this.flash = new FlashModel({
      sectors: chip.sectors,
      baseAddress: 0x08000000,
      timing: options.timing ?? chip.timing,
    });
    const layouts = chip.interfaceStrings.map((s) => parseMemoryLayout(s));
    const size = (l: MemoryLayout) => l.segments.at(-1)!.end - l.segments[0]!.start;
    const option = new Uint8Array(size(layouts[1]!)).fill(0xff);
    // The RDP byte is 0xAA for level 0; any other value is level 1 (RM0090 §3.7.1, RM0351 §3.4.1).
    this.rdpOffset = chip.rdpOffset;
    option[this.rdpOffset] = this.readProtected ? 0x55 : 0xaa;
    this.memories = [
      { layout: layouts[0]!, flash: this.flash },
      { layout: layouts[1]!, bytes: option },
      { layout: layouts[2]!, bytes: new Uint8Array(size(layouts[2]!)).fill(0xff), otp: true },
      { layout: layouts[3]!, bytes: new Uint8Array(size(layouts[3]!)) },
    ];
  }

  private get memory(): SimMemory {
    return this.memories[this.alternateOf(this.interfaceNumber)]!;
  }

  private segmentFor(address: number, length: number): MemorySegment | undefined {
    return this.memory.layout.segments.find((s) => address >= s.start && address + length <= s.end);
  }

  protected override checkDownload(block: number, data: Uint8Array): number | undefined {
    if (block === 1) return DfuStatus.errSTALLEDPKT; // reserved (AN3156 §6)
    if (block !== 0) return undefined;
    const cmd = data[0];
    if (cmd === DfuseCommand.SET_ADDRESS_POINTER && data.length === 5) return undefined;
    if (cmd === DfuseCommand.ERASE && (data.length === 5 || data.length === 1)) return undefined;
    if (cmd === DfuseCommand.READ_UNPROTECT && data.length === 1) return undefined;
    return DfuStatus.errSTALLEDPKT; // unsupported command (AN2662 Figure 55)
  }

  protected override zeroLengthInIdleAllowed(): boolean {
    return true; // "leave DFU" is accepted in dfuIDLE and dfuDNLOAD-IDLE (AN3156 §6.5)
  }

  protected download(block: number, data: Uint8Array): DfuWork {
    if (block === 0) return this.command(data);
    if (this.readProtected) return { pollTimeoutMs: 0, status: DfuStatus.errVENDOR };
    const address =
      this.addressPointer + (block - DFUSE_FIRST_DATA_BLOCK) * this.functional.transferSize;
    const seg = this.segmentFor(address, data.length);
    if (!seg || !seg.writable) return { pollTimeoutMs: 0, status: DfuStatus.errTARGET };
    const mem = this.memory;
    if (mem.flash) {
      const r = mem.flash.program(address, data);
      return { pollTimeoutMs: r.ms, status: DfuStatus.OK };
    }
    const bytes = mem.bytes!;
    const off = address - mem.layout.segments[0]!.start;
    for (let i = 0; i < data.length; i++)
      bytes[off + i] = mem.otp ? bytes[off + i]! & data[i]! : data[i]!;
    return { pollTimeoutMs: 1, status: DfuStatus.OK };
  }

  private command(data: Uint8Array): DfuWork {
    const cmd = data[0]!;
    const address =
      data.length === 5
        ? (data[1]! | (data[2]! << 8) | (data[3]! << 16) | (data[4]! << 24)) >>> 0
        : undefined;
    if (cmd === DfuseCommand.READ_UNPROTECT) {
      this.unprotect();
      return { pollTimeoutMs: 0, status: DfuStatus.OK };
    }
    if (this.readProtected) return { pollTimeoutMs: 0, status: DfuStatus.errVENDOR };
    if (cmd === DfuseCommand.SET_ADDRESS_POINTER) {
      if (!this.segmentFor(address!, 1)) return { pollTimeoutMs: 0, status: DfuStatus.errTARGET };
      this.addressPointer = address!;
      return { pollTimeoutMs: 0, status: DfuStatus.OK };
    }
    // Erase (AN3156 §6.3)
    const mem = this.memory;
    if (!mem.flash) return { pollTimeoutMs: 0, status: DfuStatus.errTARGET };
    if (address === undefined) return { pollTimeoutMs: mem.flash.eraseAll(), status: DfuStatus.OK };
    const seg = this.segmentFor(address, 1);
    if (!seg || !seg.erasable) return { pollTimeoutMs: 0, status: DfuStatus.errTARGET };
    return {
      pollTimeoutMs: mem.flash.eraseSector(mem.flash.sectorAt(address).index),
      status: DfuStatus.OK,
    };
  }

  /** Read Unprotect (AN3156 §6.4): erase everything, clear RDP, reset and enumerate again. */
  private unprotect(): void {
    const ms = this.flash.eraseAll();
    this.memories[1]!.bytes![this.rdpOffset] = 0xaa;
    this.readProtected = false;
    this.clock.setTimer(DETACH_DELAY_MS, () => {
      this.bus.detach(this);
      this.resetToIdle();
      this.clock.setTimer(ms + this.reattachMs, () => this.bus.attach(this));
    });
  }

  protected manifest(): DfuWork {
    // DfuSe "leave DFU": after answering dfuMANIFEST the chip jumps to the address pointer and
    // leaves the bus (AN3156 §6.5).
    const address = this.addressPointer;
    this.clock.setTimer(DETACH_DELAY_MS, () => {
      this.jumpedTo = address;
      this.bus.detach(this);
      this.onLeaveCb?.(address);
    });
    return { pollTimeoutMs: 0, status: DfuStatus.OK };
  }

  protected upload(block: number, length: number): DfuUploadAnswer {
    if (block === 0) {
      const list = new Uint8Array([
        DfuseCommand.GET_COMMANDS,
        DfuseCommand.SET_ADDRESS_POINTER,
        DfuseCommand.ERASE,
        DfuseCommand.READ_UNPROTECT,
      ]);
      return { data: list.subarray(0, Math.min(length, list.length)) };
    }
    if (block === 1) return { error: DfuStatus.errSTALLEDPKT };
    if (this.readProtected) return { error: DfuStatus.errVENDOR };
    const address =
      this.addressPointer + (block - DFUSE_FIRST_DATA_BLOCK) * this.functional.transferSize;
    const seg = this.segmentFor(address, length);
    if (!seg || !seg.readable) return { error: DfuStatus.errTARGET };
    const mem = this.memory;
    if (mem.flash) return { data: mem.flash.read(address, length) };
    const off = address - mem.layout.segments[0]!.start;
    return { data: mem.bytes!.slice(off, off + length) };
  }

  /** Back to power-on state: dfuIDLE, pointer at flash start. */
  private resetToIdle(): void {
    this.state = DfuState.dfuIDLE;
    this.status = DfuStatus.OK;
    this.addressPointer = 0x08000000;
    this.busReset();
  }

  /** Powered on in the system bootloader (BOOT0 held) and on the bus again. */
  powerOnInBootloader(): void {
    this.resetToIdle();
    this.bus.attach(this);
  }
}
