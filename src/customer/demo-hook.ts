/**
 * Demo builds only (loaded with the virtual boards): `window.__webflashCustomerLab` lets people
 * and end-to-end tests see what reached the flash of the virtual board or USB device and pull
 * its cable, so tests wait on state, never on sleeps.
 */

/** The part of the demo lab (src/demo/lab.ts) the hook reads. */
export interface CustomerLabLike {
  state: { getState(): { current: string | undefined } };
  /** Flash counters of the serial board or USB device `name`, once it was built. */
  flashCounters(name: string): FlashCountersLike | undefined;
  unplugAfter(bytes: number): void;
  unplug(): void;
  plug(): void;
}

/** The flash operation counters the hook reports (src/sim/flash-model.ts `FlashCounters`). */
interface FlashCountersLike {
  sectorErases: readonly number[];
  chipErases: number;
  programOps: number;
  programmedBytes: number;
}

/** What `window.__webflashCustomerLab` offers. */
export interface CustomerLabHook {
  /** The virtual board type the chooser offered, once one was chosen. */
  current(): string | undefined;
  /** Bytes programmed into the current virtual board's flash so far (0 before any). */
  programmedBytes(): number;
  /** Sectors and chips erased on the current virtual board so far (0 before any). */
  erases(): number;
  /** Pulls the cable after `bytes` more bytes have crossed the wire. */
  unplugAfter(bytes: number): void;
  unplug(): void;
  plug(): void;
}

declare global {
  interface Window {
    __webflashCustomerLab?: CustomerLabHook;
  }
}

/** Installs `window.__webflashCustomerLab`. */
export function installCustomerDemoHook(lab: CustomerLabLike): CustomerLabHook {
  const current = (): string | undefined => lab.state.getState().current;
  const counters = (): FlashCountersLike | undefined => {
    const name = current();
    return name === undefined ? undefined : lab.flashCounters(name);
  };
  const hook: CustomerLabHook = {
    current,
    programmedBytes: () => counters()?.programmedBytes ?? 0,
    erases: () => {
      const c = counters();
      return c ? c.chipErases + c.sectorErases.reduce((a, b) => a + b, 0) : 0;
    },
    unplugAfter: (bytes) => lab.unplugAfter(bytes),
    unplug: () => lab.unplug(),
    plug: () => lab.plug(),
  };
  window.__webflashCustomerLab = hook;
  return hook;
}
