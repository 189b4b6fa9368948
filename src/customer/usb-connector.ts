/**
 * Updates over WebUSB, loaded as one lazy chunk when a USB update starts: the browser's device
 * chooser (src/transport/webusb.ts) with filters from the bundle's targets, then the USB DFU 1.1
 * or ST DfuSe driver (src/protocols/dfu) for the device chosen, and the "choose it again" step
 * for a DFU 1.1 device that restarts in its update mode under a new USB identity
 * (choose-again.ts). The filters and the protocol follow the rules every face shares
 * (src/protocols/dfu/usb-targets.ts). Nothing here is in the element's own script, so the ESP path does not
 * carry it (docs/embedding.md, "Size").
 */
import type { Clock } from '../core/clock.ts';
import { TransportError } from '../core/errors.ts';
import type { Connector } from '../job/types.ts';
import {
  dfuTargetFor,
  usbFiltersFor,
  type UsbIds,
  type UsbTargetShape,
} from '../protocols/dfu/usb-targets.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import { driverFor } from '../protocols/registry.ts';
import { chooseUsbProtocol } from '../protocols/dfu/usb-targets.ts';
import type { UsbDeviceHandle } from '../transport/usb.ts';
import { requestUsbDevice, type WebUsbOptions } from '../transport/webusb.ts';
import type { ChooseAgainStep, PortChoice } from './flow.ts';
import { CHOOSE_AGAIN_TIMEOUT_MS, chooseAgainWatcher, dfuModeFilters } from './choose-again.ts';

/** The driver for `protocol` on a chosen device. */
function usbConnector(
  protocol: ProtocolId,
  options: {
    targets: readonly UsbTargetShape[];
    device: UsbIds;
    webUsb: WebUsbOptions;
    /** Shows the "choose it again" step (flow.ts). */
    chooseAgain: (step: ChooseAgainStep | undefined) => void;
  },
): Connector<UsbDeviceHandle> {
  if (protocol !== 'dfu') return driverFor(protocol);
  const target = dfuTargetFor(options.targets, options.device);
  // A device in its application is switched to DFU mode (DFU 1.1 §5.1) and found again: among
  // the devices this page may already use, or chosen again by the person.
  return {
    id: protocol,
    connect: (device, o) =>
      driverFor<UsbDeviceHandle>(protocol, {
        usbWatcher: chooseAgainWatcher({
          webUsb: options.webUsb,
          clock: o.clock,
          logger: o.logger,
          show: options.chooseAgain,
        }),
        dfuModeFilters: dfuModeFilters(device.info.vendorId),
        chip: target?.chip,
        alternateSetting: target?.alternateSetting,
      }).connect(device, o),
  };
}

/**
 * Opens the browser's USB device chooser for a bundle's targets and picks the driver for the
 * device chosen.
 * @throws {TransportError} 'transport.no-port-selected' when the person closes the chooser (or
 *   the browser did not open it, e.g. because loading took longer than the click's activation);
 *   'transport.unavailable' without WebUSB.
 */
export async function chooseUsbDevice(options: {
  targets: readonly UsbTargetShape[];
  /** `navigator.usb`, or the demo's fake of it. */
  usb: USB | undefined;
  userAgent: string;
  clock: Clock;
  /** Shows the "choose it again" step (flow.ts). */
  chooseAgain: (step: ChooseAgainStep | undefined) => void;
}): Promise<PortChoice> {
  const { usb } = options;
  if (!usb) throw new TransportError('transport.unavailable', 'This browser has no WebUSB.');
  const webUsb: WebUsbOptions = { usb, userAgent: options.userAgent, clock: options.clock };
  let device: UsbDeviceHandle;
  try {
    device = await requestUsbDevice(usbFiltersFor(options.targets), webUsb);
  } catch (err) {
    // The page passed the support check, so a refused chooser means the click's user
    // activation (WebUSB §5.1 requestDevice step 3) had lapsed: a new click helps.
    if (err instanceof TransportError && err.code === 'transport.unavailable') {
      throw new TransportError('transport.no-port-selected', err.message, { cause: err });
    }
    throw err;
  }
  const ids = device.info;
  const protocol = chooseUsbProtocol({ targets: options.targets, device: ids });
  return {
    port: device,
    connector: usbConnector(protocol, {
      targets: options.targets,
      device: ids,
      webUsb,
      chooseAgain: options.chooseAgain,
    }),
    protocol,
    // The connect step of a DFU 1.1 device may include the person choosing it again.
    ...(protocol === 'dfu'
      ? { settings: { timeouts: { connect: CHOOSE_AGAIN_TIMEOUT_MS + 15_000 } } }
      : {}),
  };
}
