/**
 * USB DFU 1.1 and ST DfuSe: the two protocol drivers ('dfu', 'dfuse') and what the engine and
 * UI need around them. Both drivers' `connect` take a `UsbDeviceHandle` (src/transport/usb.ts).
 */
export { connectDfu, dfuDriver, type DfuConnectOptions } from './dfu-driver.ts';
export {
  connectDfuse,
  dfuseDriver,
  type DfuseConnectOptions,
  type DfuseFlashSession,
} from './dfuse-driver.ts';
export { DfuRequestError } from './dfu-client.ts';
export { DfuState, DfuStatus, stateName, statusName } from './dfu-spec.ts';
export { parseMemoryLayout, type MemoryLayout } from './dfuse-layout.ts';
