/**
 * Demo mode's bench of virtual boards: simulated boards from the board registry (src/sim/boards.ts)
 * behind a fake `navigator.serial` (src/sim/web/fake-web-serial.ts), running in real time so a
 * person sees a realistic flash. The technician picks a board type; the fake port chooser then
 * "picks" that board. One board is on the bench at a time, so re-plugged ports are found again
 * by their USB identity as with real hardware.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { realClock, type Clock } from '../core/clock.ts';
import type { PortRequest, VirtualBoardHost } from '../store/index.ts';
import { createBoard, listBoards, type SimBoard } from '../sim/boards.ts';
import { installFakeWebSerial, type FakeSerial } from '../sim/web/fake-web-serial.ts';

/** A board type the demo offers. */
export interface VirtualBoardType {
  /** Registry name ("esp32s3"). */
  name: string;
  /** "ESP32-S3-DevKitC-1 (USB port)". */
  label: string;
  description: string;
  chip: string;
}

/** What the UI shows of the bench. */
export interface LabState {
  /** The board type on the bench, once one was chosen. */
  current: string | undefined;
  /** Whether its USB cable is in. */
  plugged: boolean;
}

export interface DemoLab extends VirtualBoardHost {
  readonly serial: FakeSerial;
  readonly types: readonly VirtualBoardType[];
  /** The board type offered first. */
  readonly defaultBoard: string;
  /** Observable bench state (for the UI's Unplug / Plug in control). */
  readonly state: StoreApi<LabState>;
  /** The built board `name`, if it was used. */
  board(name: string): SimBoard | undefined;
  /** Pulls the USB cable of the board on the bench. */
  unplug(): void;
  /** Plugs it back in (a new port appears, as with real hardware). */
  plug(): void;
  /** Pulls the cable after `bytes` more bytes have crossed the wire. */
  unplugAfter(bytes: number): void;
  /** Restores the real `navigator.serial`. */
  dispose(): void;
}

/** The board type demo mode picks when none is named: the native-USB ESP32-S3. */
export const DEFAULT_VIRTUAL_BOARD = 'esp32s3';

/** Board families the app can flash today (the ESP serial driver). */
const FLASHABLE_PROTOCOLS: ReadonlySet<string> = new Set(['esp-serial']);

export interface DemoLabOptions {
  /** Default `realClock`. */
  clock?: Clock;
  /** Seed for MACs and link faults. Default 1. */
  seed?: number;
  /** Navigator to patch; default `globalThis.navigator`. */
  navigator?: object;
}

/**
 * Installs the fake `navigator.serial` with the virtual boards.
 * @example const lab = installDemoLab(); lab.prepare({ board: 'esp32s3' });
 */
export function installDemoLab(options: DemoLabOptions = {}): DemoLab {
  const clock = options.clock ?? realClock;
  const seed = options.seed ?? 1;
  const types: VirtualBoardType[] = listBoards()
    .filter((p) => FLASHABLE_PROTOCOLS.has(p.protocol))
    .map((p) => ({
      name: p.name,
      label: p.description.split(':')[0] ?? p.name,
      description: p.description,
      chip: p.chip,
    }));
  const { serial, uninstall } = installFakeWebSerial({
    ...(options.navigator ? { navigator: options.navigator } : {}),
  });
  const boards = new Map<string, SimBoard>();
  const state = createStore<LabState>()(() => ({ current: undefined, plugged: false }));
  const onBench = (): SimBoard | undefined => {
    const name = state.getState().current;
    return name === undefined ? undefined : boards.get(name);
  };
  const unsubscribers: (() => void)[] = [];

  const prepare = (request: PortRequest): string => {
    const name = request.board ?? state.getState().current ?? DEFAULT_VIRTUAL_BOARD;
    const type = types.find((t) => t.name === name);
    if (!type) throw new RangeError(`No virtual board "${name}"`);
    const previous = onBench();
    let board = boards.get(name);
    if (!board) {
      board = createBoard(name, { clock, seed });
      boards.set(name, board);
      const wire = board.wire!;
      unsubscribers.push(
        wire.onPortChange((change) => {
          if (state.getState().current === name) {
            state.setState({ plugged: change.type === 'connect' });
          }
        }),
      );
    }
    if (previous && previous !== board) serial.removeWire(previous.wire!);
    const wire = board.wire!;
    serial.addWire(wire);
    serial.setChooser(() => serial.portFor(wire));
    state.setState({ current: name, plugged: wire.port !== undefined });
    return `Virtual ${type.label}`;
  };

  return {
    serial,
    types,
    defaultBoard: DEFAULT_VIRTUAL_BOARD,
    state,
    prepare,
    board: (name) => boards.get(name),
    unplug: () => onBench()?.wire?.unplug(),
    plug: () => onBench()?.wire?.plug(),
    unplugAfter: (bytes) => onBench()?.wire?.unplugAfter(bytes),
    dispose: () => {
      for (const off of unsubscribers.splice(0)) off();
      uninstall();
    },
  };
}
