/**
 * Which bootloader protocol a job speaks, chosen before the port is touched: over a serial port
 * from the verified bundle's targets (or the technician's explicit choice), over USB from the
 * targets' USB ids; and the USB chooser's filters. Pure functions of plain data.
 */
import { UsageError } from '../core/errors.ts';
import {
  isUsbProtocol,
  usbProtocolFor,
  type UsbIds,
  type UsbTargetShape,
} from '../protocols/dfu/usb-targets.ts';
import type { SerialProtocolChoice, SerialProtocolId, UsbProtocolId } from './types.ts';
import type { ProtocolId } from '../protocols/driver.ts';

// The USB rules are shared with the bench and the customer updater.
export {
  DFU_CLASS_FILTER,
  dfuTargetFor,
  usbFiltersFor,
  type UsbIds,
} from '../protocols/dfu/usb-targets.ts';

/** What protocol choice needs of a bundle target (a manifest target or its summary fits). */
export type TargetShape = UsbTargetShape;

const SERIAL: readonly SerialProtocolId[] = ['esp-serial', 'stm32-usart'];

/** Names for messages and the UI. */
export const PROTOCOL_NAMES: Readonly<Record<ProtocolId, string>> = {
  'esp-serial': 'ESP serial bootloader',
  'stm32-usart': 'STM32 USART bootloader',
  dfu: 'USB DFU 1.1',
  dfuse: 'ST DfuSe (USB DFU)',
  'avr-stk500v1': 'Arduino STK500v1 bootloader',
  'avr-stk500v2': 'Arduino STK500v2 bootloader',
  avr109: 'Arduino AVR109 bootloader',
  'mcuboot-smp': 'MCUboot (SMP)',
};

/** The names of the technician's protocol choice ("Auto / ESP / STM32"). */
export const SHORT_NAMES: Readonly<Record<SerialProtocolId, string>> = {
  'esp-serial': 'ESP',
  'stm32-usart': 'STM32',
};

/**
 * USB vendor ids that tell the serial protocol by themselves: Espressif's native USB
 * (0x303a, esptool "USB-Serial/JTAG") and ST's ST-LINK virtual COM port (0x0483). Generic
 * USB-UART bridges (CP210x, CH340, FTDI) sit on both kinds of board and tell nothing.
 */
const VENDOR_HINTS: ReadonlyMap<number, SerialProtocolId> = new Map([
  [0x303a, 'esp-serial'],
  [0x0483, 'stm32-usart'],
]);

/**
 * The protocol a serial port's USB vendor id suggests, if it suggests one.
 * @example serialHintForVendor(0x303a) // 'esp-serial'
 */
export function serialHintForVendor(usbVendorId: number | undefined): SerialProtocolId | undefined {
  return usbVendorId === undefined ? undefined : VENDOR_HINTS.get(usbVendorId);
}

function isSerial(p: string): p is SerialProtocolId {
  return (SERIAL as readonly string[]).includes(p);
}

/**
 * The protocol for a serial port. An explicit choice wins. With "auto": the one serial protocol
 * the bundle's targets use; when they use several, the port's hint decides. Without targets
 * (a raw development image) "auto" means the ESP protocol.
 * @throws {UsageError} when the bundle has no serial target, or several and nothing tells which.
 * @example chooseSerialProtocol({ targets, choice: 'auto' }) // 'stm32-usart'
 */
export function chooseSerialProtocol(options: {
  targets: readonly TargetShape[] | undefined;
  choice: SerialProtocolChoice;
  hint?: SerialProtocolId | undefined;
}): SerialProtocolId {
  const { targets, choice, hint } = options;
  if (choice !== 'auto') return choice;
  if (!targets) return 'esp-serial';
  const offered = SERIAL.filter((p) => targets.some((t) => t.protocol === p));
  if (offered.length === 0) {
    throw new UsageError(
      'This bundle has no image for a board on a serial port: its targets use USB DFU.',
      { hints: ['Choose "USB device (DFU)" under Board and pick the device.'] },
    );
  }
  if (offered.length === 1) return offered[0]!;
  if (hint && offered.includes(hint)) return hint;
  throw new UsageError(
    `This bundle has images for ${offered.map((p) => SHORT_NAMES[p]).join(' and ')} boards, and the port does not tell which kind of board this is.`,
    { hints: ['Choose the protocol (ESP or STM32) under Options, then press Flash again.'] },
  );
}

/**
 * The protocol for a USB device, by the rules of src/protocols/dfu/usb-targets.ts
 * (`usbProtocolFor`). Without targets (a raw development image) the vendor rule applies.
 * @throws {UsageError} when the bundle has no USB target at all.
 * @example chooseUsbProtocol({ targets, device: { vendorId: 0x0483, productId: 0xdf11 } }) // 'dfuse'
 */
export function chooseUsbProtocol(options: {
  targets: readonly TargetShape[] | undefined;
  device: UsbIds;
}): UsbProtocolId {
  const { targets, device } = options;
  if (targets && !targets.some((t) => isUsbProtocol(t.protocol))) {
    throw new UsageError(
      'This bundle has no image for a USB DFU device: its targets use a serial port.',
      { hints: ['Choose "Serial port" under Board and pick the board’s port.'] },
    );
  }
  return usbProtocolFor(targets, device);
}

/** True when the protocol id is one spoken over a serial port. */
export function isSerialProtocol(protocol: string): protocol is SerialProtocolId {
  return isSerial(protocol);
}
