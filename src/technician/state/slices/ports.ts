/**
 * Port and device slice: how the board is reached (a serial port or a USB device), the port or
 * device the technician picked, and what the board said about itself during the last job
 * (identity, installed firmware).
 */
import type { DeviceIdentity, InstalledFirmware } from '../../../protocols/driver.ts';
import { toErrorView } from '../../../app/error-view.ts';
import { usbFiltersFor } from '../../../protocols/dfu/usb-targets.ts';
import type {
  AppServices,
  DeviceTransport,
  ErrorView,
  PortRequest,
  SelectedPort,
  SelectedUsbDevice,
  UsbDeviceRequest,
} from '../../../app/types.ts';
import { TransportError } from '../../../core/errors.ts';
import type { AppSlice } from './slice.ts';
import { storeLogger } from './store-log.ts';

export interface PortSlice {
  /** Serial port or USB device: which of `port` and `usbDevice` a flash uses. */
  transport: DeviceTransport;
  /** The chosen serial port. */
  port: SelectedPort | undefined;
  /** The chosen USB device (DFU, DfuSe). */
  usbDevice: SelectedUsbDevice | undefined;
  /** True while the browser's port or device chooser is open. */
  choosingPort: boolean;
  /** Why the last attempt to choose a port or device failed (cancelled chooser, no Web Serial…). */
  portError: ErrorView | undefined;
  /** The board's identity, once a job has connected to it. */
  device: DeviceIdentity | undefined;
  /** What the board reports it runs now, when the protocol can tell. */
  installed: InstalledFirmware | undefined;
  /** Switches between serial port and USB device (not while a flash runs). */
  setTransport: (transport: DeviceTransport) => void;
  /**
   * Opens the browser's port chooser (demo mode: connects the virtual board `request.board`).
   * Resolves true when a port was chosen; failures land in `portError`, never reject.
   */
  choosePort: (request?: PortRequest) => Promise<boolean>;
  /**
   * Opens the browser's USB device chooser, filtered by the loaded bundle's USB targets (or the
   * standard DFU class when there are none); demo mode connects the virtual device
   * `request.device`. Resolves true when a device was chosen; failures land in `portError`.
   */
  chooseUsbDevice: (request?: Partial<UsbDeviceRequest>) => Promise<boolean>;
  /** Forgets the chosen port or device and what the board said. */
  releasePort: () => void;
}

export function createPortSlice(services: AppServices): AppSlice<PortSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'port');
    const forgetBoard = { device: undefined, installed: undefined };
    return {
      transport: 'serial',
      port: undefined,
      usbDevice: undefined,
      choosingPort: false,
      portError: undefined,
      device: undefined,
      installed: undefined,
      setTransport: (transport) => {
        if (get().job.running || get().transport === transport) return;
        set({ transport, portError: undefined, ...forgetBoard });
      },
      choosePort: async (request = {}) => {
        if (get().job.running || get().choosingPort) return false;
        set({ choosingPort: true, portError: undefined });
        try {
          const port = await services.requestPort(request);
          set({ port, transport: 'serial', choosingPort: false, ...forgetBoard });
          log.info(`Port chosen: ${port.label}${port.virtual ? ' (virtual board)' : ''}`);
          return true;
        } catch (err) {
          const error = toErrorView(err, 'transport.no-port-selected');
          set({ choosingPort: false, portError: error });
          log.warn(`No port chosen: ${error.message}`);
          return false;
        }
      },
      chooseUsbDevice: async (request = {}) => {
        if (get().job.running || get().choosingPort) return false;
        set({ choosingPort: true, portError: undefined });
        try {
          if (!services.requestUsbDevice) {
            throw new TransportError('transport.unavailable', 'This page cannot use USB devices.', {
              hints: ['Choose "Serial port" and pick the board’s port instead.'],
            });
          }
          const filters = request.filters ?? usbFiltersFor(get().bundle.verified?.manifest.targets);
          const usbDevice = await services.requestUsbDevice({
            filters,
            ...(request.device === undefined ? {} : { device: request.device }),
          });
          set({ usbDevice, transport: 'usb', choosingPort: false, ...forgetBoard });
          log.info(
            `USB device chosen: ${usbDevice.label}${usbDevice.virtual ? ' (virtual device)' : ''}`,
          );
          return true;
        } catch (err) {
          const error = toErrorView(err, 'transport.no-port-selected');
          set({ choosingPort: false, portError: error });
          log.warn(`No USB device chosen: ${error.message}`);
          return false;
        }
      },
      releasePort: () => {
        if (get().job.running) return;
        const usb = get().transport === 'usb';
        set({
          ...(usb ? { usbDevice: undefined } : { port: undefined }),
          portError: undefined,
          ...forgetBoard,
        });
      },
    };
  };
}
