/**
 * Demo mode's virtual USB devices: the simulated DfuSe STM32F405 system bootloader and a
 * generic DFU 1.1 gadget (src/sim/dfu) on a simulated bus, behind a fake `navigator.usb`
 * (src/sim/web/fake-webusb.ts) that behaves like Chromium's, in real time (full-speed USB frame
 * timing from the devices' link model, datasheet flash timing). One device is on the bench at
 * a time; the fake chooser picks it, or — when the page asks the technician to choose a device
 * again — the first device matching the filters, as a person would.
 */
import type { Clock } from '../core/clock.ts';
import { DfuseSimDevice } from '../sim/dfu/dfuse-sim.ts';
import { GenericDfuBoard, GenericDfuDevice } from '../sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus, type SimUsbDevice } from '../sim/usb/sim-usb-device.ts';
import { W25Q32_TIMING, type FlashCounters } from '../sim/flash-model.ts';
import { FakeUsb } from '../sim/web/fake-webusb.ts';

/** A virtual USB device type the demo offers. */
export interface VirtualUsbType {
  /** "stm32f405-dfu". */
  name: string;
  /** "STM32F405 in DFU mode (DfuSe)". */
  label: string;
  description: string;
}

/** The USB device types on offer. */
export const VIRTUAL_USB_TYPES: readonly VirtualUsbType[] = [
  {
    name: 'stm32f405-dfu',
    label: 'STM32F405 in DFU mode (DfuSe)',
    description:
      'STM32F405 system bootloader over USB: 0483:df11, DfuSe, 1 MiB flash in 4 × 16 KiB, 1 × 64 KiB and 7 × 128 KiB sectors',
  },
  {
    name: 'generic-dfu',
    label: 'generic DFU 1.1 device',
    description:
      'A gadget running its application (1209:0001) that switches to DFU mode (1209:0002) when asked',
  },
];

/** One built virtual USB device. */
interface BenchDevice {
  /** The face on the bus now (the gadget changes it when it re-enumerates). */
  current(): SimUsbDevice;
  counters(): FlashCounters;
  /** Back on the bus as after a power cycle in its DFU mode / application. */
  replug(): void;
  /** On the bus in its DFU mode, as an update that failed after DFU_DETACH leaves it. */
  strand(): void;
}

export interface UsbLabOptions {
  clock: Clock;
  /** Navigator to patch. */
  navigator: object;
}

/** The virtual USB bench: devices, the fake `navigator.usb`, and the cable. */
export class UsbLab {
  readonly bus = new SimUsbBus();
  readonly fake: FakeUsb;
  private readonly devices = new Map<string, BenchDevice>();
  private onBench: string | undefined;
  /** The device the next chooser call picks; unset: the first match. */
  private pinned: string | undefined;
  private readonly restore: () => void;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: UsbLabOptions) {
    this.fake = new FakeUsb({
      bus: this.bus,
      chooser: (candidates) => {
        const want = this.pinned === undefined ? undefined : this.devices.get(this.pinned);
        this.pinned = undefined;
        if (!want) return candidates[0];
        const face = want.current();
        return candidates.find((d) => (d as { sim?: SimUsbDevice }).sim === face);
      },
    });
    const nav = options.navigator;
    const own = Object.getOwnPropertyDescriptor(nav, 'usb');
    Object.defineProperty(nav, 'usb', {
      value: this.fake.usb,
      configurable: true,
      enumerable: true,
    });
    this.restore = () => {
      if (own) Object.defineProperty(nav, 'usb', own);
      else delete (nav as { usb?: unknown }).usb;
    };
    const changed = (): void => {
      for (const l of [...this.listeners]) l();
    };
    this.bus.onAttach(changed);
    this.bus.onDetach(changed);
  }

  /** The fake `navigator.usb`. */
  get usb(): USB {
    return this.fake.usb;
  }

  /** Calls `listener` whenever a device attaches or detaches. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Puts device type `name` on the bench (taking any other off) and makes the next chooser
   * call pick it. Returns its label.
   * @throws {RangeError} for an unknown type.
   */
  prepare(name: string): string {
    const type = VIRTUAL_USB_TYPES.find((t) => t.name === name);
    if (!type) throw new RangeError(`No virtual USB device "${name}"`);
    if (this.onBench !== undefined && this.onBench !== name) {
      const previous = this.devices.get(this.onBench);
      if (previous) this.bus.detach(previous.current());
    }
    let device = this.devices.get(name);
    if (!device) {
      device = this.build(name);
      this.devices.set(name, device);
    } else if (this.onBench !== name) {
      device.replug();
    }
    this.onBench = name;
    this.pinned = name;
    return `Virtual ${type.label}`;
  }

  /**
   * Puts device type `name` on the bench as an update that failed after the switch to DFU mode
   * (DFU 1.1 §5.1) leaves it: attached in its DFU-mode identity (the gadget as 1209:0002; the
   * STM32 system bootloader is always in DFU mode). The next chooser call picks it. Returns its
   * label.
   * @throws {RangeError} for an unknown type.
   */
  prepareInDfuMode(name: string): string {
    const label = this.prepare(name);
    this.devices.get(name)!.strand();
    return label;
  }

  /** Lets the next chooser call pick the first device matching its filters. */
  unpin(): void {
    this.pinned = undefined;
  }

  /** The device type on the bench. */
  get current(): string | undefined {
    return this.onBench;
  }

  /** Whether the device on the bench is attached. */
  get plugged(): boolean {
    const d = this.onBench === undefined ? undefined : this.devices.get(this.onBench);
    return d ? d.current().attached : false;
  }

  unplug(): void {
    const d = this.onBench === undefined ? undefined : this.devices.get(this.onBench);
    if (d) this.bus.detach(d.current());
  }

  /** Plugs the device back in (in DFU mode for the STM32, as with BOOT0 held). */
  plug(): void {
    const d = this.onBench === undefined ? undefined : this.devices.get(this.onBench);
    if (d && !d.current().attached) d.replug();
  }

  /** Flash operation counters of device `name`, if it was built. */
  counters(name: string): FlashCounters | undefined {
    return this.devices.get(name)?.counters();
  }

  dispose(): void {
    for (const d of this.devices.values()) this.bus.detach(d.current());
    this.listeners.clear();
    this.restore();
  }

  private build(name: string): BenchDevice {
    const { clock } = this.options;
    if (name === 'stm32f405-dfu') {
      const device = new DfuseSimDevice({ clock, bus: this.bus });
      this.bus.attach(device);
      return {
        current: () => device,
        counters: () => device.flash.counters,
        replug: () => device.powerOnInBootloader(),
        strand: () => {
          if (!device.attached) this.bus.attach(device);
        },
      };
    }
    const board = new GenericDfuBoard({ clock, bus: this.bus, timing: W25Q32_TIMING });
    return {
      current: () => board.current,
      counters: () => board.flash.counters,
      replug: () => this.bus.attach(board.current),
      strand: () => {
        // At once, as when plugged in already in DFU mode (no re-enumeration delay).
        if (board.current.runtime) {
          this.bus.detach(board.current);
          board.current = new GenericDfuDevice(board, false);
        }
        if (!board.current.attached) this.bus.attach(board.current);
      },
    };
  }
}
