/**
 * The serial monitor: what the board prints after a flash (the new firmware booting), at a
 * chosen speed, with pause, clear and autoscroll. Text only: escape sequences were removed in
 * the store and React renders it as text, so nothing the board sends can become markup.
 */
import { useEffect, useId, useRef } from 'react';
import { MONITOR_BAUD_RATES, monitorActive, type MonitorBaudRate } from '../state/index.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { useActions, useAppStore } from './use-app-store.ts';

const STATUS_TEXT = {
  closed: 'Closed',
  opening: 'Opening the port…',
  open: 'Open',
  waiting: 'Waiting for the board to come back…',
  error: 'Stopped',
} as const;

export function MonitorPanel() {
  const monitor = useAppStore((s) => s.monitor);
  const serial = useAppStore((s) => s.transport === 'serial' && s.port !== undefined);
  const running = useAppStore((s) => s.job.running);
  const baud = useAppStore((s) => s.settings.monitorBaudRate);
  const afterFlash = useAppStore((s) => s.settings.monitorAfterFlash);
  const active = useAppStore((s) => monitorActive(s));
  const { startMonitor, stopMonitor, clearMonitor, setMonitorPaused, setMonitorBaudRate } =
    useActions();
  const setAfterFlash = useActions().setMonitorAfterFlash;
  const baudId = useId();
  const outRef = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const el = outRef.current;
    if (el && !monitor.paused) el.scrollTop = el.scrollHeight;
  }, [monitor.text, monitor.paused]);

  return (
    <section className="panel monitor" aria-labelledby="monitor-heading">
      <h2 id="monitor-heading">Serial monitor</h2>
      <div className="field-row">
        <label htmlFor={baudId}>Monitor speed</label>
        <select
          id={baudId}
          value={baud}
          disabled={active}
          onChange={(e) => setMonitorBaudRate(Number(e.target.value) as MonitorBaudRate)}
        >
          {MONITOR_BAUD_RATES.map((b) => (
            <option key={b} value={b}>
              {b.toLocaleString('en-US')}
            </option>
          ))}
        </select>
        {active ? (
          <button type="button" onClick={() => void stopMonitor()}>
            Stop monitor
          </button>
        ) : (
          <button type="button" onClick={() => void startMonitor()} disabled={!serial || running}>
            Start monitor
          </button>
        )}
        <button
          type="button"
          aria-pressed={monitor.paused}
          onClick={() => setMonitorPaused(!monitor.paused)}
        >
          {monitor.paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={clearMonitor}>
          Clear
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={afterFlash}
            onChange={(e) => setAfterFlash(e.target.checked)}
          />
          Open after flashing
        </label>
      </div>
      <p className="hint" data-testid="monitor-status" data-status={monitor.status}>
        {STATUS_TEXT[monitor.status]}
        {monitor.status === 'open' && monitor.baudRate ? ` at ${monitor.baudRate} baud` : ''}
        {monitor.paused ? ' (paused)' : ''}
      </p>
      {monitor.error && <ErrorBox error={monitor.error} testId="monitor-error" />}
      <pre
        ref={outRef}
        className="monitor-output"
        data-testid="monitor-output"
        tabIndex={0}
        role="log"
        aria-label="Serial monitor output"
        aria-live="off"
      >
        {monitor.text}
      </pre>
    </section>
  );
}
