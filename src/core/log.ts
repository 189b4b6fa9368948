/** Structured log lines shared by the engine, the store and the CLI. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  /** Milliseconds on the engine's clock. */
  time: number;
  level: LogLevel;
  /** Which part spoke: "esp", "engine", "bundle", "serial"… */
  source: string;
  message: string;
}

export type LogSink = (entry: LogEntry) => void;

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(source: string): Logger;
}

/** A logger that stamps entries with `now()` and hands them to `sink`. */
export function createLogger(sink: LogSink, now: () => number, source = 'webflash'): Logger {
  const at =
    (level: LogLevel) =>
    (message: string): void =>
      sink({ time: now(), level, source, message });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (child) => createLogger(sink, now, child),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger(
  () => undefined,
  () => 0,
);
