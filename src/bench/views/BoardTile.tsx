/**
 * One board's tile: state and phase, progress, chip, unique id (MAC, or a USB board's serial
 * number), port or USB device, protocol, duration, result with the error code and what to do
 * next. An <article> labelled with the board and its state, so a screen reader lists "Board 3,
 * Done"; its buttons name the board they act on.
 */
import { phaseProgress } from '../../job/progress.ts';
import { protocolName } from '../../protocols/registry.ts';
import { statusText, formatDuration } from './format.ts';
import { useBench, useBenchActions } from './use-bench.ts';

export function BoardTile(props: { id: string }) {
  const tile = useBench((s) => s.tiles.find((t) => t.id === props.id));
  const canFlash = useBench((s) => s.bundle.status === 'verified');
  const { provision, cancel, dismiss } = useBenchActions();
  if (!tile) return null;
  const name = `Board ${tile.id.replace('board-', '')}`;
  const status = statusText(tile.state, tile.phase);
  const p = phaseProgress(tile);
  return (
    <li>
      <article
        className={`tile tile-${tile.state}`}
        aria-label={`${name}, ${status}`}
        data-testid="tile"
        data-tile={tile.id}
        data-state={tile.state}
        data-phase={tile.phase}
        data-unique-id={tile.uniqueId ?? ''}
        data-code={tile.error?.code ?? ''}
        data-transport={tile.transport}
        data-protocol={tile.protocol ?? ''}
      >
        <header className="tile-head">
          <h3>{name}</h3>
          <span className={`tile-status tile-status-${tile.state}`} aria-hidden="true">
            {status}
          </span>
        </header>
        {tile.state === 'running' && (
          <progress
            className="tile-progress"
            max={100}
            value={p?.percent ?? 0}
            aria-label={`${name}: ${status} ${Math.round(p?.percent ?? 0)} %`}
          />
        )}
        <dl className="tile-facts">
          <dt>Chip</dt>
          <dd>{tile.chipName ?? tile.chip ?? '—'}</dd>
          <dt>Unique id</dt>
          <dd className="mono">{tile.uniqueId ?? '—'}</dd>
          <dt>{tile.transport === 'usb' ? 'USB device' : 'Port'}</dt>
          <dd>
            {tile.portLabel}
            {!tile.connected && (
              <span className="tile-unplugged">
                {/* A board that restarts into its new firmware leaves the bus (DfuSe "leave DFU",
                    native USB): after a good update that is expected, not a fault. */}
                {tile.state === 'done'
                  ? ' (off the bus: restarted into its firmware or unplugged)'
                  : ' (unplugged)'}
              </span>
            )}
          </dd>
          {tile.protocol && (
            <>
              <dt>Protocol</dt>
              <dd>{protocolName(tile.protocol)}</dd>
            </>
          )}
          {tile.durationMs !== undefined && (
            <>
              <dt>Time</dt>
              <dd>{formatDuration(tile.durationMs)}</dd>
            </>
          )}
          {tile.attempts > 1 && (
            <>
              <dt>Attempts</dt>
              <dd>{tile.attempts}</dd>
            </>
          )}
        </dl>
        {tile.error && (
          <div className="tile-error" role="group" aria-label={`${name}: what went wrong`}>
            <p>
              {tile.error.message} <code className="error-code">{tile.error.code}</code>
            </p>
            {tile.recovery && <p className="tile-recovery">{tile.recovery}</p>}
          </div>
        )}
        {tile.notice && <p className="tile-notice">{tile.notice}</p>}
        <div className="tile-actions">
          {tile.state === 'running' ? (
            <button type="button" onClick={() => cancel(tile.id)} aria-label={`Cancel ${name}`}>
              Cancel
            </button>
          ) : (
            <>
              {tile.state !== 'done' && tile.state !== 'skipped' && (
                <button
                  type="button"
                  onClick={() => provision(tile.id)}
                  disabled={!canFlash || !tile.connected}
                  aria-label={`${tile.state === 'waiting' ? 'Flash' : 'Flash again'} ${name}`}
                >
                  {tile.state === 'waiting' ? 'Flash' : 'Flash again'}
                </button>
              )}
              <button type="button" onClick={() => dismiss(tile.id)} aria-label={`Remove ${name}`}>
                Remove
              </button>
            </>
          )}
        </div>
      </article>
    </li>
  );
}
