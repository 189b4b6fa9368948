/**
 * The bench's virtual boards, run in a dedicated Web Worker (bench-worker.ts) and reached
 * through a fake `navigator.serial` and `navigator.usb` of the bench's own: the same
 * `FakeSerial` and `FakeUsb` as in-page boards use, over proxies of the worker's boards
 * (src/sim/web/remote-boards.ts). The board list, ids and labels are those of the in-page lab
 * (bench-lab.ts): the worker runs that lab. The worker starts with the first request.
 */
import { createStore } from 'zustand/vanilla';
import type { FlashCounters } from '../sim/flash-model.ts';
import type { Endpoint, FromBoards, ToBoards } from '../sim/web/board-messages.ts';
import { FakeSerial, type FakeSerialPort } from '../sim/web/fake-web-serial.ts';
import { FakeUsb } from '../sim/web/fake-webusb.ts';
import {
  RemoteBoards,
  RemoteUsbBus,
  RemoteUsbDevice,
  RemoteWire,
} from '../sim/web/remote-boards.ts';
import {
  BENCH_BOARD_TYPES,
  benchBoardTypeLabel,
  type AddBoardOptions,
  type BenchLabView,
  type LabBoard,
  installBenchHook,
} from './bench-lab.ts';
import type { LabEvent, LabRequest } from './worker-lab-messages.ts';

/** The bench lab with its boards in a worker. */
export interface WorkerBenchLab extends BenchLabView {
  /** The bench's fake `navigator.serial`. */
  readonly serial: Serial;
  /** The bench's fake `navigator.usb`. */
  readonly usb: USB;
  flashCounters(id: string): Promise<FlashCounters | undefined>;
}

/** The part of a DOM `Worker` the lab uses. */
type WorkerLike = Endpoint<FromBoards | LabEvent, ToBoards | LabRequest> & { terminate(): void };

function startWorker(): WorkerLike {
  return new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
}

/**
 * Creates the bench lab whose boards run in a worker.
 * @example const lab = createWorkerBenchLab(); lab.add({ type: 'esp32s3' });
 */
export function createWorkerBenchLab(
  options: { createWorker?: () => WorkerLike } = {},
): WorkerBenchLab {
  const serial = new FakeSerial();
  const bus = new RemoteUsbBus();
  const usb = new FakeUsb({ bus });
  const state = createStore<{ boards: readonly LabBoard[] }>()(() => ({ boards: [] }));
  const counters = new Map<number, (c: FlashCounters | undefined) => void>();
  let nextCall = 1;
  let n = 0;
  let worker: WorkerLike | undefined;
  let boards: RemoteBoards | undefined;

  const onLabEvent = (event: MessageEvent<FromBoards | LabEvent>): void => {
    const m = event.data;
    if (m.kind === 'lab-boards') state.setState({ boards: m.boards });
    else if (m.kind === 'lab-counters') {
      counters.get(m.call)?.(m.counters);
      counters.delete(m.call);
    } else if (m.kind === 'lab-error') console.error(`Virtual bench: ${m.message}`);
  };
  const ensure = (): WorkerLike => {
    if (worker) return worker;
    const w = (options.createWorker ?? startWorker)();
    worker = w;
    boards = new RemoteBoards(w as Endpoint<FromBoards, ToBoards>, {
      serial,
      bus,
      allow: (v, p, s) => usb.allow(v, p, s),
    });
    w.addEventListener('message', onLabEvent);
    return w;
  };
  const send = (m: LabRequest): void => ensure().postMessage(m, []);

  return {
    serial,
    usb: usb.usb,
    boardTypes: BENCH_BOARD_TYPES.map((type) => ({ type, label: benchBoardTypeLabel(type) })),
    state,
    add: (o: AddBoardOptions = {}) => {
      const type = o.type ?? 'esp32s3';
      if (!BENCH_BOARD_TYPES.includes(type)) {
        throw new RangeError(`No virtual bench board "${type}"`);
      }
      // The worker's lab numbers its boards in the order they are added, as this one does.
      n++;
      send({ kind: 'lab-add', options: { ...o, type } });
      return `vb-${n}`;
    },
    plug: (id) => send({ kind: 'lab-plug', id }),
    unplug: (id) => send({ kind: 'lab-unplug', id }),
    unplugAfter: (id, bytes) => send({ kind: 'lab-unplug-after', id, bytes }),
    // Also starts the worker, for a page that wants it ready before the first board.
    flashCounters: (id) => {
      const call = nextCall++;
      return new Promise((resolve) => {
        counters.set(call, resolve);
        send({ kind: 'lab-counters', call, id });
      });
    },
    labelFor: (port) => {
      const wire = (port as Partial<FakeSerialPort>).sim?.owner;
      return wire instanceof RemoteWire ? wire.label : undefined;
    },
    usbLabelFor: (device) => {
      const sim = (device as { sim?: unknown }).sim;
      return sim instanceof RemoteUsbDevice ? sim.label : undefined;
    },
    dispose: () => {
      boards?.dispose();
      worker?.removeEventListener('message', onLabEvent);
      worker?.terminate();
      worker = undefined;
      serial.dispose();
    },
  };
}

/** What the bench loads of the demo (by a dynamic import, so production has none). */
export interface BenchLabModule {
  createWorkerBenchLab: typeof createWorkerBenchLab;
  installBenchHook: typeof installBenchHook;
}

export { installBenchHook };
