/**
 * Boards on the bench: the protocol a serial port or a granted USB device is flashed with,
 * chosen from the release's targets and the board's USB ids through the protocol registry
 * exactly as in the technician view, and the filters of the browser's device chooser. Pure
 * functions of plain data.
 */
import { chooseUsbProtocol } from '../../protocols/dfu/usb-targets.ts';
import { UsageError } from '../../core/errors.ts';
import type { Connector } from '../../job/types.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceInfo } from '../../transport/usb.ts';
import { usbId } from '../../transport/usb.ts';
import {
  DFU_CLASS_FILTER,
  dfuTargetFor,
  usbFiltersFor,
  type UsbTargetShape as TargetShape,
} from '../../protocols/dfu/usb-targets.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import {
  chooseSerialProtocol,
  hintForUsbIds,
  protocolName,
  targetChipFor,
} from '../../protocols/registry.ts';
import type { PortInfo, SerialPortHandle } from '../../transport/link.ts';
import type { UsbProtocolId } from '../../app/types.ts';
import type { BenchSerialConnectors, BenchUsbConnectors } from './types.ts';

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
      `This bench cannot flash ${usbId(info.vendorId, info.productId)} with the ${protocolName(protocol)}.`,
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

/** How one serial board is flashed. */
export interface SerialBoardPlan {
  /** Undefined when no protocol could be chosen (the connector then fails with the reason). */
  protocol: ProtocolId | undefined;
  connector: Connector<SerialPortHandle>;
}

/**
 * The protocol and connector for a serial board: the one serial protocol of the release's
 * targets, or the one the port's USB ids tell when the release has several. A board that
 * cannot be told gets a connector that fails with the reason, touching nothing.
 * @example planSerialBoard({ targets, info, connectors, fallback }).protocol // 'avr-stk500v1'
 */
export function planSerialBoard(options: {
  targets: readonly TargetShape[];
  info: PortInfo;
  connectors: BenchSerialConnectors | undefined;
  /** The bench's ESP connector, used when `connectors` lacks one for 'esp-serial'. */
  fallback: Connector<SerialPortHandle>;
}): SerialBoardPlan {
  const { targets, info, connectors, fallback } = options;
  const hint = hintForUsbIds('serial', {
    vendorId: info.usbVendorId,
    productId: info.usbProductId,
  });
  let protocol: ProtocolId;
  try {
    protocol = chooseSerialProtocol({ targets, choice: 'auto', hint: hint?.protocol });
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    return { protocol: undefined, connector: refusingSerial(fallback.id, error) };
  }
  const bootloaderBaud = hint?.protocol === protocol ? hint.baudRate : undefined;
  const connector =
    connectors?.(protocol, { bootloaderBaud, chip: targetChipFor(targets, protocol) }) ??
    (protocol === fallback.id ? fallback : undefined);
  if (!connector) {
    const error = new UsageError(
      `This bench cannot flash ${info.label} with the ${protocolName(protocol)}.`,
      { hints: ['Use a build of webflash that includes this protocol.'] },
    );
    return { protocol, connector: refusingSerial(protocol, error) };
  }
  return { protocol, connector };
}

function refusingSerial(id: ProtocolId, error: Error): Connector<SerialPortHandle> {
  return { id, connect: () => Promise.reject(error) };
}
