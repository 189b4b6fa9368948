/**
 * The React binding of the bench store: a context carrying the store (and demo mode's bench
 * lab), and `useBench` with a selector (zustand's `useStore`, on `useSyncExternalStore`).
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { BenchLabView } from '../../demo/bench-lab.ts';
import type { AppConfig } from '../../technician/state/index.ts';
import type { BenchState, BenchStore } from '../state/index.ts';

export interface BenchContextValue {
  store: BenchStore;
  config: AppConfig;
  /** Demo mode's virtual bench. */
  lab: BenchLabView | undefined;
}

export const BenchContext = createContext<BenchContextValue | undefined>(undefined);

/** The bench context. @throws {Error} outside `<BenchContext.Provider>`. */
export function useBenchContext(): BenchContextValue {
  const value = useContext(BenchContext);
  if (!value) throw new Error('useBenchContext: no BenchContext.Provider above this component');
  return value;
}

/**
 * Reads the bench store through `selector`; re-renders only when the selected value changes.
 * @example const handsOff = useBench((s) => s.handsOff);
 */
export function useBench<T>(selector: (state: BenchState) => T): T {
  return useStore(useBenchContext().store, selector);
}

/** The store's actions (stable functions; never cause a re-render). */
export function useBenchActions(): BenchState {
  return useBenchContext().store.getState();
}
