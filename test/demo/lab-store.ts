/**
 * The technician store over demo mode's virtual boards on a VirtualClock, as the demo lab tests
 * build it: the lab's fake Web Serial and WebUSB, the browser services, and bundle verification
 * against the test root (test/bundle/fixtures.ts) at a fixed time.
 */
import { afterEach, expect } from 'vitest';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import type { TrustRoot } from '../../src/bundle/trust-root.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { installDemoLab, type DemoLab } from '../../src/demo/lab.ts';
import {
  createAppStore,
  createBrowserServices,
  resetAppStore,
  type AppStore,
} from '../../src/technician/state/index.ts';
import { NOW, pinnedTestRoot } from '../bundle/fixtures.ts';

export interface LabStore {
  lab: DemoLab;
  store: AppStore;
  clock: VirtualClock;
}

/** A fresh lab and store; `trustRoot` and `now` default to the test root and NOW. */
function createLabStore(options: { trustRoot?: TrustRoot; now?: Date } = {}): LabStore {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const lab = installDemoLab({ clock, navigator: {} });
  const services = createBrowserServices({
    buildMode: 'demo',
    unverifiedAllowed: false,
    rollbackStore: new MemoryRollbackStore(),
    serial: lab.serial,
    usb: lab.usb,
    virtualBoards: lab,
    clock,
  });
  const trustRoot = options.trustRoot ?? pinnedTestRoot();
  const now = options.now ?? NOW;
  services.now = () => now;
  services.verifyBundle = ({ source, signal, onProgress }) =>
    verifyBundle(source as Uint8Array, { trustRoot, now, signal, onProgress, clock });
  return { lab, store: createAppStore(services), clock };
}

/** Ends a store's jobs and restores the navigator. */
function disposeLabStore(labStore: LabStore | undefined): void {
  if (!labStore) return;
  resetAppStore(labStore.store);
  labStore.lab.dispose();
}

/**
 * For a test file: `open(bytes)` builds a lab and store (options as `createLabStore`) and loads
 * the release `bytes`; the store is disposed after each test.
 */
export function labStoreOpener(): (
  bytes: Uint8Array,
  options?: { trustRoot?: TrustRoot; now?: Date },
) => Promise<LabStore> {
  let current: LabStore | undefined;
  afterEach(() => {
    disposeLabStore(current);
    current = undefined;
  });
  return async (bytes, options = {}) => {
    current = createLabStore(options);
    const loaded = await current.store
      .getState()
      .loadBundle({ kind: 'bytes', name: 'lab.fwb', bytes });
    expect(loaded).toBe(true);
    return current;
  };
}
