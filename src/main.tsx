/**
 * Composition root: reads the build configuration, installs the virtual boards in demo mode,
 * builds the store around the browser services and renders the technician console, or, with
 * `?mode=bench`, the bench (src/bench, docs/bench-guide.md), loaded on demand.
 */
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { MemoryRollbackStore } from './bundle/rollback-store.ts';
import type { DemoLab } from './demo/lab.ts';
import {
  createAppStore,
  createBrowserServices,
  resolveAppConfig,
} from './technician/state/index.ts';
import { App } from './technician/views/App.tsx';
import { AppContext } from './technician/views/use-app-store.ts';
import { IdbRollbackStore } from './platform/browser/rollback-idb.ts';
// The bench loads lazily; its styles come with the page's (lazy chunks carry no CSS).
import './bench/views/bench.css';

const BenchApp = lazy(() =>
  import('./bench/views/BenchApp.tsx').then((m) => ({ default: m.BenchApp })),
);
const benchMode = new URLSearchParams(location.search).get('mode') === 'bench';

const config = resolveAppConfig({
  dev: import.meta.env.DEV,
  env: import.meta.env,
  search: location.search,
  baseUrl: import.meta.env.BASE_URL,
});
// Both flags are replaced by constants at build time, so a production build drops the demo
// imports below entirely and carries no simulator (scripts/size-report.mjs checks it).
const demoBuild: boolean = import.meta.env.DEV || import.meta.env.VITE_WEBFLASH_DEMO === '1';
const demo =
  demoBuild && config.virtualBoards
    ? await Promise.all([
        import('./demo/lab.ts'),
        import('./demo/test-hook.ts'),
        import('./demo/worker-bench-lab.ts'),
      ])
    : undefined;
const lab: DemoLab | undefined = demo?.[0].installDemoLab();
const services = createBrowserServices({
  buildMode: config.buildMode,
  productionRoot: config.productionRoot,
  unverifiedAllowed: config.unverifiedAllowed,
  // Virtual boards start blank each visit, so their history lives in memory only.
  rollbackStore: lab ? new MemoryRollbackStore() : new IdbRollbackStore(),
  serial: lab?.serial,
  virtualBoards: lab,
});
const store = createAppStore(services);
if (demo && lab) demo[1].installSimHook({ lab, store });

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <AppContext.Provider value={{ store, config, lab, benchLab: demo?.[2] }}>
      {benchMode ? (
        <Suspense fallback={<p role="status">Loading the bench…</p>}>
          <BenchApp config={config} lab={lab} benchLab={demo?.[2]} />
        </Suspense>
      ) : (
        <App />
      )}
    </AppContext.Provider>
  </StrictMode>,
);
