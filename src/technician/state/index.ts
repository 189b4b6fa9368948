/** The store layer's public surface. */
export { createAppStore, resetAppStore, type AppStore } from './app-store.ts';
export {
  summarizeBundle,
  type BundleSummary,
  type ImageSummary,
  type TargetSummary,
} from '../../app/bundle-summary.ts';
export { toErrorView } from '../../app/error-view.ts';
export {
  filterLog,
  formatLogJson,
  formatLogText,
  LOG_LEVELS,
  type LogFilter,
} from '../../app/log-export.ts';
export {
  flashBlocker,
  phasePercent,
  plannedProtocol,
  productChange,
  visibleLog,
} from './selectors.ts';
export type {
  BundleRollbackStatus,
  BundleSlice,
  BundleState,
  BundleStatus,
} from './slices/bundle.ts';
export {
  assertKeepRanges,
  bundleKeepSuggestions,
  ESP_ERASE_BLOCK,
  formatRange,
  keepConflicts,
  keepSuggestions,
  parseKeepRange,
  type KeepConflict,
  type KeepRange,
  type PlannedRegion,
} from '../../app/keep-ranges.ts';
export { cleanTerminalText, MAX_MONITOR_CHARS, MonitorText } from '../../app/monitor-text.ts';
export {
  closedMonitor,
  MONITOR_RETURN_TIMEOUT_MS,
  monitorActive,
  type MonitorSlice,
  type MonitorState,
  type MonitorStatus,
} from './slices/monitor.ts';
export type { FlashLogSlice, FlashLogState } from './slices/flash-log.ts';
export {
  candidateRegions,
  downgradeOverrideOf,
  READ_PROTECTED_RECOVERY,
  type JobOutcome,
  type JobSlice,
  type JobState,
  type ReselectPrompt,
} from './slices/job.ts';
export {
  chooseSerialProtocol,
  chooseUsbProtocol,
  hintForUsbIds,
  protocolEntry,
  protocolName,
} from '../../protocols/registry.ts';
export {
  dfuTargetFor,
  DFU_CLASS_FILTER,
  usbFiltersFor,
  type UsbIds,
} from '../../protocols/dfu/usb-targets.ts';
export { planConnection, type ConnectionInput, type ConnectionPlan } from './connection.ts';
export { deviceFacts, type DeviceFact } from '../../app/device-facts.ts';
export {
  PromptingUsbWatcher,
  RESELECT_TIMEOUT_MS,
  type PromptingWatcherOptions,
} from '../browser/prompting-usb-watcher.ts';
export { MAX_LOG_ENTRIES, type LogSlice } from './slices/log.ts';
export type { PortSlice } from './slices/ports.ts';
export {
  BAUD_RATES,
  MAX_OPERATOR_NOTE,
  MONITOR_BAUD_RATES,
  SERIAL_PROTOCOL_CHOICES,
  defaultSettings,
  type BaudRate,
  type MonitorBaudRate,
  type Settings,
  type SettingsSlice,
} from './slices/settings.ts';
export type { AppSlice, AppState } from './slices/slice.ts';
export type * from '../../app/types.ts';
export { resolveAppConfig, type AppConfig, type ConfigInputs } from './app-config.ts';
export {
  createBrowserServices,
  type BrowserServices,
  type BrowserServicesOptions,
  type VirtualBoardHost,
} from '../browser/browser-services.ts';
