/** The bench store's public surface (docs/bench-guide.md). */
export { createBenchStore, type BenchStore } from './bench-store.ts';
export { tally } from './report.ts';
export type { BenchState } from './slice.ts';
export type * from './types.ts';
export {
  createBenchBrowserServices,
  type BenchBrowserServices,
} from '../browser/browser-bench-services.ts';
