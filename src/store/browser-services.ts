/**
 * The store's services in a browser: Web Serial ports (src/transport/webserial.ts), the ESP
 * driver with the compression worker, bundle verification in the verify worker against the
 * root this build pins, and the rollback history.
 */
import { pinnedRoot, type BuildMode } from '../bundle/pinned-root.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { TrustRoot } from '../bundle/trust-root.ts';
import { realClock, type Clock } from '../core/clock.ts';
import type { Connector } from '../job/types.ts';
import { connectEsp } from '../protocols/esp/driver.ts';
import type { SerialPortHandle } from '../transport/link.ts';
import {
  requestSerialPort,
  WebSerialPortHandle,
  WebSerialPortWatcher,
} from '../transport/webserial.ts';
import { createCompressClient } from '../worker/compress-client.ts';
import { startVerifyWorker, verifyInWorker } from '../worker/verify-client.ts';
import type { AppServices, PortRequest, SelectedPort } from './types.ts';

/** Demo mode's virtual boards, as the port chooser sees them. */
export interface VirtualBoardHost {
  /**
   * Makes the board `request.board` (or a default) available and tells the fake chooser to
   * pick it; returns its label ("Virtual ESP32-S3-DevKitC-1").
   */
  prepare(request: PortRequest): string;
}

export interface BrowserServicesOptions {
  buildMode: BuildMode;
  /** root.json text for production builds. */
  productionRoot?: string | undefined;
  unverifiedAllowed: boolean;
  rollbackStore?: RollbackStore | undefined;
  /** Default `navigator.serial`. */
  serial?: Serial | undefined;
  /** Demo mode. */
  virtualBoards?: VirtualBoardHost | undefined;
  clock?: Clock;
}

/** The services plus a way to stop the workers. */
export interface BrowserServices extends AppServices {
  dispose(): void;
}

/**
 * Builds the browser services.
 * @example const store = createAppStore(createBrowserServices({ buildMode: 'demo', unverifiedAllowed: true }));
 */
export function createBrowserServices(options: BrowserServicesOptions): BrowserServices {
  const clock = options.clock ?? realClock;
  const serial = (): Serial | undefined =>
    options.serial ?? (globalThis.navigator as Navigator | undefined)?.serial;
  const compressor = createCompressClient();
  let worker: Worker | undefined;
  let root: TrustRoot | undefined;

  const watcher = (): WebSerialPortWatcher | undefined => {
    const s = serial();
    return s ? new WebSerialPortWatcher({ clock, serial: s }) : undefined;
  };

  const connector: Connector<SerialPortHandle> = {
    id: 'esp-serial',
    connect: (port, o) => {
      const portWatcher = watcher();
      return connectEsp(port, {
        ...o,
        compress: compressor.compress,
        ...(portWatcher ? { portWatcher } : {}),
      });
    },
  };

  return {
    clock,
    now: () => new Date(),
    unverifiedAllowed: options.unverifiedAllowed,
    rollbackStore: options.rollbackStore,
    connector,
    async requestPort(request) {
      const label = options.virtualBoards?.prepare(request);
      const handle = await requestSerialPort({ clock, serial: serial() });
      return {
        handle,
        label: label ?? handle.info.label,
        virtual: label !== undefined,
      };
    },
    async refreshPort(selected) {
      return findAgain(selected, serial(), clock);
    },
    verifyBundle({ source, signal, onProgress }) {
      root ??= pinnedRoot({ mode: options.buildMode, productionRoot: options.productionRoot });
      worker ??= startVerifyWorker();
      return verifyInWorker({
        worker,
        source,
        trustRoot: root,
        now: new Date(),
        signal,
        onProgress,
      });
    },
    dispose() {
      compressor.dispose();
      worker?.terminate();
      worker = undefined;
    },
  };
}

/**
 * The same board after it was unplugged and plugged back, or re-enumerated after a reset: the
 * browser gives it a new SerialPort object, which `getPorts()` lists (the permission is kept).
 * Matched on USB vendor and product id; the old port is kept when nothing better is found.
 */
async function findAgain(
  selected: SelectedPort,
  serial: Serial | undefined,
  clock: Clock,
): Promise<SelectedPort> {
  const handle = selected.handle;
  if (!(handle instanceof WebSerialPortHandle) || handle.port.connected !== false || !serial) {
    return selected;
  }
  const want = handle.info;
  const ports = await serial.getPorts();
  const found = ports.find((p) => {
    const info = p.getInfo();
    return (
      p !== handle.port &&
      p.connected !== false &&
      info.usbVendorId === want.usbVendorId &&
      info.usbProductId === want.usbProductId
    );
  });
  if (!found) return selected;
  return { ...selected, handle: new WebSerialPortHandle(found, { clock }) };
}
