/**
 * USB boards on the bench: the protocol a granted USB device is flashed with, chosen from the
 * release's targets for its USB ids exactly as in the technician view (protocol-choice.ts), and
 * the filters of the browser's device chooser. Pure functions of plain data.
 */
import { UsageError } from '../../core/errors.ts';
import type { Connector } from '../../job/types.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceInfo } from '../../transport/usb.ts';
import { usbId } from '../../transport/usb.ts';
import {
  chooseUsbProtocol,
  DFU_CLASS_FILTER,
  dfuTargetFor,
  PROTOCOL_NAMES,
  usbFiltersFor,
  type TargetShape,
} from '../protocol-choice.ts';
import type { UsbProtocolId } from '../types.ts';
import type { BenchUsbConnectors } from './types.ts';

/** How one USB board is flashed. */
export interface UsbBoardPlan {
  /** Undefined when no protocol could be chosen (the connector then fails with the reason). */
  protocol: UsbProtocolId | undefined;
  connector: Connector<UsbDeviceHandle>;
}

/** A connector that refuses at once, so the refusal is reported and logged like any failure. */
function refusing(id: UsbProtocolId, error: Error): Connector<UsbDeviceHandle> {
  return { id, connect: () => Promise.reject(error) };
}

/**
 * The protocol and connector for the USB device `info`: the protocol of the release's targets
 * made for its USB ids (else the one USB protocol the release uses); for DFU 1.1 also the chip
 * and slot of that target. A release without USB targets, or a bench without the protocol,
 * gives a connector that fails with a UsageError naming the problem — nothing is touched.
 * @example planUsbBoard({ targets, info, connectors }).protocol // 'dfuse'
 */
export function planUsbBoard(options: {
  targets: readonly TargetShape[];
  info: Pick<UsbDeviceInfo, 'vendorId' | 'productId'>;
  connectors: BenchUsbConnectors | undefined;
}): UsbBoardPlan {
  const { targets, info, connectors } = options;
  const device = { vendorId: info.vendorId, productId: info.productId };
  let protocol: UsbProtocolId;
  try {
    protocol = chooseUsbProtocol({ targets, device });
  } catch (err) {
    const error = err instanceof Error ? err : new UsageError(String(err));
    return { protocol: undefined, connector: refusing('dfu', error) };
  }
  const target = protocol === 'dfu' ? dfuTargetFor(targets, device) : undefined;
  const connector = connectors?.(protocol, {
    chip: target?.chip,
    alternateSetting: target?.alternateSetting,
  });
  if (!connector) {
    const error = new UsageError(
      `This bench cannot flash ${usbId(info.vendorId, info.productId)} with the ${PROTOCOL_NAMES[protocol]}.`,
      { hints: ['Use a build of webflash that includes this protocol.'] },
    );
    return { protocol, connector: refusing(protocol, error) };
  }
  return { protocol, connector };
}

/**
 * The chooser's filters for granting USB boards: the USB ids of the release's DFU and DfuSe
 * targets, plus — for each vendor with a DFU 1.1 target — that vendor's devices with a DFU
 * interface (DFU 1.1 §4.2.1: class 0xFE, subclass 0x01), so a board's DFU-mode identity can be
 * granted too when the release does not name it (`dfuProductId`). Without USB targets: any DFU interface.
 * @example grantFilters(targets) // [{ vendorId: 0x0483, productId: 0xdf11 }]
 */
export function grantFilters(targets: readonly TargetShape[] | undefined): UsbDeviceFilter[] {
  const filters = usbFiltersFor(targets);
  const vendors = new Set<number>();
  for (const t of targets ?? []) if (t.protocol === 'dfu' && t.usb) vendors.add(t.usb.vendorId);
  for (const vendorId of vendors) filters.push({ vendorId, ...DFU_CLASS_FILTER });
  return filters;
}
