/**
 * The bench's USB boards over the W3C WebUSB API (https://wicg.github.io/webusb/): `getDevices()`
 * lists the devices this site was granted, and the `connect`/`disconnect` events on
 * `navigator.usb` (§5.2 "Events") report granted devices as they come and go — so a granted DFU
 * board plugged in is provisioned without a click, as a serial port is (web-serial-ports.ts).
 * Chromium keeps a grant per vendor id, product id and serial number, so a board that comes back
 * with the same identity (a power cycle, manifestation) is still granted.
 *
 * Also the DFU 1.1 and DfuSe connectors the bench opens sessions with: a DFU 1.1 board in
 * run-time mode is switched to DFU mode (DFU 1.1 §5.1) and found again among the granted
 * devices by its vendor id and serial number, without asking anyone.
 */
import { driverFor } from '../../protocols/registry.ts';
import type { Clock } from '../../core/clock.ts';
import { TransportError } from '../../core/errors.ts';
import type { UsbDeviceFilter, UsbDeviceHandle } from '../../transport/usb.ts';
import {
  deviceInfoOf,
  mapWebUsbError,
  WebUsbDeviceHandle,
  WebUsbWatcher,
  type WebUsbOptions,
} from '../../transport/webusb.ts';
import { DFU_CLASS_FILTER } from '../../protocols/dfu/usb-targets.ts';
import type { BenchPortSource, BenchUsbConnectors, BenchUsbPort, PortChange } from '../state/types.ts';

export interface WebUsbPortsOptions {
  /** `navigator.usb`; undefined when the browser has no WebUSB. */
  usb: USB | undefined;
  clock: Clock;
  /** `navigator.userAgent`, for the Windows driver advice (src/transport/webusb.ts). */
  userAgent?: string;
  /** A better label for a device (demo mode names its virtual boards); undefined keeps the USB one. */
  labelFor?: (device: USBDevice) => string | undefined;
}

function unavailable(): TransportError {
  return new TransportError('transport.unavailable', 'This browser has no WebUSB.', {
    hints: ['Use Chrome or Edge on a desktop computer.'],
  });
}

/**
 * A BenchPortSource over `navigator.usb`. Each USBDevice object gets one id for its life (a
 * device that re-enumerates is a new object, hence a new id).
 * @example const usbPorts = webUsbPorts({ usb: navigator.usb, clock: realClock });
 */
export function webUsbPorts(options: WebUsbPortsOptions): BenchPortSource {
  const known = new WeakMap<USBDevice, BenchUsbPort>();
  let next = 1;
  const webUsb = (usb: USB): WebUsbOptions => ({
    usb,
    userAgent: options.userAgent ?? '',
    clock: options.clock,
  });
  const wrap = (usb: USB, device: USBDevice): BenchUsbPort => {
    const seen = known.get(device);
    if (seen) return seen;
    const info = deviceInfoOf(device);
    const port: BenchUsbPort = {
      transport: 'usb',
      id: `usb-${next++}`,
      handle: new WebUsbDeviceHandle(device, webUsb(usb)),
      label: options.labelFor?.(device) ?? info.label,
      usbVendorId: info.vendorId,
      usbProductId: info.productId,
      usbSerialNumber: info.serialNumber,
    };
    known.set(device, port);
    return port;
  };
  return {
    async list() {
      const usb = options.usb;
      if (!usb) throw unavailable();
      return (await usb.getDevices()).map((d) => wrap(usb, d));
    },
    watch(listener) {
      const usb = options.usb;
      if (!usb) return () => undefined;
      const on =
        (type: PortChange['type']) =>
        (event: Event): void => {
          const device = (event as USBConnectionEvent).device;
          if (device) listener({ type, port: wrap(usb, device) });
        };
      const onConnect = on('connect');
      const onDisconnect = on('disconnect');
      usb.addEventListener('connect', onConnect);
      usb.addEventListener('disconnect', onDisconnect);
      return () => {
        usb.removeEventListener('connect', onConnect);
        usb.removeEventListener('disconnect', onDisconnect);
      };
    },
    async request(grant) {
      const usb = options.usb;
      if (!usb) throw unavailable();
      const filters: readonly UsbDeviceFilter[] = grant?.usbFilters?.length
        ? grant.usbFilters
        : [DFU_CLASS_FILTER];
      try {
        const device = await usb.requestDevice({ filters: filters.map((f) => ({ ...f })) });
        return wrap(usb, device);
      } catch (err) {
        throw mapWebUsbError(err, {
          step: 'request',
          userAgent: options.userAgent ?? '',
          label: 'USB device',
        });
      }
    },
  };
}

/**
 * The bench's USB connectors: DfuSe as it is; DFU 1.1 with the bundle target's chip and slot,
 * and a watcher that finds the board again after DFU_DETACH among the granted devices with the
 * same vendor id and serial number (any vendor device without one). The bench cannot ask an
 * operator to choose a device again: that identity must be granted beforehand
 * (docs/bench-guide.md, "USB boards").
 * @example const connectors = benchUsbConnectors({ usb: navigator.usb, clock: realClock });
 */
export function benchUsbConnectors(options: {
  usb: USB;
  clock: Clock;
  userAgent?: string;
}): BenchUsbConnectors {
  const webUsb: WebUsbOptions = {
    usb: options.usb,
    userAgent: options.userAgent ?? '',
    clock: options.clock,
  };
  return (protocol, context) => {
    if (protocol !== 'dfu') return driverFor(protocol);
    return {
      id: protocol,
      connect: (device, o) => {
        const { vendorId, serialNumber } = device.info;
        return driverFor<UsbDeviceHandle>(protocol, {
          usbWatcher: new WebUsbWatcher(webUsb),
          dfuModeFilters: [serialNumber === undefined ? { vendorId } : { vendorId, serialNumber }],
          chip: context.chip,
          alternateSetting: context.alternateSetting,
        }).connect(device, o);
      },
    };
  };
}
