/**
 * USB devices from Node: the `usb` package's WebUSB implementation (libusb underneath, node-usb
 * "WebUSB" API) is handed to the same WebUSB adapter the browser uses (src/transport/webusb.ts),
 * so the DFU and DfuSe drivers run unchanged. Loaded only when a command needs USB: the native
 * module and libusb are not touched by serial-only runs.
 *
 * On Linux a device needs a udev rule for a user who is not root (docs/headless.md, "udev");
 * on Windows a DFU device needs the WinUSB driver (Zadig), as in the browser.
 */
import type { UsbDeviceFilter, UsbDeviceInfo } from '../../transport/usb.ts';
import { deviceInfoOf } from '../../transport/webusb.ts';

/** The Node stand-in for `navigator.usb`, with every attached device allowed. */
export async function nodeUsb(): Promise<USB> {
  const { WebUSB } = await import('usb');
  return new WebUSB({ allowAllDevices: true });
}

/** The user agent the WebUSB adapter is told (it recognises Windows for driver advice). */
export function nodeUserAgent(): string {
  return `Node.js ${process.version} (${process.platform === 'win32' ? 'Windows' : process.platform})`;
}

/** Every attached USB device that `usb` may describe, as plain facts. */
export async function listUsbDevices(usb: USB): Promise<UsbDeviceInfo[]> {
  return (await usb.getDevices()).map(deviceInfoOf);
}

/**
 * Parses `VID:PID[:SERIAL]` (hex ids, as `lsusb` prints them).
 * @throws {RangeError} naming the option when malformed.
 * @example parseUsbId('0483:df11') // { vendorId: 0x0483, productId: 0xdf11 }
 */
export function parseUsbId(text: string, flag = '--usb'): UsbDeviceFilter {
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::(.+))?$/i.exec(text);
  if (!m) throw new RangeError(`${flag} must be VID:PID or VID:PID:SERIAL in hex, e.g. 0483:df11`);
  return {
    vendorId: parseInt(m[1]!, 16),
    productId: parseInt(m[2]!, 16),
    ...(m[3] === undefined ? {} : { serialNumber: m[3] }),
  };
}
