/**
 * The bench's virtual boards in a dedicated Web Worker: the same lab as in the page
 * (bench-lab.ts), on the worker's clock, its wires and USB bus served to the page's fake Web
 * Serial and WebUSB by a `BoardHost`. The page's main thread then runs only what a real bench
 * runs there — the engine, the drivers and the view — so a benchmark of many boards at once
 * measures the host, not the simulated boards. Started by worker-bench-lab.ts.
 */
import type { Endpoint, FromBoards, ToBoards } from '../sim/web/board-messages.ts';
import { BoardHost } from '../sim/web/board-host.ts';
import { SimUsbBus } from '../sim/usb/sim-usb-device.ts';
import { createBenchLab, type BenchLab } from './bench-lab.ts';
import type { LabEvent, LabRequest } from './worker-lab-messages.ts';

const boards = self as unknown as Endpoint<ToBoards, FromBoards>;
const labPort = self as unknown as Endpoint<LabRequest, LabEvent>;

const bus = new SimUsbBus();
const labels: { lab?: BenchLab } = {};
const host = new BoardHost(boards, {
  wireLabel: (wire) => labels.lab?.wireLabel(wire),
  usbLabel: (device) => labels.lab?.usbDeviceLabel(device),
});
host.serveBus(bus);
const benchLab = createBenchLab({
  serial: host,
  usb: { options: { bus }, allow: (v, p, s) => host.allow(v, p, s) },
});
labels.lab = benchLab;
benchLab.state.subscribe((s) => labPort.postMessage({ kind: 'lab-boards', boards: s.boards }, []));

labPort.addEventListener('message', (event) => {
  const m = event.data;
  try {
    switch (m.kind) {
      case 'lab-add':
        benchLab.add(m.options);
        return;
      case 'lab-plug':
        benchLab.plug(m.id);
        return;
      case 'lab-unplug':
        benchLab.unplug(m.id);
        return;
      case 'lab-unplug-after':
        benchLab.unplugAfter(m.id, m.bytes);
        return;
      case 'lab-counters':
        labPort.postMessage(
          { kind: 'lab-counters', call: m.call, counters: benchLab.flashCounters(m.id) },
          [],
        );
        return;
      default:
        return;
    }
  } catch (err) {
    labPort.postMessage({ kind: 'lab-error', message: (err as Error).message }, []);
  }
});
