/**
 * The bench's controls: the release, hands-off mode and the operator note, the running tally,
 * the exports, and (demo mode) the virtual boards.
 */
import { useId, useState, useSyncExternalStore } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { BenchLabView } from '../../demo/bench-lab.ts';
import { BundlePicker } from '../../views/BundlePicker.tsx';
import { tally } from '../state/index.ts';
import { download } from './format.ts';
import { useBench, useBenchActions, useBenchContext } from './use-bench.ts';

/** Step 1: the release every board gets. */
export function ReleasePanel() {
  const { config } = useBenchContext();
  const bundle = useBench((s) => s.bundle);
  const busy = useBench((s) => s.tiles.some((t) => t.state === 'running'));
  const { loadBundle } = useBenchActions();
  return (
    <section className="panel" aria-labelledby="bench-release">
      <h2 id="bench-release">Release</h2>
      <BundlePicker
        disabled={busy || bundle.status === 'loading'}
        demoBundleUrl={config.demoBundleUrl}
        demoLabel="demo.fwb"
        rowClassName="actions"
        onPick={(input) => void loadBundle(input)}
      />
      <p data-testid="bench-bundle" data-status={bundle.status} aria-live="polite">
        {bundle.status === 'empty' && 'No release loaded.'}
        {bundle.status === 'loading' && 'Checking the release…'}
        {bundle.status === 'rejected' && `Refused: ${bundle.error?.message ?? ''}`}
        {bundle.status === 'verified' && bundle.info && (
          <>
            <strong>
              {bundle.info.product} {bundle.info.version}
            </strong>{' '}
            for {bundle.info.chips.join(', ')} — signature verified. SHA-256{' '}
            <span className="mono">{bundle.info.sha256.slice(0, 16)}…</span>
          </>
        )}
      </p>
    </section>
  );
}

/** Step 2: ports, hands-off mode, operator note. */
export function ControlsPanel() {
  const { lab } = useBenchContext();
  const handsOff = useBench((s) => s.handsOff);
  const verified = useBench((s) => s.bundle.status === 'verified');
  const running = useBench((s) => s.tiles.some((t) => t.state === 'running'));
  const note = useBench((s) => s.note);
  const usbSupported = useBench((s) => s.usbSupported);
  const {
    startHandsOff,
    stopHandsOff,
    grantPort,
    grantUsbDevice,
    setNote,
    cancelAll,
    clearUnplugged,
  } = useBenchActions();
  const noteId = useId();
  const [grantFailed, setGrantFailed] = useState<'port' | 'usb' | undefined>();
  return (
    <section className="panel" aria-labelledby="bench-controls">
      <h2 id="bench-controls">Bench</h2>
      <div className="actions">
        {!lab && (
          <button
            type="button"
            onClick={() => void grantPort().then((ok) => setGrantFailed(ok ? undefined : 'port'))}
          >
            Add a port…
          </button>
        )}
        {!lab && usbSupported && (
          <button
            type="button"
            onClick={() =>
              void grantUsbDevice().then((ok) => setGrantFailed(ok ? undefined : 'usb'))
            }
          >
            Add a USB device…
          </button>
        )}
        <button
          type="button"
          aria-pressed={handsOff}
          disabled={!verified && !handsOff}
          onClick={() => (handsOff ? stopHandsOff() : startHandsOff())}
        >
          {handsOff ? 'Stop hands-off mode' : 'Start hands-off mode'}
        </button>
        <button type="button" onClick={cancelAll} disabled={!running}>
          Cancel all
        </button>
        <button type="button" onClick={clearUnplugged}>
          Clear unplugged boards
        </button>
      </div>
      <p className="hint" data-testid="hands-off" data-on={handsOff}>
        {handsOff
          ? 'Hands-off mode is on: every board plugged into a granted port is flashed at once.'
          : verified
            ? 'Hands-off mode is off: press Flash on a tile, or start hands-off mode.'
            : 'Load a release first.'}
      </p>
      {grantFailed && (
        <p className="warn">
          {grantFailed === 'usb' ? 'No USB device was added.' : 'No port was added.'}
        </p>
      )}
      <div className="field-row">
        <label htmlFor={noteId}>Operator note</label>
        <input
          id={noteId}
          type="text"
          value={note}
          maxLength={2000}
          placeholder="batch, line, ticket…"
          onChange={(e) => setNote(e.currentTarget.value)}
        />
      </div>
    </section>
  );
}

/** The running tally (announced politely as it changes). */
export function TallyBar() {
  const t = useBench(useShallow((s) => tally(s.tiles, s.records)));
  return (
    <p className="tally" role="status" data-testid="tally" data-ok={t.ok} data-failed={t.failed}>
      <span>
        <strong>{t.boards}</strong> boards
      </span>
      <span>
        <strong>{t.running}</strong> flashing
      </span>
      <span className="ok">
        <strong>{t.ok}</strong> done
      </span>
      <span className="danger">
        <strong>{t.failed}</strong> failed
      </span>
      <span>
        <strong>{t.skipped}</strong> already provisioned
      </span>
      <span>
        <strong>{t.flashes}</strong> flashes recorded
      </span>
    </p>
  );
}

/** Report and flash-log exports. */
export function ExportPanel() {
  const audit = useBench((s) => s.audit);
  const flashes = useBench((s) => s.records.length);
  const { exportReport, exportFlashLog } = useBenchActions();
  const [logError, setLogError] = useState<string | undefined>();
  return (
    <section className="panel" aria-labelledby="bench-exports">
      <h2 id="bench-exports">Report and flash log</h2>
      <div className="actions">
        <button
          type="button"
          disabled={flashes === 0}
          onClick={() => download(exportReport('csv'))}
        >
          Download report (CSV)
        </button>
        <button
          type="button"
          disabled={flashes === 0}
          onClick={() => download(exportReport('json'))}
        >
          Download report (JSON)
        </button>
        <button
          type="button"
          onClick={() =>
            void exportFlashLog().then(
              (file) => {
                setLogError(undefined);
                download(file);
              },
              (err: unknown) => setLogError(err instanceof Error ? err.message : String(err)),
            )
          }
        >
          Export flash log
        </button>
      </div>
      <p className="hint" data-testid="audit-status" data-written={audit.written}>
        {audit.written} flash{audit.written === 1 ? '' : 'es'} in the tamper-evident log
        {audit.pending > 0 && `, ${audit.pending} being written`}
        {audit.head && (
          <>
            ; last entry <span className="mono">{audit.head.slice(0, 16)}…</span>
          </>
        )}
        . Check an export with <code>webflash log verify FILE</code>.
      </p>
      {audit.error && (
        <p className="danger">The flash log refused an entry: {audit.error.message}</p>
      )}
      {logError && <p className="danger">{logError}</p>}
    </section>
  );
}

/** Demo mode: add virtual boards and pull their cables. */
export function LabPanel(props: { lab: BenchLabView }) {
  const { lab } = props;
  const boards = useSyncExternalStore(lab.state.subscribe, () => lab.state.getState().boards);
  const [type, setType] = useState(lab.boardTypes[0]?.type ?? '');
  const typeId = useId();
  return (
    <section className="panel" aria-labelledby="bench-lab">
      <h2 id="bench-lab">Virtual boards</h2>
      <div className="field-row">
        <label htmlFor={typeId}>Board type</label>
        <select id={typeId} value={type} onChange={(e) => setType(e.currentTarget.value)}>
          {lab.boardTypes.map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => lab.add({ type })}>
          Plug in a new board
        </button>
      </div>
      {boards.length > 0 && (
        <ul className="lab-boards">
          {boards.map((b) => (
            <li key={b.id}>
              {b.label}: {b.plugged ? 'plugged in' : 'unplugged'}{' '}
              <button
                type="button"
                onClick={() => (b.plugged ? lab.unplug(b.id) : lab.plug(b.id))}
                aria-label={`${b.plugged ? 'Unplug' : 'Plug in'} ${b.label}`}
              >
                {b.plugged ? 'Unplug' : 'Plug in'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
