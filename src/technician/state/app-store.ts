/**
 * The app's one store: a vanilla zustand store (no React) built from typed slices — ports and
 * device, bundle, job, log, settings. Actions live in the store; the job slice subscribes to the
 * flash engine's events. React reads it through src/technician/views/use-app-store.ts.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBundleSlice } from './slices/bundle.ts';
import { createFlashLogSlice } from './slices/flash-log.ts';
import { createMonitorSlice } from './slices/monitor.ts';
import { createJobSlice } from './slices/job.ts';
import { createLogSlice } from './slices/log.ts';
import { createPortSlice } from './slices/ports.ts';
import { createSettingsSlice } from './slices/settings.ts';
import type { AppState } from './slices/slice.ts';
import type { AppServices } from '../../app/types.ts';

export type AppStore = StoreApi<AppState>;

/**
 * Creates the store around `services` (Web Serial, workers and realClock in the app; fakes and
 * a VirtualClock in tests).
 * @example
 * const store = createAppStore(services);
 * await store.getState().choosePort({ board: 'esp32s3' });
 * await store.getState().loadBundle({ kind: 'url', url: '/demo/demo.fwb' });
 * await store.getState().startFlash();
 */
export function createAppStore(services: AppServices): AppStore {
  const store = createStore<AppState>()((...a) => ({
    ...createPortSlice(services)(...a),
    ...createBundleSlice(services)(...a),
    ...createJobSlice(services)(...a),
    ...createLogSlice(...a),
    ...createSettingsSlice(services)(...a),
    ...createMonitorSlice(services)(...a),
    ...createFlashLogSlice(services)(...a),
  }));
  // What a newly identified board last received (flash log), for the product binding.
  store.subscribe((s, prev) => {
    if (s.device?.uniqueId !== prev.device?.uniqueId) void s.lookUpBoard(s.device?.uniqueId);
  });
  return store;
}

/**
 * Cancels what is running and puts the store back to its initial state (tests call this after
 * each test; the app when the page is torn down).
 */
export function resetAppStore(store: AppStore): void {
  const state = store.getState();
  state.cancelFlash();
  state.cancelBundleLoad();
  void state.stopMonitor();
  store.setState(store.getInitialState(), true);
}
