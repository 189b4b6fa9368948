/** The STM32 USART bootloader's driver factory for the protocol registry (../registry.ts). */
import type { ProtocolDriver } from '../driver.ts';
import type { BaudSetting } from '../link-speed.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import { createStm32Driver } from './driver.ts';

export function createStm32DriverFor(options: {
  allowReadoutUnprotect?: boolean | undefined;
}): ProtocolDriver<SerialPortHandle, BaudSetting> {
  return createStm32Driver({ allowReadoutUnprotect: options.allowReadoutUnprotect === true });
}
