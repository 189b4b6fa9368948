/**
 * The Arduino AVR bootloaders' driver factories for the protocol registry (../registry.ts). The
 * line speed comes from the registry's policy (each bootloader listens at the rate it was built
 * with); AVR109 follows the board from its sketch's port to its bootloader's with the watcher.
 */
import type { ProtocolDriver } from '../driver.ts';
import type { PortWatcher, SerialPortHandle } from '../../transport/link.ts';
import { createAvr109Driver } from './driver-avr109.ts';
import { createAvrStk500v1Driver } from './driver-stk500v1.ts';
import { createAvrStk500v2Driver } from './driver-stk500v2.ts';
import { STK500V1_BAUD_RATES } from './usb-ids.ts';

/**
 * STK500v1: when nothing told the bootloader's speed (`bootloaderBaud`: the port's USB ids or
 * the person), the driver tries the common rates in turn until the bootloader answers, since
 * an FTDI or CH340 adapter's ids say nothing of the board behind it.
 */
export function createStk500v1DriverFor(options: {
  bootloaderBaud?: number | undefined;
}): ProtocolDriver<SerialPortHandle> {
  return createAvrStk500v1Driver(
    options.bootloaderBaud === undefined ? { fallbackBaudRates: STK500V1_BAUD_RATES } : {},
  );
}

export function createStk500v2DriverFor(): ProtocolDriver<SerialPortHandle> {
  return createAvrStk500v2Driver();
}

export function createAvr109DriverFor(options: {
  portWatcher?: PortWatcher | undefined;
}): ProtocolDriver<SerialPortHandle> {
  return createAvr109Driver(options.portWatcher ? { portWatcher: options.portWatcher } : {});
}
