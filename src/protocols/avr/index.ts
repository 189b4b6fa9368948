/**
 * The Arduino AVR serial bootloaders: STK500v1 (optiboot, ATmegaBOOT), STK500v2 (the Mega's
 * wiring bootloader) and AVR109 (Caterina). See docs/protocols/avr.md.
 */
export * from './chips.ts';
export { AvrSession, BootloaderOverlapError, pagesOf, type AvrProgrammer } from './session.ts';
export type { AvrConnectOptions, AvrDriver, AvrDriverOptions } from './driver-common.ts';
export {
  ARDUINO_AUTO_RESET,
  AVR_STK500V1_PROTOCOL,
  createAvrStk500v1Driver,
} from './driver-stk500v1.ts';
export {
  AVR_STK500V2_PROTOCOL,
  WIRING_AUTO_RESET,
  createAvrStk500v2Driver,
} from './driver-stk500v2.ts';
export {
  AVR109_PROTOCOL,
  createAvr109Driver,
  isCaterinaBootloader,
  type Avr109DriverOptions,
} from './driver-avr109.ts';
export { Stk500v1Client, Stk, StkParam, StkResp } from './stk500v1.ts';
export {
  Stk500v2Client,
  V2,
  V2Param,
  V2Status,
  decodeStk500v2,
  encodeStk500v2,
} from './stk500v2.ts';
export { Avr109Client } from './avr109.ts';
export { AVR_USB_IDENTITIES, avrBoardForUsb, type AvrUsbIdentity } from './usb-ids.ts';
