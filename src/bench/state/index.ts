/** The bench store's public surface (docs/bench-guide.md). */
export { createBenchStore, resetBenchStore, type BenchStore } from './bench-store.ts';
export type { BoardsSlice } from './boards-slice.ts';
export {
  bundleInfo,
  bundleSha256,
  type BenchBundleSlice,
  type BenchBundleState,
} from './bundle-slice.ts';
export { FollowTracker, usbBoardBack, type FollowTrackerOptions, type UsbIds } from './follow.ts';
export {
  toFlashRecord,
  type AuditStatus,
  type ExportFile,
  type RecordsSlice,
} from './records-slice.ts';
export {
  csvField,
  exportFileName,
  REPORT_COLUMNS,
  reportCsv,
  reportJson,
  tally,
  type ReportDocument,
  type Tally,
} from './report.ts';
export { runBoardJob, type BoardJobEnd, type BoardJobOptions } from './run-job.ts';
export type { BenchSlice, BenchState } from './slice.ts';
export type * from './types.ts';
export {
  createBenchBrowserServices,
  type BenchBrowserOptions,
  type BenchBrowserServices,
} from '../browser/browser-bench-services.ts';
export { webSerialPorts, type WebSerialPortsOptions } from '../browser/web-serial-ports.ts';
export { grantFilters, planUsbBoard, type UsbBoardPlan } from './board-plan.ts';
export { benchUsbConnectors, webUsbPorts, type WebUsbPortsOptions } from '../browser/web-usb-ports.ts';
