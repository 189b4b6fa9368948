/** The STM32 USART bootloader (ST AN3155): driver, client, codecs and chip table. */
export {
  STM32_ENTER_BOOTLOADER,
  STM32_PROTOCOL,
  STM32_RUN_APPLICATION,
  Stm32Session,
  createStm32Driver,
  stm32Driver,
  type Stm32ConnectOptions,
  type Stm32Driver,
  type Stm32DriverOptions,
} from './driver.ts';
export {
  DEFAULT_STM32_TIMEOUTS,
  Stm32Client,
  type Stm32ClientOptions,
  type Stm32Timeouts,
} from './client.ts';
export { Stm32NackError, readProtectedError } from './errors.ts';
export * from './chips.ts';
export * from './commands.ts';
export { crc32Mpeg2, stm32Crc } from './crc.ts';
