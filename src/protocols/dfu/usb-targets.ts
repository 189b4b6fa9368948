/**
 * What a release's targets say about USB devices: the filters for the browser's device chooser,
 * the protocol (DFU 1.1 or DfuSe) for the device chosen, and the chip a DFU 1.1 device stands
 * for. The technician console, the bench and the customer updater all decide by these rules.
 * Pure functions of plain data.
 */
import { usbId, type UsbDeviceFilter } from '../../transport/usb.ts';
import { UsageError } from '../../core/errors.ts';
import { ST_DFU_BOOTLOADER } from './dfuse-chips.ts';

/** What the rules need of a bundle target (a manifest target or its summary fits). */
export interface UsbTargetShape {
  readonly chip: string;
  readonly protocol: string;
  readonly usb?:
    | {
        readonly vendorId: number;
        readonly productId: number;
        /** A 'dfu' target's product id in DFU mode (DFU 1.1 §5.1). */
        readonly dfuProductId?: number | undefined;
      }
    | undefined;
  readonly images: readonly { readonly slot?: number | undefined }[];
}

/** The USB identity of a device, as its descriptors give it. */
export interface UsbIds {
  vendorId: number;
  productId: number;
}

/** The protocols spoken to USB devices. */
export type UsbProtocolId = 'dfu' | 'dfuse';

/**
 * The standard DFU interface class (DFU 1.1 §4.2.1 Table 4.1 and §4.2.3 Table 4.4:
 * bInterfaceClass 0xFE "Application Specific", bInterfaceSubClass 0x01 "Device Firmware
 * Upgrade"): matches devices in run-time and in DFU mode. WebUSB filters match interface
 * classes too (WebUSB §5.1 "match a device filter").
 */
export const DFU_CLASS_FILTER: UsbDeviceFilter = Object.freeze({
  classCode: 0xfe,
  subclassCode: 0x01,
});

/** True for the protocols spoken to USB devices. */
function isUsbProtocol(protocol: string): protocol is UsbProtocolId {
  return protocol === 'dfu' || protocol === 'dfuse';
}

/**
 * The USB identities a target's device shows: its run-time ids and, for a 'dfu' target naming
 * one, its DFU-mode ids (DFU 1.1 §5.1) — the identity a failed update leaves it in.
 */
function targetUsbIds(t: UsbTargetShape): UsbIds[] {
  if (!t.usb) return [];
  const ids = [{ vendorId: t.usb.vendorId, productId: t.usb.productId }];
  const dfu = t.protocol === 'dfu' ? t.usb.dfuProductId : undefined;
  if (dfu !== undefined && dfu !== t.usb.productId)
    ids.push({ vendorId: t.usb.vendorId, productId: dfu });
  return ids;
}

const sameIds = (t: UsbTargetShape, ids: UsbIds): boolean =>
  targetUsbIds(t).some((own) => own.vendorId === ids.vendorId && own.productId === ids.productId);

/**
 * The chooser's filters: the USB ids of the DFU and DfuSe targets (a 'dfu' target's DFU-mode
 * ids too, so a device a failed update left in DFU mode is listed), so the list shows only
 * devices the release may be for, and the DFU class when a USB target names no ids; the DFU
 * class alone without any USB target (no release yet).
 * @example usbFiltersFor(undefined) // [{ classCode: 0xfe, subclassCode: 0x01 }]
 */
export function usbFiltersFor(targets: readonly UsbTargetShape[] | undefined): UsbDeviceFilter[] {
  const seen = new Set<string>();
  const filters: UsbDeviceFilter[] = [];
  const add = (key: string, filter: UsbDeviceFilter): void => {
    if (seen.has(key)) return;
    seen.add(key);
    filters.push(filter);
  };
  for (const t of targets ?? []) {
    if (!isUsbProtocol(t.protocol)) continue;
    if (!t.usb) add('class', { ...DFU_CLASS_FILTER });
    for (const ids of targetUsbIds(t)) add(usbId(ids.vendorId, ids.productId), { ...ids });
  }
  return filters.length > 0 ? filters : [{ ...DFU_CLASS_FILTER }];
}

/**
 * The protocol for the device chosen: that of the USB targets made for its ids (run-time or
 * DFU-mode) when they agree;
 * else that of the targets that name no ids; else the release's one USB protocol; else DfuSe
 * for ST's DFU bootloader (0483:df11, ST AN2606) and DFU 1.1 for anything else (the board check
 * then names any mismatch).
 * @example usbProtocolFor(targets, { vendorId: 0x0483, productId: 0xdf11 }) // 'dfuse'
 */
export function usbProtocolFor(
  targets: readonly UsbTargetShape[] | undefined,
  device: UsbIds,
): UsbProtocolId {
  const usb = (targets ?? []).filter((t) => isUsbProtocol(t.protocol));
  for (const group of [usb.filter((t) => sameIds(t, device)), usb.filter((t) => !t.usb), usb]) {
    const protocols = new Set(group.map((t) => t.protocol));
    if (protocols.size === 1) return group[0]!.protocol as UsbProtocolId;
  }
  const st = ST_DFU_BOOTLOADER;
  return device.vendorId === st.vendorId && device.productId === st.productId ? 'dfuse' : 'dfu';
}

/**
 * The chip and first slot a DFU 1.1 device stands for (DFU 1.1 has no chip identity): those of
 * the 'dfu' targets made for its ids (run-time or DFU-mode), else of those naming no ids, when
 * they name one chip.
 * Nothing otherwise: the device then reports its USB id and the board check refuses it.
 */
export function dfuTargetFor(
  targets: readonly UsbTargetShape[] | undefined,
  device: UsbIds,
): { chip: string; alternateSetting: number | undefined } | undefined {
  const dfu = (targets ?? []).filter((t) => t.protocol === 'dfu');
  const exact = dfu.filter((t) => sameIds(t, device));
  const fits = exact.length > 0 ? exact : dfu.filter((t) => !t.usb);
  if (fits.length === 0 || new Set(fits.map((t) => t.chip)).size !== 1) return undefined;
  return { chip: fits[0]!.chip, alternateSetting: fits[0]!.images[0]?.slot };
}

/**
 * The protocol for a USB device, by the rules above (`usbProtocolFor`), for the faces that
 * choose it (the protocol registry chooses among serial protocols; the USB rules load only with
 * a USB update). Without targets (a raw development image) the vendor rule applies.
 * @throws {UsageError} when the bundle has no USB target at all.
 * @example chooseUsbProtocol({ targets, device: { vendorId: 0x0483, productId: 0xdf11 } }) // 'dfuse'
 */
export function chooseUsbProtocol(options: {
  targets: readonly UsbTargetShape[] | undefined;
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
