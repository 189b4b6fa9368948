/**
 * USB DFU 1.1 and ST DfuSe driver factories for the protocol registry (../registry.ts). DFU 1.1
 * has no chip identity: the chip and slot come from the bundle target; a device in its
 * application is switched to DFU mode and found again by the watcher.
 */
import type { ProtocolDriver } from '../driver.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceWatcher } from '../../transport/usb.ts';
import { connectDfu } from './dfu-driver.ts';
import { connectDfuse } from './dfuse-driver.ts';

export function createDfuseDriver(): ProtocolDriver<UsbDeviceHandle> {
  return { id: 'dfuse', connect: connectDfuse };
}

export function createDfuDriver(options: {
  usbWatcher?: UsbDeviceWatcher | undefined;
  dfuModeFilters?: readonly UsbDeviceFilter[] | undefined;
  chip?: string | undefined;
  alternateSetting?: number | undefined;
}): ProtocolDriver<UsbDeviceHandle> {
  const { usbWatcher, dfuModeFilters, chip, alternateSetting } = options;
  return {
    id: 'dfu',
    connect: (device, o) =>
      connectDfu(device, {
        ...o,
        ...(usbWatcher ? { watcher: usbWatcher } : {}),
        ...(dfuModeFilters ? { dfuModeFilters } : {}),
        ...(chip !== undefined ? { chip } : {}),
        ...(alternateSetting !== undefined ? { alternateSetting } : {}),
      }),
  };
}
