/**
 * Demo builds only (loaded with the virtual boards): `window.__webflashCustomerLab` lets people
 * and end-to-end tests see what reached the virtual board's flash and pull its cable, so tests
 * wait on state, never on sleeps.
 */

/** The part of the demo lab (src/demo/lab.ts) the hook reads. */
export interface CustomerLabLike {
  state: { getState(): { current: string | undefined } };
  board(name: string): { flash: { counters: { programmedBytes: number } } } | undefined;
  unplugAfter(bytes: number): void;
  unplug(): void;
  plug(): void;
}

/** What `window.__webflashCustomerLab` offers. */
export interface CustomerLabHook {
  /** The virtual board type the chooser offered, once one was chosen. */
  current(): string | undefined;
  /** Bytes programmed into the current virtual board's flash so far (0 before any). */
  programmedBytes(): number;
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
  const hook: CustomerLabHook = {
    current,
    programmedBytes: () => {
      const name = current();
      return name === undefined ? 0 : (lab.board(name)?.flash.counters.programmedBytes ?? 0);
    },
    unplugAfter: (bytes) => lab.unplugAfter(bytes),
    unplug: () => lab.unplug(),
    plug: () => lab.plug(),
  };
  window.__webflashCustomerLab = hook;
  return hook;
}
