/**
 * The thin React binding of the vanilla store: a context carrying the store, and `useAppStore`
 * with a selector (zustand's `useStore`, on `useSyncExternalStore`). Select narrowly; wrap a
 * selector that builds an object or array in `useShallow`.
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppConfig, AppState, AppStore } from '../state/index.ts';
import type { BenchLabModule } from '../../demo/worker-bench-lab.ts';
import type { DemoLab } from '../../demo/lab.ts';

export { useShallow } from 'zustand/react/shallow';

/** What the views need besides the store. */
export interface AppContextValue {
  store: AppStore;
  config: AppConfig;
  /** Demo mode's virtual boards. */
  lab: DemoLab | undefined;
  /** Demo mode's virtual bench boards (loaded with the demo, never in a production build). */
  benchLab?: BenchLabModule | undefined;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

/** The app context. @throws {Error} outside `<AppContext.Provider>`. */
export function useAppContext(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useAppContext: no AppContext.Provider above this component');
  return value;
}

/**
 * Reads the store through `selector`; re-renders only when the selected value changes.
 * @example const phase = useAppStore((s) => s.job.phase);
 */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useAppContext().store, selector);
}

/** The store's actions (stable functions; never cause a re-render). */
export function useActions(): AppState {
  return useAppContext().store.getState();
}
