/**
 * Demo mode's production bench: many virtual boards at once behind the fake `navigator.serial`
 * (src/sim/web/fake-web-serial.ts). Each board the operator (or a test) adds is already granted
 * to the page, as after a real `requestPort()`, so plugging it in fires the Web Serial `connect`
 * event that hands-off mode listens for. Every board gets its own seed, hence its own MAC.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { realClock, type Clock } from '../core/clock.ts';
import { createBoard, getBoardPreset, type SimBoard } from '../sim/boards.ts';
import type { FakeSerial, FakeSerialPort } from '../sim/web/fake-web-serial.ts';
import type { SerialWire } from '../sim/serial-wire.ts';
import type { BenchState } from '../store/bench/slice.ts';

/** One virtual board on the bench, as the lab panel shows it. */
export interface LabBoard {
  /** "vb-1"… */
  id: string;
  /** Registry name ("esp32s3"). */
  type: string;
  /** "Virtual ESP32-S3-DevKitC-1 (USB port) #1". */
  label: string;
  plugged: boolean;
}

/** Board types the bench offers: those the release in the demo bundle targets. */
export const BENCH_BOARD_TYPES: readonly string[] = ['esp32s3', 'esp32s3-uart'];

export interface AddBoardOptions {
  /** Registry name; default "esp32s3". */
  type?: string;
  /** Plug it in now (default true). */
  plugged?: boolean;
  /** Fault injection: pull the cable after this many more bytes have crossed the wire. */
  unplugAfterBytes?: number;
}

export interface BenchLab {
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
  /** The simulated board `id`. */
  board(id: string): SimBoard | undefined;
  /** The label of a virtual board's port, for the bench's tiles. */
  labelFor(port: SerialPort): string | undefined;
  /** Removes every board from the fake `navigator.serial`. */
  dispose(): void;
}

export interface BenchLabOptions {
  serial: FakeSerial;
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
  const labels = new Map<SerialWire, string>();
  const offs: (() => void)[] = [];
  let n = 0;

  const setPlugged = (id: string, plugged: boolean): void =>
    state.setState((s) => ({ boards: s.boards.map((b) => (b.id === id ? { ...b, plugged } : b)) }));

  const add = (o: AddBoardOptions = {}): string => {
    const type = o.type ?? 'esp32s3';
    const preset = getBoardPreset(type);
    if (!preset || !BENCH_BOARD_TYPES.includes(type)) {
      throw new RangeError(`No virtual bench board "${type}"`);
    }
    n++;
    const id = `vb-${n}`;
    const board = createBoard(type, { clock, seed: seed0 + n - 1, unplugged: true });
    const wire = board.wire!;
    const label = `Virtual ${preset.description.split(':')[0] ?? type} #${n}`;
    boards.set(id, board);
    labels.set(wire, label);
    offs.push(wire.onPortChange((c) => setPlugged(id, c.type === 'connect')));
    serial.addWire(wire, { permitted: true });
    state.setState((s) => ({ boards: [...s.boards, { id, type, label, plugged: false }] }));
    if (o.unplugAfterBytes !== undefined) wire.unplugAfter(o.unplugAfterBytes);
    if (o.plugged ?? true) wire.plug();
    return id;
  };

  return {
    state,
    add,
    plug: (id) => boards.get(id)?.wire?.plug(),
    unplug: (id) => boards.get(id)?.wire?.unplug(),
    unplugAfter: (id, bytes) => boards.get(id)?.wire?.unplugAfter(bytes),
    board: (id) => boards.get(id),
    labelFor: (port) => {
      const wire = (port as Partial<FakeSerialPort>).sim?.owner;
      return wire ? labels.get(wire) : undefined;
    },
    dispose: () => {
      for (const off of offs.splice(0)) off();
      for (const b of boards.values()) serial.removeWire(b.wire!);
      boards.clear();
    },
  };
}

/** What `window.__webflashBench` offers people and end-to-end tests in demo mode. */
export interface BenchHook {
  /** Adds a granted virtual board (plugged in unless `plugged: false`); returns its id. */
  add(options?: AddBoardOptions): string;
  plug(id: string): void;
  unplug(id: string): void;
  unplugAfter(id: string, bytes: number): void;
  /** The bench store's state (read-only use). */
  state(): BenchState;
}

declare global {
  interface Window {
    __webflashBench?: BenchHook;
  }
}

/** Installs `window.__webflashBench`; returns a function that removes it. */
export function installBenchHook(options: { lab: BenchLab; state: () => BenchState }): () => void {
  const { lab } = options;
  window.__webflashBench = {
    add: (o) => lab.add(o),
    plug: (id) => lab.plug(id),
    unplug: (id) => lab.unplug(id),
    unplugAfter: (id, bytes) => lab.unplugAfter(id, bytes),
    state: options.state,
  };
  return () => {
    delete window.__webflashBench;
  };
}
