/**
 * Step 3: options (speed, verification, the serial protocol, advanced options), Flash and
 * Cancel, the protocol the flash will speak, live progress (phase, rate, ETA), a prompt when a
 * DFU device must be chosen again, and the outcome with the recovery steps when something went
 * wrong.
 */
import { useId } from 'react';
import {
  BAUD_RATES,
  flashBlocker,
  MAX_OPERATOR_NOTE,
  phaseProgress,
  plannedProtocol,
  protocolEntry,
  protocolName,
  SERIAL_PROTOCOL_CHOICES,
  type BaudRate,
  type SerialProtocolChoice,
} from '../state/index.ts';
import { AdvancedOptions } from './AdvancedOptions.tsx';
import { ErrorBox } from './ErrorBox.tsx';
import { formatBytes, formatDuration, formatRate, hex32, PHASE_LABEL } from './format.ts';
import { useActions, useAppContext, useAppStore, useShallow } from './use-app-store.ts';

export function FlashPanel() {
  const { config } = useAppContext();
  const blocker = useAppStore((s) =>
    flashBlocker(s, { unverifiedAllowed: config.unverifiedAllowed }),
  );
  const { running, cancelling, verifiedSource } = useAppStore(
    useShallow((s) => ({
      running: s.job.running,
      cancelling: s.job.cancelling,
      verifiedSource: s.job.verifiedSource,
    })),
  );
  const { startFlash, cancelFlash } = useActions();
  const blockerId = useId();

  return (
    <section className="panel" aria-labelledby="flash-heading">
      <h2 id="flash-heading">
        <span className="step">3</span> Flash
      </h2>
      <Options disabled={running} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={() => void startFlash()}
          disabled={blocker !== undefined}
          aria-describedby={blocker ? blockerId : undefined}
        >
          Flash
        </button>
        <button type="button" onClick={cancelFlash} disabled={!running || cancelling}>
          {cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
        {blocker && !running && (
          <span id={blockerId} className="hint">
            {blocker}
          </span>
        )}
      </div>
      <PlannedProtocol />
      {running && !verifiedSource && (
        <p className="danger">Writing an UNVERIFIED image (development build).</p>
      )}
      <Reselect />
      <Progress />
      <Outcome />
    </section>
  );
}

/** Which protocol Flash will speak, and why (or why it cannot be told). */
function PlannedProtocol() {
  const planned = useAppStore(useShallow((s) => plannedProtocol(s)));
  if (!planned) return null;
  if ('problem' in planned) {
    return (
      <p className="warn" data-testid="planned-protocol">
        {planned.problem}
      </p>
    );
  }
  return (
    <p className="hint" data-testid="planned-protocol" data-protocol={planned.protocol}>
      Protocol: <strong>{protocolName(planned.protocol)}</strong>
      {planned.auto ? ' (chosen from the bundle)' : ' (chosen in the options)'}
    </p>
  );
}

/** A DFU device came back with a new USB identity: the technician must pick it again. */
function Reselect() {
  const prompt = useAppStore((s) => s.job.reselect);
  const { chooseDeviceAgain } = useActions();
  if (!prompt) return null;
  return (
    <div className="reselect" role="alert" data-testid="reselect-prompt">
      <p className="error-title">Choose the device again</p>
      <p>{prompt.reason}</p>
      <button
        type="button"
        className="primary"
        onClick={() => void chooseDeviceAgain()}
        disabled={prompt.choosing}
      >
        Choose the device again…
      </button>
      {prompt.error && <ErrorBox error={prompt.error} testId="reselect-error" />}
    </div>
  );
}

function Options(props: { disabled: boolean }) {
  const { config } = useAppContext();
  const settings = useAppStore((s) => s.settings);
  const serial = useAppStore((s) => s.transport === 'serial');
  const {
    setBaudRate,
    setVerifyAfterWrite,
    setDelta,
    setAllowUnverified,
    setSerialProtocol,
    setOperatorNote,
  } = useActions();
  const noteId = useId();
  const baudId = useId();
  const protocolId = useId();
  return (
    <fieldset className="options" disabled={props.disabled}>
      <legend>Options</legend>
      <div className="field-row">
        {serial && (
          <>
            <label htmlFor={protocolId}>Protocol</label>
            <select
              id={protocolId}
              value={settings.serialProtocol}
              onChange={(e) => setSerialProtocol(e.target.value as SerialProtocolChoice)}
            >
              {SERIAL_PROTOCOL_CHOICES.map((p) => (
                <option key={p} value={p}>
                  {p === 'auto' ? 'Auto (from the bundle)' : protocolEntry(p).shortName}
                </option>
              ))}
            </select>
            <label htmlFor={baudId}>Baud rate</label>
            <select
              id={baudId}
              value={settings.baudRate}
              onChange={(e) =>
                setBaudRate(
                  (e.target.value === 'auto' ? 'auto' : Number(e.target.value)) as BaudRate,
                )
              }
            >
              {BAUD_RATES.map((b) => (
                <option key={b} value={b}>
                  {b === 'auto' ? 'Auto (from the adapter)' : b.toLocaleString('en-US')}
                </option>
              ))}
            </select>
          </>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={settings.verifyAfterWrite}
            onChange={(e) => setVerifyAfterWrite(e.target.checked)}
          />
          Verify after writing
        </label>
        <label className="check">
          <input
            type="checkbox"
            data-testid="delta"
            checked={settings.delta}
            onChange={(e) => setDelta(e.target.checked)}
          />
          Skip blocks the board already holds (delta)
        </label>
        <label htmlFor={noteId}>Note for the flash log</label>
        <input
          id={noteId}
          value={settings.operatorNote}
          maxLength={MAX_OPERATOR_NOTE}
          placeholder="Ticket, serial number…"
          onChange={(e) => setOperatorNote(e.target.value)}
        />
        {config.unverifiedAllowed && (
          <label className="check danger">
            <input
              type="checkbox"
              checked={settings.allowUnverified}
              onChange={(e) => setAllowUnverified(e.target.checked)}
            />
            Allow unverified images (development)
          </label>
        )}
      </div>
      <AdvancedOptions />
    </fieldset>
  );
}

function Progress() {
  const phase = useAppStore((s) => s.job.phase);
  const progress = useAppStore((s) => phaseProgress(s.job));
  const retry = useAppStore((s) => s.job.retry);
  const running = useAppStore((s) => s.job.running);
  if (phase === 'idle') return null;
  const percent = progress ? Math.floor(progress.percent) : undefined;
  return (
    <div className="progress" data-testid="progress">
      <p className="phase" data-testid="phase" data-phase={phase}>
        {PHASE_LABEL[phase]}
        {running &&
          progress &&
          ` ${progress.region} (${progress.regionIndex + 1} of ${progress.regionCount})`}
      </p>
      {progress && (
        <>
          <progress
            max={100}
            value={percent}
            aria-label={`${PHASE_LABEL[progress.phase]} progress`}
            aria-valuetext={`${percent ?? 0} percent`}
          />
          <p className="stats">
            <span data-testid="percent">{percent}%</span>
            <span>
              {formatBytes(progress.bytesDone)} of {formatBytes(progress.bytesTotal)}
            </span>
            <span data-testid="rate">{formatRate(progress.bytesPerSecond)}</span>
            {running && <span data-testid="eta">{formatDuration(progress.etaMs)} left</span>}
          </p>
        </>
      )}
      {running && retry && (
        <p className="warn">
          Retrying {retry.region} (attempt {retry.attempt} of {retry.maxAttempts}) after:{' '}
          {retry.error.message}
        </p>
      )}
    </div>
  );
}

function Outcome() {
  const outcome = useAppStore((s) => s.job.outcome);
  const protocol = useAppStore((s) => s.device?.protocol);
  if (!outcome) return null;
  if (!outcome.ok) {
    if (outcome.cancelled) {
      return (
        <div className="outcome" data-testid="outcome" data-ok="false" role="status">
          <p className="warn">Cancelled.</p>
          <p>{outcome.recovery}</p>
        </div>
      );
    }
    return (
      <div className="outcome" data-testid="outcome" data-ok="false">
        <ErrorBox error={outcome.error} recovery={outcome.recovery} testId="flash-error" />
      </div>
    );
  }
  const check =
    protocol === 'esp-serial'
      ? 'MD5 verified'
      : protocol === 'dfu' || protocol === 'dfuse'
        ? 'verified by read-back'
        : protocol === 'mcuboot-smp'
          ? 'SHA-256 listed by MCUboot'
          : 'verified';
  return (
    <div className="outcome" data-testid="outcome" data-ok="true" role="status">
      <p className="ok">
        <span aria-hidden="true">✔ </span>Firmware written and verified in{' '}
        {formatDuration(outcome.durationMs)}.
      </p>
      <ul className="regions">
        {outcome.regions.map((r) => (
          <li key={r.name}>
            <span className="mono">{hex32(r.address)}</span> {r.name}, {formatBytes(r.bytes)}:{' '}
            <strong data-testid={`region-${r.name}`}>
              {r.verified ? check : 'written, not verified'}
            </strong>
            {r.attempts > 1 && ` (${r.attempts} attempts)`}
          </li>
        ))}
      </ul>
      {outcome.delta && (
        <p data-testid="delta-figure">
          {outcome.delta.unchanged} of {outcome.delta.total} blocks unchanged
          {outcome.delta.unchanged > 0 && ' (skipped)'}.
        </p>
      )}
      {outcome.notice && <p className="warn">{outcome.notice}</p>}
    </div>
  );
}
