/**
 * The technician's page: board, firmware, flash, device facts and the log. `?mode=bench` opens
 * the production bench view instead (src/bench, docs/bench-guide.md), loaded on demand.
 */
import { lazy, Suspense } from 'react';
import { BundlePanel } from './BundlePanel.tsx';
import { DevicePanel } from './DevicePanel.tsx';
import { FlashLogPanel } from './FlashLogPanel.tsx';
import { FlashPanel } from './FlashPanel.tsx';
import { LogConsole } from './LogConsole.tsx';
import { MonitorPanel } from './MonitorPanel.tsx';
import { PortPanel } from './PortPanel.tsx';
import { useAppContext } from './use-app-store.ts';
import './app.css';
// The bench view loads lazily; its styles come with the app's (lazy chunks carry no CSS).
import '../../bench/views/bench.css';

const BenchApp = lazy(() => import('../../bench/views/BenchApp.tsx').then((m) => ({ default: m.BenchApp })));
const benchMode = new URLSearchParams(globalThis.location?.search ?? '').get('mode') === 'bench';

export function App() {
  const { config, lab, benchLab } = useAppContext();
  if (benchMode) {
    return (
      <Suspense fallback={<p role="status">Loading the bench…</p>}>
        <BenchApp config={config} lab={lab} benchLab={benchLab} />
      </Suspense>
    );
  }
  return (
    <>
      <header className="app-header">
        <h1>webflash</h1>
        <p className="tagline">Update microcontroller firmware from this page.</p>
        {lab && (
          <p className="demo-banner" role="note" data-testid="demo-banner">
            <strong>Demo mode</strong> — the boards here are virtual (simulated in this page); no
            hardware is touched.
          </p>
        )}
        {config.unverifiedAllowed && <p className="dev-note">Development build</p>}
        <a href="?mode=bench" style={{ color: 'var(--accent)' }}>
          Bench mode
        </a>
      </header>
      <main className="layout">
        <div className="column">
          <PortPanel />
          <BundlePanel />
        </div>
        <div className="column">
          <FlashPanel />
          <DevicePanel />
          <FlashLogPanel />
        </div>
        <MonitorPanel />
        <LogConsole />
      </main>
    </>
  );
}
