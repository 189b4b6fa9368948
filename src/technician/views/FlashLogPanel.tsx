/**
 * The flash log (docs/flash-log.md): how many entries, the head hash an auditor compares, and
 * "Export log" as a JSONL file that `webflash log verify FILE` checks.
 */
import { useEffect } from 'react';
import { ErrorBox } from './ErrorBox.tsx';
import { useActions, useAppStore } from './use-app-store.ts';

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function FlashLogPanel() {
  const flashLog = useAppStore((s) => s.flashLog);
  const { refreshFlashLog, exportFlashLog } = useActions();
  useEffect(() => {
    void refreshFlashLog();
  }, [refreshFlashLog]);
  if (!flashLog.available) return null;
  const onExport = async (): Promise<void> => {
    const text = await exportFlashLog();
    if (text === undefined) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    download(`flash-log-${stamp}.jsonl`, text);
  };
  const flashes = flashLog.count === undefined ? undefined : Math.max(0, flashLog.count - 1);
  return (
    <section className="panel" aria-labelledby="flash-log-heading">
      <h2 id="flash-log-heading">Flash log</h2>
      <dl className="facts" data-testid="flash-log">
        <dt>Flashes recorded</dt>
        <dd data-testid="flash-log-count">{flashes ?? '…'}</dd>
        <dt>Head hash</dt>
        <dd className="mono hash" data-testid="flash-log-head" title={flashLog.head}>
          {flashLog.head ?? 'no entries yet'}
        </dd>
      </dl>
      <div className="actions">
        <button type="button" onClick={() => void onExport()}>
          Export log
        </button>
      </div>
      <p className="hint">
        Every flash is appended to a hash chain on this computer. Check an export with{' '}
        <code>npx webflash log verify FILE</code>.
      </p>
      {flashLog.error && <ErrorBox error={flashLog.error} testId="flash-log-error" />}
    </section>
  );
}
