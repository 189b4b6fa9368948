/** Log slice: every line the engine, the bundle check and the port picker wrote, and the filter. */
import type { LogEntry, LogLevel } from '../../../core/log.ts';
import type { LogFilter } from '../../../app/log-export.ts';
import type { AppSlice } from './slice.ts';

/** Oldest lines are dropped beyond this many (a long session stays responsive). */
export const MAX_LOG_ENTRIES = 5000;

export interface LogSlice {
  log: {
    entries: readonly LogEntry[];
    filter: LogFilter;
  };
  appendLog: (entry: LogEntry) => void;
  clearLog: () => void;
  setLogLevel: (level: LogLevel, shown: boolean) => void;
  setLogText: (text: string) => void;
}

export const defaultLogFilter: LogFilter = {
  levels: { debug: false, info: true, warn: true, error: true },
  text: '',
};

export const createLogSlice: AppSlice<LogSlice> = (set) => ({
  log: { entries: [], filter: defaultLogFilter },
  appendLog: (entry) =>
    set((s) => {
      const entries = [...s.log.entries, entry];
      if (entries.length > MAX_LOG_ENTRIES) entries.splice(0, entries.length - MAX_LOG_ENTRIES);
      return { log: { ...s.log, entries } };
    }),
  clearLog: () => set((s) => ({ log: { ...s.log, entries: [] } })),
  setLogLevel: (level, shown) =>
    set((s) => ({
      log: {
        ...s.log,
        filter: { ...s.log.filter, levels: { ...s.log.filter.levels, [level]: shown } },
      },
    })),
  setLogText: (text) => set((s) => ({ log: { ...s.log, filter: { ...s.log.filter, text } } })),
});
