/**
 * Updates over WebUSB, loaded as one lazy chunk when a USB update starts: the browser's device
 * chooser (src/transport/webusb.ts) with filters from the bundle's targets, then the USB DFU 1.1
 * or ST DfuSe driver (src/protocols/dfu) for the device chosen, and the "choose it again" step
 * for a DFU 1.1 device that restarts in its update mode under a new USB identity
 * (usb-reselect.ts). Nothing here is in the element's own script, so the ESP path does not
 * carry it (docs/embedding.md, "Size").
 */
import type { Clock } from '../core/clock.ts';
import { TransportError } from '../core/errors.ts';
import type { Connector } from '../job/types.ts';
import { connectDfu } from '../protocols/dfu/dfu-driver.ts';
import { connectDfuse } from '../protocols/dfu/dfuse-driver.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import { usbId, type UsbDeviceFilter, type UsbDeviceHandle } from '../transport/usb.ts';
import { requestUsbDevice, type WebUsbOptions } from '../transport/webusb.ts';
import type { ChooseAgainStep, PortChoice } from './flow.ts';
import { CHOOSE_AGAIN_TIMEOUT_MS, chooseAgainWatcher, dfuModeFilters } from './usb-reselect.ts';

/** What the choice needs of a bundle target (a manifest target fits). */
export interface UsbTargetShape {
  readonly chip: string;
  readonly protocol: string;
  readonly usb?: { readonly vendorId: number; readonly productId: number } | undefined;
  readonly images: readonly { readonly slot?: number | undefined }[];
}

/** The USB identity of the device chosen. */
export interface UsbIds {
  vendorId: number;
  productId: number;
}

/**
 * Devices with a DFU interface, in run-time or DFU mode (DFU 1.1 §4.2.1 Table 4.1, §4.2.3
 * Table 4.4: interface class 0xFE, subclass 0x01). WebUSB filters match interface classes too
 * (WebUSB §5.1 "match a device filter").
 */
const DFU_CLASS: UsbDeviceFilter = { classCode: 0xfe, subclassCode: 0x01 };

const isUsb = (t: UsbTargetShape): boolean => t.protocol === 'dfu' || t.protocol === 'dfuse';
const sameIds = (t: UsbTargetShape, ids: UsbIds): boolean =>
  t.usb?.vendorId === ids.vendorId && t.usb.productId === ids.productId;

/**
 * The chooser's filters: the USB ids of the bundle's DFU and DfuSe targets, so the list shows
 * only devices the release may be for; the DFU class when a USB target names no ids.
 * @example usbFiltersFor([{ protocol: 'dfuse', usb: { vendorId: 0x0483, productId: 0xdf11 }, … }])
 *   // [{ vendorId: 0x0483, productId: 0xdf11 }]
 */
export function usbFiltersFor(targets: readonly UsbTargetShape[]): UsbDeviceFilter[] {
  const seen = new Set<string>();
  const filters: UsbDeviceFilter[] = [];
  for (const t of targets.filter(isUsb)) {
    const key = t.usb ? usbId(t.usb.vendorId, t.usb.productId) : 'class';
    if (seen.has(key)) continue;
    seen.add(key);
    filters.push(t.usb ? { vendorId: t.usb.vendorId, productId: t.usb.productId } : DFU_CLASS);
  }
  return filters.length > 0 ? filters : [DFU_CLASS];
}

/**
 * The protocol for the device chosen: that of the USB targets made for its ids when they agree;
 * else that of the targets that name no ids; else the bundle's one USB protocol; else DfuSe for
 * ST's DFU bootloader (0483:df11, ST AN2606) and DFU 1.1 for anything else (the board check
 * then names any mismatch).
 * @example usbProtocolFor(targets, { vendorId: 0x0483, productId: 0xdf11 }) // 'dfuse'
 */
export function usbProtocolFor(targets: readonly UsbTargetShape[], device: UsbIds): ProtocolId {
  const usb = targets.filter(isUsb);
  for (const group of [usb.filter((t) => sameIds(t, device)), usb.filter((t) => !t.usb), usb]) {
    const protocols = new Set(group.map((t) => t.protocol));
    if (protocols.size === 1) return group[0]!.protocol as ProtocolId;
  }
  return device.vendorId === 0x0483 && device.productId === 0xdf11 ? 'dfuse' : 'dfu';
}

/**
 * The chip and slot a DFU 1.1 device stands for (DFU 1.1 has no chip identity): those of the
 * 'dfu' targets made for its ids, else of those naming no ids, when they name one chip.
 * Nothing otherwise: the device then reports its USB id and the board check refuses it.
 */
export function dfuTargetFor(
  targets: readonly UsbTargetShape[],
  device: UsbIds,
): { chip: string; alternateSetting: number | undefined } | undefined {
  const dfu = targets.filter((t) => t.protocol === 'dfu');
  const exact = dfu.filter((t) => sameIds(t, device));
  const fits = exact.length > 0 ? exact : dfu.filter((t) => !t.usb);
  if (fits.length === 0 || new Set(fits.map((t) => t.chip)).size !== 1) return undefined;
  return { chip: fits[0]!.chip, alternateSetting: fits[0]!.images[0]?.slot };
}

/** The driver for `protocol` on a chosen device. */
export function usbConnector(
  protocol: ProtocolId,
  options: {
    targets: readonly UsbTargetShape[];
    device: UsbIds;
    webUsb: WebUsbOptions;
    /** Shows the "choose it again" step (flow.ts). */
    chooseAgain: (step: ChooseAgainStep | undefined) => void;
  },
): Connector<UsbDeviceHandle> {
  if (protocol === 'dfuse') return { id: 'dfuse', connect: connectDfuse };
  const target = dfuTargetFor(options.targets, options.device);
  return {
    id: 'dfu',
    // A device in its application is switched to DFU mode (DFU 1.1 §5.1) and found again:
    // among the devices this page may already use, or chosen again by the person.
    connect: (device, o) =>
      connectDfu(device, {
        ...o,
        watcher: chooseAgainWatcher({
          webUsb: options.webUsb,
          clock: o.clock,
          logger: o.logger,
          show: options.chooseAgain,
        }),
        dfuModeFilters: dfuModeFilters(device.info.vendorId),
        ...(target ? { chip: target.chip } : {}),
        ...(target?.alternateSetting === undefined
          ? {}
          : { alternateSetting: target.alternateSetting }),
      }),
  };
}

/**
 * Opens the browser's USB device chooser for a bundle's targets and picks the driver for the
 * device chosen.
 * @throws {TransportError} 'transport.no-port-selected' when the person closes the chooser (or
 *   the browser did not open it, e.g. because loading took longer than the click's activation);
 *   'transport.unavailable' without WebUSB.
 */
export async function chooseUsbDevice(options: {
  targets: readonly UsbTargetShape[];
  /** `navigator.usb`, or the demo's fake of it. */
  usb: USB | undefined;
  userAgent: string;
  clock: Clock;
  /** Shows the "choose it again" step (flow.ts). */
  chooseAgain: (step: ChooseAgainStep | undefined) => void;
}): Promise<PortChoice> {
  const { usb } = options;
  if (!usb) throw new TransportError('transport.unavailable', 'This browser has no WebUSB.');
  const webUsb: WebUsbOptions = { usb, userAgent: options.userAgent, clock: options.clock };
  let device: UsbDeviceHandle;
  try {
    device = await requestUsbDevice(usbFiltersFor(options.targets), webUsb);
  } catch (err) {
    // The page passed the support check, so a refused chooser means the click's user
    // activation (WebUSB §5.1 requestDevice step 3) had lapsed: a new click helps.
    if (err instanceof TransportError && err.code === 'transport.unavailable') {
      throw new TransportError('transport.no-port-selected', err.message, { cause: err });
    }
    throw err;
  }
  const ids = device.info;
  const protocol = usbProtocolFor(options.targets, ids);
  return {
    port: device,
    connector: usbConnector(protocol, {
      targets: options.targets,
      device: ids,
      webUsb,
      chooseAgain: options.chooseAgain,
    }),
    protocol,
    // The connect step of a DFU 1.1 device may include the person choosing it again.
    ...(protocol === 'dfu'
      ? { settings: { timeouts: { connect: CHOOSE_AGAIN_TIMEOUT_MS + 15_000 } } }
      : {}),
  };
}
