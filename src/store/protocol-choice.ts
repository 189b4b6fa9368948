/**
 * Which bootloader protocol a job speaks, chosen before the port is touched: over a serial port
 * from the verified bundle's targets (or the technician's explicit choice), over USB from the
 * targets' USB ids; and the USB chooser's filters. Pure functions of plain data.
 */
import { UsageError } from '../core/errors.ts';
import type { UsbDeviceFilter } from '../transport/usb.ts';
import { usbId } from '../transport/usb.ts';
import type { SerialProtocolChoice, SerialProtocolId, UsbProtocolId } from './types.ts';

/** What protocol choice needs of a bundle target (a manifest target or its summary fits). */
export interface TargetShape {
  readonly chip: string;
  readonly protocol: string;
  readonly usb?: { readonly vendorId: number; readonly productId: number } | undefined;
  readonly images: readonly { readonly slot?: number | undefined }[];
}

/** The USB identity of a device, as its descriptors give it. */
export interface UsbIds {
  vendorId: number;
  productId: number;
}

const SERIAL: readonly SerialProtocolId[] = ['esp-serial', 'stm32-usart'];
const USB: readonly UsbProtocolId[] = ['dfu', 'dfuse'];

/** Names for messages and the UI. */
export const PROTOCOL_NAMES: Readonly<Record<SerialProtocolId | UsbProtocolId, string>> = {
  'esp-serial': 'ESP serial bootloader',
  'stm32-usart': 'STM32 USART bootloader',
  dfu: 'USB DFU 1.1',
  dfuse: 'ST DfuSe (USB DFU)',
};

/** The names of the technician's protocol choice ("Auto / ESP / STM32"). */
export const SHORT_NAMES: Readonly<Record<SerialProtocolId, string>> = {
  'esp-serial': 'ESP',
  'stm32-usart': 'STM32',
};

/**
 * The standard DFU interface class (DFU 1.1 §4.2.1 Table 4.1 and §4.2.3 Table 4.4:
 * bInterfaceClass 0xFE "Application Specific", bInterfaceSubClass 0x01 "Device Firmware
 * Upgrade"): matches devices in run-time and in DFU mode.
 */
export const DFU_CLASS_FILTER: UsbDeviceFilter = Object.freeze({
  classCode: 0xfe,
  subclassCode: 0x01,
});

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

function isUsb(p: string): p is UsbProtocolId {
  return (USB as readonly string[]).includes(p);
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
 * The protocol for a USB device: the protocol of the bundle targets made for its USB ids; else
 * the one USB protocol the bundle uses; else DfuSe for ST's DFU bootloader (0483:df11) and DFU
 * 1.1 for anything else, so that the board check names the mismatch. Without targets (a raw
 * development image) the same vendor rule applies.
 * @throws {UsageError} when the bundle has no USB target at all.
 * @example chooseUsbProtocol({ targets, device: { vendorId: 0x0483, productId: 0xdf11 } }) // 'dfuse'
 */
export function chooseUsbProtocol(options: {
  targets: readonly TargetShape[] | undefined;
  device: UsbIds;
}): UsbProtocolId {
  const { targets, device } = options;
  const byVendor: UsbProtocolId =
    device.vendorId === 0x0483 && device.productId === 0xdf11 ? 'dfuse' : 'dfu';
  if (!targets) return byVendor;
  const usbTargets = targets.filter((t) => isUsb(t.protocol));
  if (usbTargets.length === 0) {
    throw new UsageError(
      'This bundle has no image for a USB DFU device: its targets use a serial port.',
      { hints: ['Choose "Serial port" under Board and pick the board’s port.'] },
    );
  }
  const forIds = protocolsOf(usbTargets.filter((t) => sameIds(t, device)));
  if (forIds.length === 1) return forIds[0]!;
  const open = protocolsOf(usbTargets.filter((t) => t.usb === undefined));
  if (forIds.length === 0 && open.length === 1) return open[0]!;
  const all = protocolsOf(usbTargets);
  if (all.length === 1) return all[0]!;
  return byVendor;
}

/**
 * What a DFU 1.1 session should report and select for this device: the chip and first slot of
 * the one 'dfu' target made for its USB ids (or for any device, when the target names none).
 * Nothing when no target, or several different chips, qualify — the board check then refuses.
 */
export function dfuTargetFor(
  targets: readonly TargetShape[] | undefined,
  device: UsbIds,
): { chip: string; alternateSetting: number | undefined } | undefined {
  if (!targets) return undefined;
  const dfu = targets.filter((t) => t.protocol === 'dfu');
  const exact = dfu.filter((t) => sameIds(t, device));
  const fits = exact.length > 0 ? exact : dfu.filter((t) => t.usb === undefined);
  const chips = [...new Set(fits.map((t) => t.chip))];
  if (chips.length !== 1) return undefined;
  const target = fits[0]!;
  return { chip: target.chip, alternateSetting: target.images[0]?.slot };
}

/**
 * The filters for the browser's USB chooser: the USB ids of the bundle's DFU and DfuSe targets;
 * without any (no bundle yet, or targets that name no ids) the standard DFU class filter.
 * @example usbFiltersFor(undefined) // [{ classCode: 0xfe, subclassCode: 0x01 }]
 */
export function usbFiltersFor(targets: readonly TargetShape[] | undefined): UsbDeviceFilter[] {
  const seen = new Set<string>();
  const filters: UsbDeviceFilter[] = [];
  for (const t of targets ?? []) {
    if (!isUsb(t.protocol) || !t.usb) continue;
    const key = usbId(t.usb.vendorId, t.usb.productId);
    if (seen.has(key)) continue;
    seen.add(key);
    filters.push({ vendorId: t.usb.vendorId, productId: t.usb.productId });
  }
  return filters.length > 0 ? filters : [{ ...DFU_CLASS_FILTER }];
}

/** True when the protocol id is one spoken over a serial port. */
export function isSerialProtocol(protocol: string): protocol is SerialProtocolId {
  return isSerial(protocol);
}

function sameIds(t: TargetShape, device: UsbIds): boolean {
  return t.usb?.vendorId === device.vendorId && t.usb.productId === device.productId;
}

function protocolsOf(targets: readonly TargetShape[]): UsbProtocolId[] {
  return [...new Set(targets.map((t) => t.protocol).filter(isUsb))];
}
