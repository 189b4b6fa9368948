/**
 * Demo mode's bench of virtual boards: simulated boards from the board registry (src/sim/boards.ts)
 * behind a fake `navigator.serial` (src/sim/web/fake-web-serial.ts), and simulated USB DFU
 * devices behind a fake `navigator.usb` (usb-bench.ts), running in real time so a person sees a
 * realistic flash. The technician picks a board or device type; the fake chooser then "picks"
 * it. One board is on the bench at a time, so re-plugged ports are found again by their USB
 * identity as with real hardware.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { realClock, type Clock } from '../core/clock.ts';
import type {
  PortRequest,
  SerialProtocolId,
  UsbDeviceRequest,
  VirtualBoardHost,
} from '../technician/state/index.ts';
import { createBoard, getBoardPreset, listBoards, type SimBoard } from '../sim/boards.ts';
import type { FlashCounters } from '../sim/flash-model.ts';
import type { Stm32SimBoardHandle } from '../sim/stm32/boards.ts';
import { installFakeWebSerial, type FakeSerial } from '../sim/web/fake-web-serial.ts';
import type { FakeUsb } from '../sim/web/fake-webusb.ts';
import { UsbBench, VIRTUAL_USB_TYPES, type VirtualUsbType } from './usb-lab.ts';

export { VIRTUAL_USB_TYPES, type VirtualUsbType } from './usb-lab.ts';

/** A board type the demo offers. */
export interface VirtualBoardType {
  /** Name in the lab ("esp32s3", "stm32f4-rdp"). */
  name: string;
  /** "ESP32-S3-DevKitC-1 (USB port)", "STM32F407 (USART bootloader)". */
  label: string;
  description: string;
  chip: string;
  /** The protocol its bootloader speaks. */
  protocol: SerialProtocolId;
}

/** What the UI shows of the bench. */
export interface LabState {
  /** The board or device type on the bench, once one was chosen. */
  current: string | undefined;
  /** Whether its USB cable is in. */
  plugged: boolean;
  /** How the board on the bench is reached. */
  transport: 'serial' | 'usb';
}

export interface DemoLab extends VirtualBoardHost {
  readonly serial: FakeSerial;
  /** The fake `navigator.usb`. */
  readonly usb: USB;
  /** The same fake with its simulated bus and grants (the bench puts its own boards on it). */
  readonly fakeUsb: FakeUsb;
  readonly types: readonly VirtualBoardType[];
  /** The virtual USB devices on offer. */
  readonly usbTypes: readonly VirtualUsbType[];
  /** The board type offered first. */
  readonly defaultBoard: string;
  /** Observable bench state (for the UI's Unplug / Plug in control). */
  readonly state: StoreApi<LabState>;
  /** The built board `name`, if it was used. */
  board(name: string): SimBoard | undefined;
  /** Flash operation counters (erases, programs) of the board or device `name`, if built. */
  flashCounters(name: string): FlashCounters | undefined;
  /** Pulls the USB cable of the board on the bench. */
  unplug(): void;
  /** Plugs it back in (a new port appears, as with real hardware). */
  plug(): void;
  /** Pulls the cable after `bytes` more bytes have crossed the wire (serial boards). */
  unplugAfter(bytes: number): void;
  /**
   * Puts USB device type `device` on the bench in its DFU mode, as an update that failed after
   * the switch to DFU mode leaves it (the gadget as 1209:0002); the next Connect picks it.
   * @throws {RangeError} for an unknown type.
   */
  plugUsbInDfuMode(device: string): void;
  /** Restores the real `navigator.serial` and `navigator.usb`. */
  dispose(): void;
}

/** The board type demo mode picks when none is named: the native-USB ESP32-S3. */
export const DEFAULT_VIRTUAL_BOARD = 'esp32s3';

/** Board families the app flashes over a serial port. */
const FLASHABLE_PROTOCOLS: ReadonlySet<string> = new Set(['esp-serial', 'stm32-usart']);

/** The read-protected STM32F407: the stm32f4 preset with RDP level 1 set. */
const RDP_BOARD = 'stm32f4-rdp';

export interface DemoLabOptions {
  /** Default `realClock`. */
  clock?: Clock;
  /** Seed for MACs and link faults. Default 1. */
  seed?: number;
  /** Navigator to patch; default `globalThis.navigator`. */
  navigator?: object;
}

/** "STM32F407 board (CP2102, auto-boot)" → "STM32F407 (USART bootloader)". */
function stm32Label(presetLabel: string): string {
  return `${presetLabel.split(' ')[0] ?? presetLabel} (USART bootloader)`;
}

function boardTypes(): VirtualBoardType[] {
  const types: VirtualBoardType[] = listBoards()
    .filter((p) => FLASHABLE_PROTOCOLS.has(p.protocol))
    .map((p) => {
      const preset = p.description.split(':')[0] ?? p.name;
      const stm32 = p.protocol === 'stm32-usart';
      return {
        name: p.name,
        label: stm32 ? stm32Label(preset) : preset,
        description: p.description,
        chip: p.chip,
        protocol: p.protocol as SerialProtocolId,
      };
    });
  const f4 = types.find((t) => t.name === 'stm32f4');
  if (f4) {
    types.splice(types.indexOf(f4) + 1, 0, {
      ...f4,
      name: RDP_BOARD,
      label: f4.label.replace(' (', ', read-protected ('),
      description: `${f4.description}; read protection (RDP level 1) on`,
    });
  }
  return types;
}

/**
 * Installs the fake `navigator.serial` and `navigator.usb` with the virtual boards.
 * @example const lab = installDemoLab(); lab.prepare({ board: 'esp32s3' });
 */
export function installDemoLab(options: DemoLabOptions = {}): DemoLab {
  const clock = options.clock ?? realClock;
  const seed = options.seed ?? 1;
  const types = boardTypes();
  const nav = options.navigator ?? (globalThis as { navigator?: object }).navigator;
  if (!nav) throw new TypeError('installDemoLab: no navigator to patch');
  const { serial, uninstall } = installFakeWebSerial({ navigator: nav });
  const usbBench = new UsbBench({ clock, navigator: nav });
  const boards = new Map<string, SimBoard>();
  const state = createStore<LabState>()(() => ({
    current: undefined,
    plugged: false,
    transport: 'serial',
  }));
  const onBench = (): SimBoard | undefined => {
    const { current, transport } = state.getState();
    return current === undefined || transport !== 'serial' ? undefined : boards.get(current);
  };
  const unsubscribers: (() => void)[] = [
    usbBench.onChange(() => {
      if (state.getState().transport === 'usb') state.setState({ plugged: usbBench.plugged });
    }),
  ];

  const build = (name: string): SimBoard => {
    const preset = name === RDP_BOARD ? 'stm32f4' : name;
    if (!getBoardPreset(preset)) throw new RangeError(`No virtual board "${name}"`);
    const board = createBoard(preset, { clock, seed });
    if (name === RDP_BOARD) (board as Stm32SimBoardHandle).device.memory.readProtected = true;
    return board;
  };

  const takeOffUsb = (): void => {
    if (state.getState().transport === 'usb') usbBench.unplug();
  };

  const prepare = (request: PortRequest): string => {
    const last = state.getState();
    const name =
      request.board ??
      (last.transport === 'serial' ? last.current : undefined) ??
      DEFAULT_VIRTUAL_BOARD;
    const type = types.find((t) => t.name === name);
    if (!type) throw new RangeError(`No virtual board "${name}"`);
    const previous = onBench();
    let board = boards.get(name);
    if (!board) {
      board = build(name);
      boards.set(name, board);
      const wire = board.wire!;
      unsubscribers.push(
        wire.onPortChange((change) => {
          const now = state.getState();
          if (now.transport === 'serial' && now.current === name) {
            state.setState({ plugged: change.type === 'connect' });
          }
        }),
      );
    }
    if (previous && previous !== board) serial.removeWire(previous.wire!);
    takeOffUsb();
    const wire = board.wire!;
    serial.addWire(wire);
    serial.setChooser(() => serial.portFor(wire));
    state.setState({ current: name, plugged: wire.port !== undefined, transport: 'serial' });
    return `Virtual ${type.label}`;
  };

  const prepareUsb = (request: UsbDeviceRequest): string | undefined => {
    if (request.device === undefined) {
      usbBench.unpin();
      return undefined;
    }
    const previous = onBench();
    if (previous) serial.removeWire(previous.wire!);
    const label = usbBench.prepare(request.device);
    state.setState({ current: request.device, plugged: usbBench.plugged, transport: 'usb' });
    return label;
  };

  const usbOnBench = (): boolean => state.getState().transport === 'usb';

  return {
    serial,
    usb: usbBench.usb,
    fakeUsb: usbBench.fake,
    types,
    usbTypes: VIRTUAL_USB_TYPES,
    defaultBoard: DEFAULT_VIRTUAL_BOARD,
    state,
    prepare,
    prepareUsb,
    protocolHint: (request) => {
      const name = request.board ?? state.getState().current;
      return types.find((t) => t.name === name)?.protocol;
    },
    board: (name) => boards.get(name),
    flashCounters: (name) => boards.get(name)?.flash.counters ?? usbBench.counters(name),
    unplug: () => (usbOnBench() ? usbBench.unplug() : onBench()?.wire?.unplug()),
    plug: () => (usbOnBench() ? usbBench.plug() : onBench()?.wire?.plug()),
    unplugAfter: (bytes) => onBench()?.wire?.unplugAfter(bytes),
    plugUsbInDfuMode: (device) => {
      const previous = onBench();
      if (previous) serial.removeWire(previous.wire!);
      usbBench.prepareInDfuMode(device);
      state.setState({ current: device, plugged: usbBench.plugged, transport: 'usb' });
    },
    dispose: () => {
      for (const off of unsubscribers.splice(0)) off();
      usbBench.dispose();
      uninstall();
    },
  };
}
