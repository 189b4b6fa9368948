/**
 * Demo mode's handle for people and end-to-end tests: `window.__webflashSim` pulls the virtual
 * cable, plugs it back, reads what the virtual flash went through, and reads the store — so
 * tests wait on state, never on sleeps.
 */
import type { FlashCounters } from '../sim/flash-model.ts';
import type { AppState, AppStore } from '../technician/state/index.ts';
import type { DemoLab } from './lab.ts';

/** What `window.__webflashSim` offers. */
export interface SimHook {
  /** Serial board types on offer. */
  boards(): string[];
  /** Virtual USB device types on offer. */
  usbDevices(): string[];
  /** The board or device type on the bench. */
  current(): string | undefined;
  /** How the board on the bench is reached. */
  transport(): 'serial' | 'usb';
  unplug(): void;
  plug(): void;
  /** Pulls the cable after `bytes` more bytes have crossed the wire (serial boards). */
  unplugAfter(bytes: number): void;
  /**
   * Puts USB device type `device` on the bench in its DFU mode, as a failed update leaves it;
   * the next Connect picks it.
   */
  plugUsbInDfuMode(device: string): void;
  /**
   * Erase and program counts of the virtual flash of `name` (default: the one on the bench),
   * or undefined before it was built: tests check that a refused job wrote nothing.
   */
  flashCounters(name?: string): FlashCounters | undefined;
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
    usbDevices: () => lab.usbTypes.map((t) => t.name),
    current: () => lab.state.getState().current,
    transport: () => lab.state.getState().transport,
    unplug: () => lab.unplug(),
    plug: () => lab.plug(),
    unplugAfter: (bytes) => lab.unplugAfter(bytes),
    plugUsbInDfuMode: (device) => lab.plugUsbInDfuMode(device),
    flashCounters: (name) => {
      const which = name ?? lab.state.getState().current;
      if (which === undefined) return undefined;
      const c = lab.flashCounters(which);
      return c && structuredClone(c);
    },
    state: () => store.getState(),
  };
  window.__webflashSim = hook;
  return hook;
}
