/**
 * Port and device slice: the port the technician picked, and what the board said about itself
 * during the last job (identity, installed firmware).
 */
import type { DeviceIdentity, InstalledFirmware } from '../../protocols/driver.ts';
import { toErrorView } from '../error-view.ts';
import type { AppServices, ErrorView, PortRequest, SelectedPort } from '../types.ts';
import type { AppSlice } from './slice.ts';
import { storeLogger } from './store-log.ts';

export interface PortSlice {
  port: SelectedPort | undefined;
  /** True while the browser's port chooser is open. */
  choosingPort: boolean;
  /** Why the last attempt to choose a port failed (cancelled chooser, no Web Serial…). */
  portError: ErrorView | undefined;
  /** The board's identity, once a job has connected to it. */
  device: DeviceIdentity | undefined;
  /** What the board reports it runs now, when the protocol can tell. */
  installed: InstalledFirmware | undefined;
  /**
   * Opens the browser's port chooser (demo mode: connects the virtual board `request.board`).
   * Resolves true when a port was chosen; failures land in `portError`, never reject.
   */
  choosePort: (request?: PortRequest) => Promise<boolean>;
  /** Forgets the chosen port and what the board said. */
  releasePort: () => void;
}

export function createPortSlice(services: AppServices): AppSlice<PortSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'port');
    return {
      port: undefined,
      choosingPort: false,
      portError: undefined,
      device: undefined,
      installed: undefined,
      choosePort: async (request = {}) => {
        if (get().job.running || get().choosingPort) return false;
        set({ choosingPort: true, portError: undefined });
        try {
          const port = await services.requestPort(request);
          set({ port, choosingPort: false, device: undefined, installed: undefined });
          log.info(`Port chosen: ${port.label}${port.virtual ? ' (virtual board)' : ''}`);
          return true;
        } catch (err) {
          const error = toErrorView(err, 'transport.no-port-selected');
          set({ choosingPort: false, portError: error });
          log.warn(`No port chosen: ${error.message}`);
          return false;
        }
      },
      releasePort: () => {
        if (get().job.running) return;
        set({ port: undefined, portError: undefined, device: undefined, installed: undefined });
      },
    };
  };
}
