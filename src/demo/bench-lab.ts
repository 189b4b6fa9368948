/**
 * Demo mode's production bench: many virtual boards at once behind the fake `navigator.serial`
 * (src/sim/web/fake-web-serial.ts) and the fake `navigator.usb` (src/sim/web/fake-webusb.ts).
 * Each board the operator (or a test) adds is already granted to the page, as after a real
 * `requestPort()` / `requestDevice()`, so plugging it in fires the `connect` event that
 * hands-off mode listens for. Every serial board gets its own seed, hence its own MAC; every
 * USB board its own serial number string.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { realClock, type Clock } from '../core/clock.ts';
import { createBoard, getBoardPreset, type SimBoard } from '../sim/boards.ts';
import { DfuseSimDevice } from '../sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
  GenericDfuBoard,
} from '../sim/dfu/generic-dfu-sim.ts';
import type { SimUsbBus, SimUsbDevice } from '../sim/usb/sim-usb-device.ts';
import { W25Q32_TIMING, type FlashCounters } from '../sim/flash-model.ts';
import type { FakeSerialPort } from '../sim/web/fake-web-serial.ts';
import type { HostWireView, UsbDeviceView } from '../sim/web/host-views.ts';
import type { SerialWire } from '../sim/serial-wire.ts';
import type { BenchState } from '../bench/state/slice.ts';

/** One virtual board on the bench, as the lab panel shows it. */
export interface LabBoard {
  /** "vb-1"… */
  id: string;
  /** Registry name ("esp32s3"). */
  type: string;
  /** "Virtual ESP32-S3-DevKitC-1 (USB port) #1". */
  label: string;
  /** Serial port or USB device. */
  transport: 'serial' | 'usb';
  plugged: boolean;
}

/**
 * Serial board types the bench offers: those the release in the demo bundle targets whose USB
 * ids tell their protocol among its several (the Arduino boards' own ids do; the old Nano's
 * FT232 does not).
 */
const SERIAL_TYPES: readonly string[] = [
  'esp32s3',
  'esp32s3-uart',
  'uno',
  'mega2560',
  'leonardo',
  'nrf52840-mcuboot',
];

/** Labels of serial board types whose preset description does not say it plainly. */
const SERIAL_LABELS: Readonly<Record<string, string>> = {
  'nrf52840-mcuboot': 'nRF52840 DK (MCUboot)',
};

/** USB board types the bench offers (src/demo/usb-lab.ts has the same devices). */
const USB_TYPES: Readonly<Record<string, string>> = {
  'stm32f405-dfu': 'STM32F405 in DFU mode (DfuSe)',
  'generic-dfu': 'generic DFU 1.1 device',
};

/** Board types the bench offers: those the release in the demo bundle targets. */
export const BENCH_BOARD_TYPES: readonly string[] = [...SERIAL_TYPES, ...Object.keys(USB_TYPES)];

/** What the lab panel calls a board type. */
export function benchBoardTypeLabel(type: string): string {
  const usb = USB_TYPES[type];
  if (usb) return `${usb}, USB`;
  const preset = getBoardPreset(type);
  return SERIAL_LABELS[type] ?? (preset ? (preset.description.split(':')[0] ?? type) : type);
}

/** One virtual USB board: whichever face it shows on the bus now, its flash, and its cable. */
interface UsbLabBoard {
  current(): SimUsbDevice;
  counters(): FlashCounters;
  /** Back on the bus, as after a power cycle (the STM32 with BOOT0 held: in DFU mode). */
  replug(): void;
}

export interface AddBoardOptions {
  /** Registry name; default "esp32s3". */
  type?: string;
  /** Plug it in now (default true). */
  plugged?: boolean;
  /** Fault injection (serial boards): pull the cable after this many more bytes have crossed the wire. */
  unplugAfterBytes?: number;
}

/** What the bench's view and hook use of the virtual bench, wherever its boards run. */
export interface BenchLabView {
  /** The board types the lab panel offers, with their labels. */
  readonly boardTypes: readonly { readonly type: string; readonly label: string }[];
  /** Observable list of boards (for the lab panel). */
  readonly state: StoreApi<{ boards: readonly LabBoard[] }>;
  /**
   * Adds a granted virtual board; returns its id.
   * @throws {RangeError} for a board type the bench does not offer.
   */
  add(options?: AddBoardOptions): string;
  plug(id: string): void;
  unplug(id: string): void;
  /** Pulls the cable of `id` after `bytes` more bytes have crossed its wire. */
  unplugAfter(id: string, bytes: number): void;
  /** Erase and program counts of the virtual flash of board `id` (serial or USB). */
  flashCounters(id: string): FlashCounters | undefined | Promise<FlashCounters | undefined>;
  /** The label of a virtual board's port, for the bench's tiles. */
  labelFor(port: SerialPort): string | undefined;
  /** The label of a virtual USB board, for the bench's tiles. */
  usbLabelFor(device: USBDevice): string | undefined;
  /** Removes every board. */
  dispose(): void;
}

/** The bench's boards in this thread. */
export interface BenchLab extends BenchLabView {
  /** The simulated serial board `id`. */
  board(id: string): SimBoard | undefined;
  flashCounters(id: string): FlashCounters | undefined;
  /** The label of the board whose wire this is. */
  wireLabel(wire: HostWireView): string | undefined;
  /** The label of the board whose USB face this is. */
  usbDeviceLabel(device: UsbDeviceView): string | undefined;
}

/** Where the bench puts its serial wires: the fake `navigator.serial`, or a worker's board host. */
interface WireRegistry {
  addWire(wire: SerialWire, options: { permitted?: boolean }): void;
  removeWire(wire: SerialWire): void;
}

/** Where the bench puts its USB boards: the fake `navigator.usb`'s bus, and its grants. */
interface UsbRegistry {
  readonly options: { readonly bus: SimUsbBus };
  allow(vendorId: number, productId: number, serialNumber?: string): void;
}

export interface BenchLabOptions {
  /** The fake `navigator.serial` (demo mode's `lab.serial`), or a worker's `BoardHost`. */
  serial: WireRegistry;
  /** The fake `navigator.usb` (demo mode's `lab.fakeUsb`); without it, serial boards only. */
  usb?: UsbRegistry | undefined;
  /** Default `realClock`. */
  clock?: Clock;
  /** First board's seed; the n-th board gets `seed + n − 1`. Default 101. */
  seed?: number;
}

/**
 * Creates the bench lab on a fake `navigator.serial` (demo mode's `lab.serial`).
 * @example const benchLab = createBenchLab({ serial: lab.serial }); benchLab.add({ type: 'esp32s3' });
 */
export function createBenchLab(options: BenchLabOptions): BenchLab {
  const clock = options.clock ?? realClock;
  const { serial } = options;
  const seed0 = options.seed ?? 101;
  const state = createStore<{ boards: readonly LabBoard[] }>()(() => ({ boards: [] }));
  const boards = new Map<string, SimBoard>();
  const usbBoards = new Map<string, UsbLabBoard>();
  const labels = new Map<HostWireView, string>();
  const usbLabels = new Map<UsbLabBoard, string>();
  const offs: (() => void)[] = [];
  let n = 0;

  const setPlugged = (id: string, plugged: boolean): void =>
    state.setState((s) => ({
      boards: s.boards.map((b) => (b.id === id && b.plugged !== plugged ? { ...b, plugged } : b)),
    }));

  const usb = options.usb;
  if (usb) {
    // A USB board is plugged in while any of its faces is on the bus.
    const changed = (): void => {
      for (const [id, b] of usbBoards) setPlugged(id, b.current().attached);
    };
    offs.push(usb.options.bus.onAttach(changed), usb.options.bus.onDetach(changed));
  }

  const addUsb = (type: string, o: AddBoardOptions): string => {
    if (!usb) throw new RangeError(`No virtual USB bench: cannot add "${type}"`);
    const bus = usb.options.bus;
    n++;
    const id = `vb-${n}`;
    let board: UsbLabBoard;
    if (type === 'stm32f405-dfu') {
      // STM32 bootloaders report a serial number string made from the chip's unique id.
      const serialNumber = `336F3867${(0x3230 + n).toString(16).toUpperCase().padStart(4, '0')}`;
      const device = new DfuseSimDevice({ clock, bus, serialNumber });
      usb.allow(device.identity.vendorId, device.identity.productId, serialNumber);
      board = {
        current: () => device,
        counters: () => device.flash.counters,
        replug: () => device.powerOnInBootloader(),
      };
    } else {
      const serialNumber = `GADGET${String(n).padStart(4, '0')}`;
      const gadget = new GenericDfuBoard({ clock, bus, timing: W25Q32_TIMING, serialNumber });
      bus.detach(gadget.current); // built on the bus; the cable goes in below
      // Both identities are granted, as the bench guide asks: run-time and DFU mode.
      usb.allow(GENERIC_DFU_VENDOR_ID, GENERIC_RUNTIME_PRODUCT_ID, serialNumber);
      usb.allow(GENERIC_DFU_VENDOR_ID, GENERIC_DFU_PRODUCT_ID, serialNumber);
      board = {
        current: () => gadget.current,
        counters: () => gadget.flash.counters,
        replug: () => bus.attach(gadget.current),
      };
    }
    const label = `Virtual ${USB_TYPES[type]!} #${n}`;
    usbBoards.set(id, board);
    usbLabels.set(board, label);
    state.setState((s) => ({
      boards: [...s.boards, { id, type, label, transport: 'usb', plugged: false }],
    }));
    if (o.plugged ?? true) board.replug();
    return id;
  };

  const usbDeviceLabel = (sim: UsbDeviceView): string | undefined => {
    for (const [b, label] of usbLabels) if (b.current() === sim) return label;
    return undefined;
  };

  const add = (o: AddBoardOptions = {}): string => {
    const type = o.type ?? 'esp32s3';
    if (type in USB_TYPES) return addUsb(type, o);
    const preset = getBoardPreset(type);
    if (!preset || !SERIAL_TYPES.includes(type)) {
      throw new RangeError(`No virtual bench board "${type}"`);
    }
    n++;
    const id = `vb-${n}`;
    const board = createBoard(type, { clock, seed: seed0 + n - 1, unplugged: true });
    const wire = board.wire!;
    const label = `Virtual ${benchBoardTypeLabel(type)} #${n}`;
    boards.set(id, board);
    labels.set(wire, label);
    offs.push(wire.onPortChange((c) => setPlugged(id, c.type === 'connect')));
    serial.addWire(wire, { permitted: true });
    state.setState((s) => ({
      boards: [...s.boards, { id, type, label, transport: 'serial', plugged: false }],
    }));
    if (o.unplugAfterBytes !== undefined) wire.unplugAfter(o.unplugAfterBytes);
    if (o.plugged ?? true) wire.plug();
    return id;
  };

  return {
    boardTypes: BENCH_BOARD_TYPES.map((type) => ({ type, label: benchBoardTypeLabel(type) })),
    state,
    add,
    plug: (id) => {
      const u = usbBoards.get(id);
      if (u) {
        if (!u.current().attached) u.replug();
        return;
      }
      boards.get(id)?.wire?.plug();
    },
    unplug: (id) => {
      const u = usbBoards.get(id);
      if (u) usb?.options.bus.detach(u.current());
      else boards.get(id)?.wire?.unplug();
    },
    unplugAfter: (id, bytes) => boards.get(id)?.wire?.unplugAfter(bytes),
    board: (id) => boards.get(id),
    flashCounters: (id) => boards.get(id)?.flash.counters ?? usbBoards.get(id)?.counters(),
    labelFor: (port) => {
      const wire = (port as Partial<FakeSerialPort>).sim?.owner;
      return wire ? labels.get(wire) : undefined;
    },
    usbLabelFor: (device) => {
      const sim = (device as { sim?: UsbDeviceView }).sim;
      return sim ? usbDeviceLabel(sim) : undefined;
    },
    wireLabel: (wire) => labels.get(wire),
    usbDeviceLabel,
    dispose: () => {
      for (const off of offs.splice(0)) off();
      for (const b of boards.values()) serial.removeWire(b.wire!);
      for (const b of usbBoards.values()) usb?.options.bus.detach(b.current());
      boards.clear();
      usbBoards.clear();
    },
  };
}

/** What `window.__webflashBench` offers people and end-to-end tests in demo mode. */
interface BenchHook {
  /** Adds a granted virtual board (plugged in unless `plugged: false`); returns its id. */
  add(options?: AddBoardOptions): string;
  plug(id: string): void;
  unplug(id: string): void;
  unplugAfter(id: string, bytes: number): void;
  /** Erase and program counts of board `id`'s virtual flash (read where the board runs). */
  flashCounters(id: string): Promise<FlashCounters | undefined>;
  /** The bench store's state (read-only use). */
  state(): BenchState;
}

declare global {
  interface Window {
    __webflashBench?: BenchHook;
  }
}

/** Installs `window.__webflashBench`; returns a function that removes it. */
export function installBenchHook(options: {
  lab: BenchLabView;
  state: () => BenchState;
}): () => void {
  const { lab } = options;
  window.__webflashBench = {
    add: (o) => lab.add(o),
    plug: (id) => lab.plug(id),
    unplug: (id) => lab.unplug(id),
    unplugAfter: (id, bytes) => lab.unplugAfter(id, bytes),
    flashCounters: async (id) => structuredClone(await lab.flashCounters(id)),
    state: options.state,
  };
  return () => {
    delete window.__webflashBench;
  };
}
