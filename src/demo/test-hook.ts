/**
 * Demo mode's handle for people and end-to-end tests: `window.__webflashSim` pulls the virtual
 * cable, plugs it back, and reads the store — so tests wait on state, never on sleeps.
 */
import type { AppState, AppStore } from '../store/index.ts';
import type { DemoLab } from './lab.ts';

/** What `window.__webflashSim` offers. */
export interface SimHook {
  /** Board types on offer. */
  boards(): string[];
  /** The board type on the bench. */
  current(): string | undefined;
  unplug(): void;
  plug(): void;
  /** Pulls the cable after `bytes` more bytes have crossed the wire. */
  unplugAfter(bytes: number): void;
  /** The store's current state (read-only use). */
  state(): AppState;
}

declare global {
  interface Window {
    __webflashSim?: SimHook;
  }
}

/** Installs `window.__webflashSim` (demo mode only). */
export function installSimHook(options: { lab: DemoLab; store: AppStore }): SimHook {
  const { lab, store } = options;
  const hook: SimHook = {
    boards: () => lab.types.map((t) => t.name),
    current: () => lab.state.getState().current,
    unplug: () => lab.unplug(),
    plug: () => lab.plug(),
    unplugAfter: (bytes) => lab.unplugAfter(bytes),
    state: () => store.getState(),
  };
  window.__webflashSim = hook;
  return hook;
}
