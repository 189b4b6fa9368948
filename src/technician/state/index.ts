/** The store layer's public surface. */
export { createAppStore, resetAppStore, type AppStore } from './app-store.ts';
export { type BundleSummary } from '../../app/bundle-summary.ts';
export { formatLogJson, formatLogText, LOG_LEVELS } from '../../app/log-export.ts';
export {
  flashBlocker,
  phaseProgress,
  plannedProtocol,
  productChange,
  visibleLog,
} from './selectors.ts';
export { bundleKeepSuggestions, formatRange } from '../../app/keep-ranges.ts';
export { monitorActive } from './slices/monitor.ts';
export { READ_PROTECTED_RECOVERY } from './slices/job.ts';
export { protocolEntry, protocolName } from '../../protocols/registry.ts';
export { deviceFacts } from '../../app/device-facts.ts';
export {
  BAUD_RATES,
  MAX_OPERATOR_NOTE,
  MONITOR_BAUD_RATES,
  SERIAL_PROTOCOL_CHOICES,
  type BaudRate,
  type MonitorBaudRate,
} from './slices/settings.ts';
export type { AppState } from './slices/slice.ts';
export type * from '../../app/types.ts';
export { resolveAppConfig, type AppConfig } from './app-config.ts';
export { createBrowserServices, type VirtualBoardHost } from '../browser/browser-services.ts';
