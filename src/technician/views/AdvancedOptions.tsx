/**
 * The technician's advanced options: readout unprotect (STM32), erase mode, flash ranges to
 * keep ("don't erase my settings", with the bundle's NVS partition offered), and a downgrade
 * override with its typed reason. None of these exist in the customer updater.
 */
import { useId, useMemo, useState, type FormEvent } from 'react';
import { DOWNGRADE_REASONS, type DowngradeReason } from '../../bundle/rollback.ts';
import { useShallow } from 'zustand/react/shallow';
import {
  bundleKeepSuggestions,
  formatRange,
  productChange,
  type ErrorView,
} from '../state/index.ts';
import { useActions, useAppStore } from './use-app-store.ts';

/** Plain words for each downgrade reason (src/bundle/rollback.ts DOWNGRADE_REASONS). */
export const DOWNGRADE_REASON_TEXT: Record<DowngradeReason, string> = {
  'known-bad-release': 'The newer release is known to be bad',
  'returned-unit-diagnostics': 'Diagnosing a returned unit',
  'factory-rework': 'Factory rework',
  'test-bench': 'Test bench',
};

export function AdvancedOptions() {
  const settings = useAppStore((s) => s.settings);
  const downgradeNeeded = useAppStore(
    (s) => s.bundle.rollback?.status === 'downgrade' || productChange(s) !== undefined,
  );
  const open =
    settings.allowReadoutUnprotect ||
    settings.eraseMode === 'all' ||
    settings.keepRanges.length > 0 ||
    settings.downgradeReason !== undefined ||
    downgradeNeeded;
  const { setAllowReadoutUnprotect, setEraseMode } = useActions();
  return (
    <details className="advanced" open={open || undefined}>
      <summary>Advanced options</summary>
      <fieldset className="sub-options">
        <legend>Erase</legend>
        <label className="check">
          <input
            type="radio"
            name="erase-mode"
            checked={settings.eraseMode === 'regions'}
            onChange={() => setEraseMode('regions')}
          />
          Erase only what is written
        </label>
        <label className="check danger">
          <input
            type="radio"
            name="erase-mode"
            checked={settings.eraseMode === 'all'}
            onChange={() => setEraseMode('all')}
          />
          Erase the whole chip first
        </label>
        <p className="hint">
          Whole-chip erase also removes settings and calibration data. Bootloaders that cannot erase
          everything at once refuse it, and nothing is written.
        </p>
      </fieldset>
      <KeepRanges />
      <Downgrade needed={downgradeNeeded} />
      <label className="check danger">
        <input
          type="checkbox"
          checked={settings.allowReadoutUnprotect}
          onChange={(e) => setAllowReadoutUnprotect(e.target.checked)}
        />
        Allow readout unprotect (erases the chip)
      </label>
      <p className="hint">
        A read-protected STM32 refuses to be written. Readout unprotect removes the protection by
        erasing all of its flash. This applies to the next flash only.
      </p>
    </details>
  );
}

function KeepRanges() {
  const keep = useAppStore((s) => s.settings.keepRanges);
  const verified = useAppStore((s) =>
    s.bundle.status === 'verified' ? s.bundle.verified : undefined,
  );
  const suggestions = useMemo(() => (verified ? bundleKeepSuggestions(verified) : []), [verified]);
  const { addKeepRange, removeKeepRange } = useActions();
  const [text, setText] = useState('');
  const [error, setError] = useState<ErrorView | undefined>(undefined);
  const inputId = useId();
  const errorId = useId();
  const onAdd = (e: FormEvent): void => {
    e.preventDefault();
    const problem = addKeepRange(text);
    setError(problem);
    if (!problem) setText('');
  };
  return (
    <fieldset className="sub-options" data-testid="keep-ranges">
      <legend>Keep data (don’t erase my settings)</legend>
      {keep.length > 0 ? (
        <ul className="keep-list">
          {keep.map((k, i) => (
            <li key={`${k.start}-${k.end}`} data-testid="keep-range">
              <span className="mono">{formatRange(k)}</span> {k.label}{' '}
              <button type="button" className="link" onClick={() => removeKeepRange(i)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="hint">No range is kept: every image region may be erased and written.</p>
      )}
      {suggestions
        .filter((r) => !keep.some((k) => k.start === r.start && k.end === r.end))
        .map((r) => (
          <button
            key={`${r.start}-${r.end}`}
            type="button"
            onClick={() => setError(addKeepRange(r))}
          >
            Keep {r.label.replace(' (partition table)', '')} {formatRange(r)}
          </button>
        ))}
      <div className="field-row" role="group" aria-label="Add a range to keep">
        <label htmlFor={inputId}>Range to keep</label>
        <input
          id={inputId}
          className="mono"
          placeholder="0x9000-0xF000"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onAdd(e);
          }}
          aria-describedby={error ? errorId : undefined}
        />
        <button type="button" onClick={onAdd} disabled={!text.trim()}>
          Keep range
        </button>
      </div>
      {error && (
        <p id={errorId} className="warn" role="alert">
          {error.message}
        </p>
      )}
      <p className="hint">
        Flash refuses, before writing anything, a bundle whose images would erase or write a kept
        range (ESP flash is erased in 4 KiB sectors).
      </p>
    </fieldset>
  );
}

function Downgrade(props: { needed: boolean }) {
  const reason = useAppStore((s) => s.settings.downgradeReason);
  const detail = useAppStore((s) => s.settings.downgradeDetail);
  const rollback = useAppStore((s) => s.bundle.rollback);
  const change = useAppStore(useShallow(productChange));
  const { setDowngrade } = useActions();
  const reasonId = useId();
  const detailId = useId();
  return (
    <fieldset className="sub-options" data-testid="downgrade">
      <legend>Downgrade override</legend>
      {change && (
        <p className="warn">
          This board last received {change.boardProduct}, not {change.bundleProduct}. Choose a
          reason to install another product on it.
        </p>
      )}
      {props.needed && rollback?.status === 'downgrade' && (
        <p className="warn">
          This release is older than the one recorded (security counter {rollback.recorded}
          {rollback.recordedVersion ? `, version ${rollback.recordedVersion}` : ''}). Choose a
          reason to install it anyway.
        </p>
      )}
      <div className="field-row">
        <label htmlFor={reasonId}>Reason</label>
        <select
          id={reasonId}
          value={reason ?? ''}
          onChange={(e) =>
            setDowngrade(
              e.target.value === '' ? undefined : (e.target.value as DowngradeReason),
              detail,
            )
          }
        >
          <option value="">No override (refuse older releases)</option>
          {DOWNGRADE_REASONS.map((r) => (
            <option key={r} value={r}>
              {DOWNGRADE_REASON_TEXT[r]}
            </option>
          ))}
        </select>
      </div>
      {reason !== undefined && (
        <div className="field-row">
          <label htmlFor={detailId}>Detail</label>
          <input
            id={detailId}
            value={detail}
            maxLength={500}
            placeholder="Ticket number, what was observed"
            onChange={(e) => setDowngrade(reason, e.target.value)}
          />
        </div>
      )}
      <p className="hint">
        The reason and detail are written to the log and the flash log. The override applies to the
        next flash only.
      </p>
    </fieldset>
  );
}
