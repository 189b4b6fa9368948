/**
 * The production bench view (docs/bench-guide.md), reached with `?mode=bench`: many boards at
 * once in one tab, each with its own flash job and tile; hands-off provisioning of every board
 * plugged into a granted port; a running tally; CSV/JSON reports and the tamper-evident flash
 * log. It has its own store (src/technician/state/bench), separate from the technician view's.
 */
import { useEffect, useState } from 'react';
import type { BenchLabView } from '../../demo/bench-lab.ts';
import type { BenchLabModule } from '../../demo/worker-bench-lab.ts';
import type { DemoLab } from '../../demo/lab.ts';
import type { AppConfig } from '../../technician/state/index.ts';
import {
  createBenchBrowserServices,
  createBenchStore,
  type BenchBrowserServices,
  type BenchStore,
} from '../state/index.ts';
import { BoardTile } from './BoardTile.tsx';
import { ControlsPanel, ExportPanel, LabPanel, ReleasePanel, TallyBar } from './Panels.tsx';
import { BenchContext, useBench } from './use-bench.ts';

export interface BenchAppProps {
  config: AppConfig;
  /**
   * Demo mode's virtual boards (their fake `navigator.serial` and `navigator.usb` carry the
   * bench's boards).
   */
  lab: DemoLab | undefined;
  /** The demo's bench boards, loaded with the demo (a production build has none). */
  benchLab?: BenchLabModule | undefined;
}

interface Bench {
  store: BenchStore;
  services: BenchBrowserServices;
  lab: BenchLabView | undefined;
}

function createBench(props: BenchAppProps): Bench {
  // The bench's virtual boards run in a worker of their own, behind the bench's own fake
  // `navigator.serial` and `navigator.usb`, so this page's thread runs only the bench itself.
  const lab = props.lab && props.benchLab ? props.benchLab.createWorkerBenchLab() : undefined;
  const services = createBenchBrowserServices({
    buildMode: props.config.buildMode,
    productionRoot: props.config.productionRoot,
    serial: lab ? lab.serial : props.lab?.serial,
    usb: lab ? lab.usb : props.lab?.usb,
    virtualBoards: lab !== undefined,
    ...(lab
      ? {
          labelFor: (p: SerialPort) => lab.labelFor(p),
          usbLabelFor: (d: USBDevice) => lab.usbLabelFor(d),
        }
      : {}),
    jobSettings: { baudRate: 'auto' },
  });
  window.addEventListener(
    'pagehide',
    () => {
      services.dispose();
      lab?.dispose();
    },
    { once: true },
  );
  return { store: createBenchStore(services), services, lab };
}

export function BenchApp(props: BenchAppProps) {
  const [bench] = useState(() => createBench(props));
  const installHook = props.benchLab?.installBenchHook;
  useEffect(() => {
    const { store, lab } = bench;
    void store.getState().attachPorts();
    const removeHook =
      lab && installHook ? installHook({ lab, state: () => store.getState() }) : () => undefined;
    // The page's lifetime is the bench's: workers end with the page, jobs are not cancelled
    // by a re-render (React StrictMode mounts effects twice in development).
    return () => {
      removeHook();
      store.getState().detachPorts();
    };
  }, [bench, installHook]);
  return (
    <BenchContext.Provider value={{ store: bench.store, config: props.config, lab: bench.lab }}>
      <header className="app-header">
        <h1>webflash bench</h1>
        <p className="tagline">Provision many boards at once.</p>
        <a href="?" className="mode-link">
          Technician view
        </a>
        {bench.lab && (
          <p className="demo-banner" role="note" data-testid="demo-banner">
            <strong>Demo mode</strong> — the boards here are virtual (simulated in a worker of this
            page); no hardware is touched.
          </p>
        )}
      </header>
      <main className="bench-layout">
        <div className="bench-controls">
          <ReleasePanel />
          <ControlsPanel />
          {bench.lab && <LabPanel lab={bench.lab} />}
          <ExportPanel />
        </div>
        <section className="bench-boards" aria-labelledby="bench-boards">
          <h2 id="bench-boards">Boards</h2>
          <TallyBar />
          <TileList />
        </section>
      </main>
    </BenchContext.Provider>
  );
}

function TileList() {
  const ids = useBench((s) => s.tiles.map((t) => t.id).join(' '));
  if (ids === '')
    return (
      <p className="hint">
        No boards yet. Plug a board into a granted port, or a granted USB DFU board; in hands-off
        mode it is flashed at once.
      </p>
    );
  return (
    <ul className="tiles" aria-label="Boards on the bench">
      {ids.split(' ').map((id) => (
        <BoardTile key={id} id={id} />
      ))}
    </ul>
  );
}
