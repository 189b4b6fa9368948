/**
 * The bench's own store (docs/bench-guide.md): a vanilla zustand store, separate from the
 * technician's, built from typed slices — the release, the boards and their jobs, the records
 * with the flash log. React reads it through src/bench/views/use-bench-store.ts.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBoardsSlice } from './boards-slice.ts';
import { createBenchBundleSlice } from './bundle-slice.ts';
import { createRecordsSlice } from './records-slice.ts';
import type { BenchState } from './slice.ts';
import type { BenchServices } from './types.ts';

export type BenchStore = StoreApi<BenchState>;

/**
 * Creates the bench store around `services`.
 * @example
 * const bench = createBenchStore(services);
 * await bench.getState().attachPorts();
 * await bench.getState().loadBundle({ kind: 'url', url: '/demo/demo.fwb' });
 * bench.getState().startHandsOff();
 */
export function createBenchStore(services: BenchServices): BenchStore {
  return createStore<BenchState>()((...a) => ({
    ...createBenchBundleSlice(services)(...a),
    ...createBoardsSlice(services)(...a),
    ...createRecordsSlice(services)(...a),
  }));
}

/** Cancels every job, stops following ports and puts the store back to its initial state. */
export function resetBenchStore(store: BenchStore): void {
  const s = store.getState();
  s.cancelAll();
  s.detachPorts();
  store.setState(store.getInitialState(), true);
}
