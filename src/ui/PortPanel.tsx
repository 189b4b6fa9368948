/**
 * Step 1: the board. Real ports through the browser's chooser; in demo mode a list of virtual
 * board types, clearly marked as simulated, with a cable you can pull.
 */
import { useId, useState, useSyncExternalStore } from 'react';
import type { DemoLab } from '../demo/lab.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { useActions, useAppContext, useAppStore } from './use-app-store.ts';

export function PortPanel() {
  const { lab } = useAppContext();
  const port = useAppStore((s) => s.port);
  const portError = useAppStore((s) => s.portError);
  const busy = useAppStore((s) => s.job.running || s.choosingPort);
  const { choosePort, releasePort } = useActions();

  return (
    <section className="panel" aria-labelledby="port-heading">
      <h2 id="port-heading">
        <span className="step">1</span> Board
      </h2>
      {lab ? (
        <VirtualBoardPicker lab={lab} busy={busy} />
      ) : (
        <button type="button" onClick={() => void choosePort()} disabled={busy}>
          Choose serial port…
        </button>
      )}
      {port && (
        <p className="port-line" data-testid="port-label">
          Port: <strong>{port.label}</strong>
          {port.virtual && <span className="badge badge-virtual">virtual</span>}{' '}
          <button type="button" className="link" onClick={releasePort} disabled={busy}>
            Forget
          </button>
        </p>
      )}
      {lab && port?.virtual && <CableControl lab={lab} busy={false} />}
      {portError && <ErrorBox error={portError} testId="port-error" />}
    </section>
  );
}

function VirtualBoardPicker(props: { lab: DemoLab; busy: boolean }) {
  const { lab, busy } = props;
  const id = useId();
  const [board, setBoard] = useState(lab.defaultBoard);
  const { choosePort } = useActions();
  return (
    <div className="field-row">
      <label htmlFor={id}>Virtual board</label>
      <select id={id} value={board} onChange={(e) => setBoard(e.target.value)} disabled={busy}>
        {lab.types.map((t) => (
          <option key={t.name} value={t.name}>
            Virtual {t.label}
          </option>
        ))}
      </select>
      <button type="button" onClick={() => void choosePort({ board })} disabled={busy}>
        Connect
      </button>
    </div>
  );
}

/** Unplug / plug in the virtual board's USB cable. */
function CableControl(props: { lab: DemoLab; busy: boolean }) {
  const { lab } = props;
  const plugged = useSyncExternalStore(lab.state.subscribe, () => lab.state.getState().plugged);
  return (
    <p className="cable">
      Virtual USB cable:{' '}
      <strong data-testid="cable-state">{plugged ? 'plugged in' : 'unplugged'}</strong>{' '}
      {plugged ? (
        <button type="button" onClick={() => lab.unplug()}>
          Unplug
        </button>
      ) : (
        <button type="button" onClick={() => lab.plug()}>
          Plug in
        </button>
      )}
    </p>
  );
}
