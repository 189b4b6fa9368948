/** Log lines the store itself writes (port choice, bundle checks), on the services' clock. */
import { createLogger, type Logger } from '../../../core/log.ts';
import type { AppServices } from '../../../app/types.ts';
import type { AppState } from './slice.ts';

/** A logger that appends to the store's log slice. */
export function storeLogger(get: () => AppState, services: AppServices, source: string): Logger {
  return createLogger(
    (entry) => get().appendLog(entry),
    () => services.clock.now(),
    source,
  );
}
