/** The log console: levels, a text filter, copy to the clipboard, export as .txt or .json. */
import { useEffect, useId, useRef, useState } from 'react';
import type { LogLevel } from '../../core/log.ts';
import { formatLogJson, formatLogText, LOG_LEVELS, visibleLog } from '../state/index.ts';
import { useActions, useAppContext, useAppStore, useShallow } from './use-app-store.ts';

/** Lines rendered at most (the export has them all). */
const SHOWN = 1000;

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

export function LogConsole() {
  const { store } = useAppContext();
  const entries = useAppStore(useShallow((s) => visibleLog(s)));
  const filter = useAppStore((s) => s.log.filter);
  const total = useAppStore((s) => s.log.entries.length);
  const { setLogLevel, setLogText, clearLog } = useActions();
  const [copied, setCopied] = useState<string | undefined>();
  const textId = useId();
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [entries.length]);

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(formatLogText(entries));
      setCopied(`Copied ${entries.length} lines.`);
    } catch {
      setCopied('The browser did not allow copying; use Export instead.');
    }
  };
  const exportAs = (kind: 'txt' | 'json'): void => {
    const all = store.getState().log.entries;
    if (kind === 'txt') download(`webflash-log-${stamp()}.txt`, 'text/plain', formatLogText(all));
    else
      download(
        `webflash-log-${stamp()}.json`,
        'application/json',
        formatLogJson(all, { app: 'webflash', exportedAt: new Date().toISOString() }),
      );
  };

  return (
    <section className="panel log-panel" aria-labelledby="log-heading">
      <h2 id="log-heading">Log</h2>
      <div className="log-toolbar">
        <fieldset className="levels">
          <legend className="visually-hidden">Levels shown</legend>
          {LOG_LEVELS.map((level: LogLevel) => (
            <label key={level} className="check">
              <input
                type="checkbox"
                checked={filter.levels[level]}
                onChange={(e) => setLogLevel(level, e.target.checked)}
              />
              {level}
            </label>
          ))}
        </fieldset>
        <label htmlFor={textId} className="visually-hidden">
          Filter log
        </label>
        <input
          id={textId}
          type="search"
          placeholder="Filter…"
          value={filter.text}
          onChange={(e) => setLogText(e.target.value)}
        />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={() => exportAs('txt')}>
          Export .txt
        </button>
        <button type="button" onClick={() => exportAs('json')}>
          Export .json
        </button>
        <button type="button" onClick={clearLog}>
          Clear
        </button>
        <span className="hint" role="status">
          {copied ?? `${entries.length} of ${total} lines`}
        </span>
      </div>
      <ol className="log" ref={listRef} tabIndex={0} aria-label="Log lines" data-testid="log">
        {entries.slice(-SHOWN).map((e, i) => (
          <li key={`${e.time}-${i}`} className={`log-${e.level}`}>
            <span className="log-time">{(e.time / 1000).toFixed(3)}</span>
            <span className="log-level">{e.level}</span>
            <span className="log-source">{e.source}</span>
            <span className="log-message">{e.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
