/**
 * How a job reaches the board: the chosen serial port or USB device, the protocol picked for it
 * (protocol-choice.ts) and that protocol's connector from the app's services. Worked out before
 * the engine starts, so a missing choice or an unsupported protocol is refused with nothing
 * touched.
 */
import { chooseUsbProtocol } from '../../protocols/dfu/usb-targets.ts';
import { UsageError } from '../../core/errors.ts';
import type { Connector, PhaseTimeouts } from '../../job/types.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import type { UsbDeviceHandle } from '../../transport/usb.ts';
import {
  dfuTargetFor,
  type UsbTargetShape as TargetShape,
} from '../../protocols/dfu/usb-targets.ts';
import { chooseSerialProtocol, protocolName, targetChipFor } from '../../protocols/registry.ts';
import { RESELECT_TIMEOUT_MS } from '../browser/prompting-usb-watcher.ts';
import type {
  AppServices,
  ConnectorContext,
  DeviceTransport,
  SelectedPort,
  SelectedUsbDevice,
  SerialProtocolChoice,
} from '../../app/types.ts';

/** Everything a job needs to reach the board. */
export type ConnectionPlan =
  | {
      transport: 'serial';
      protocol: ProtocolId;
      port: SerialPortHandle;
      connector: Connector<SerialPortHandle>;
      /** Phase deadlines that differ from the engine's defaults. */
      timeouts: Partial<PhaseTimeouts>;
    }
  | {
      transport: 'usb';
      protocol: ProtocolId;
      port: UsbDeviceHandle;
      connector: Connector<UsbDeviceHandle>;
      timeouts: Partial<PhaseTimeouts>;
    };

/** What `planConnection` looks at. */
export interface ConnectionInput {
  transport: DeviceTransport;
  port: SelectedPort | undefined;
  usbDevice: SelectedUsbDevice | undefined;
  /** The verified bundle's targets; undefined for a raw development image. */
  targets: readonly TargetShape[] | undefined;
  serialProtocol: SerialProtocolChoice;
  allowReadoutUnprotect: boolean;
  chooseAgain: ConnectorContext['chooseAgain'];
}

/**
 * Picks the protocol and its connector for the chosen port or device.
 * @throws {UsageError} when nothing is chosen, the bundle has no target for this transport,
 *   the protocol cannot be told, or this app has no connector for it.
 * @example const plan = planConnection(services, { transport: 'usb', usbDevice, … });
 */
export function planConnection(services: AppServices, input: ConnectionInput): ConnectionPlan {
  const context: ConnectorContext = {
    allowReadoutUnprotect: input.allowReadoutUnprotect,
    chooseAgain: input.chooseAgain,
  };
  if (input.transport === 'usb') {
    const device = input.usbDevice;
    if (!device) throw new UsageError('Choose a USB device first.');
    const { vendorId, productId } = device.handle.info;
    const protocol = chooseUsbProtocol({ targets: input.targets, device: { vendorId, productId } });
    if (protocol === 'dfu') {
      const target = dfuTargetFor(input.targets, { vendorId, productId });
      context.chip = target?.chip;
      context.alternateSetting = target?.alternateSetting;
    }
    const connector = services.connectors?.usb(protocol, context);
    if (!connector) throw missing(protocol);
    // A DFU 1.1 device may need the technician to choose it again after it re-enumerates.
    const timeouts = protocol === 'dfu' ? { connect: RESELECT_TIMEOUT_MS + 15_000 } : {};
    return { transport: 'usb', protocol, port: device.handle, connector, timeouts };
  }
  const port = input.port;
  if (!port) throw new UsageError('Choose a board first.');
  const protocol = chooseSerialProtocol({
    targets: input.targets,
    choice: input.serialProtocol,
    hint: port.protocolHint,
  });
  context.bootloaderBaud = port.bootloaderBaud;
  context.chip = targetChipFor(input.targets, protocol);
  const connector =
    services.connectors?.serial(protocol, context) ??
    (protocol === 'esp-serial' ? services.connector : undefined);
  if (!connector) throw missing(protocol);
  return { transport: 'serial', protocol, port: port.handle, connector, timeouts: {} };
}

function missing(protocol: ProtocolId): UsageError {
  return new UsageError(`This page cannot flash boards with the ${protocolName(protocol)}.`, {
    hints: ['Use a build of webflash that includes this protocol.'],
  });
}
