/**
 * Opening a DFU interface on a USB device: read the configuration descriptor (USB 2.0 §9.4.3),
 * find the DFU interface and its functional descriptor (DFU 1.1 §4.2), claim it, select the
 * alternate setting, and read every alternate's name (DfuSe memory maps). Also the run-time →
 * DFU-mode switch of DFU 1.1 §5 (DFU_DETACH, USB reset, re-enumeration). Pure.
 */
import { ProtocolError, TransportError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import { DescriptorType, parseConfigurationDescriptor } from '../../transport/usb-descriptors.ts';
import type {
  UsbConnection,
  UsbDeviceFilter,
  UsbDeviceHandle,
  UsbDeviceWatcher,
} from '../../transport/usb.ts';
import {
  findDfuInterfaces,
  type DfuFunctionalDescriptor,
  type DfuInterface,
} from './dfu-descriptor.ts';
import type { DfuClientOptions } from './dfu-client.ts';
import { detachRequest } from './dfu-requests.ts';

export interface OpenedDfu {
  connection: UsbConnection;
  /** Every DFU alternate setting of the claimed interface, with names read. */
  alternates: (DfuInterface & { name: string | undefined })[];
  /** The selected one. */
  selected: DfuInterface & { name: string | undefined };
  functional: DfuFunctionalDescriptor;
}

/** Reads the full configuration descriptor: first 9 bytes for wTotalLength, then all. */
async function readConfigurationDescriptor(
  connection: UsbConnection,
  index = 0,
): Promise<Uint8Array> {
  const head = await connection.getDescriptor(DescriptorType.configuration, index, 9);
  if (head.length < 4)
    throw new TransportError(
      'transport.io',
      'The device returned a short configuration descriptor.',
    );
  const total = head[2]! | (head[3]! << 8);
  return connection.getDescriptor(DescriptorType.configuration, index, total);
}

/**
 * Opens `handle` and prepares its DFU interface.
 * @throws {ProtocolError} 'protocol.unsupported' when the device has no DFU interface or no
 *   functional descriptor.
 */
export async function openDfu(
  handle: UsbDeviceHandle,
  options: { alternateSetting?: number; logger?: Logger } = {},
): Promise<OpenedDfu> {
  const logger = options.logger ?? silentLogger;
  const connection = await handle.open();
  try {
    const config = parseConfigurationDescriptor(await readConfigurationDescriptor(connection));
    const found = findDfuInterfaces(config);
    const first = found[0];
    if (!first) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} has no DFU interface.`,
        {
          hints: ['Put the board in DFU mode (for STM32: hold BOOT0 high and reset).'],
        },
      );
    }
    const iface = found.filter((d) => d.interfaceNumber === first.interfaceNumber);
    const functional = iface.find((d) => d.functional)?.functional;
    if (!functional) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} has no DFU functional descriptor.`,
      );
    }
    await connection.selectConfiguration(config.configurationValue);
    await connection.claimInterface(first.interfaceNumber);
    const known = handle.info.configurations
      .find((c) => c.configurationValue === config.configurationValue)
      ?.interfaces.find((i) => i.interfaceNumber === first.interfaceNumber);
    const alternates: OpenedDfu['alternates'] = [];
    for (const alt of iface) {
      let name = known?.alternates.find((a) => a.alternateSetting === alt.alternateSetting)?.name;
      if (name === undefined && alt.stringIndex !== 0)
        name = await connection.getString(alt.stringIndex);
      alternates.push({ ...alt, name });
    }
    const wanted = options.alternateSetting ?? alternates[0]!.alternateSetting;
    const selected = alternates.find((a) => a.alternateSetting === wanted);
    if (!selected) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} has no DFU alternate setting ${wanted}.`,
      );
    }
    await connection.selectAlternate(first.interfaceNumber, wanted);
    logger.debug(
      `DFU interface ${first.interfaceNumber}, alt ${wanted}, wTransferSize ${functional.transferSize}, ` +
        `bcdDFU 0x${functional.dfuVersion.toString(16)}`,
    );
    return { connection, alternates, selected, functional };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/**
 * Switches a run-time mode device into DFU mode (DFU 1.1 §5.1): DFU_DETACH, then a USB reset
 * unless the device detaches itself (bitWillDetach), then waits for it to come back — often
 * with another product id — through `watcher`.
 */
export async function detachToDfuMode(
  opened: OpenedDfu,
  options: {
    watcher: UsbDeviceWatcher;
    filters: readonly UsbDeviceFilter[];
    timeoutMs?: number;
    signal?: AbortSignal | undefined;
    exclude?: UsbDeviceHandle;
  },
): Promise<UsbDeviceHandle> {
  const { connection, functional, selected } = opened;
  const detachMs = Math.min(functional.detachTimeoutMs || 1000, 0xffff);
  const r = await connection.controlOut(
    detachRequest(selected.interfaceNumber, detachMs).setup,
    new Uint8Array(0),
    {
      signal: options.signal,
    },
  );
  if (r.status !== 'ok') {
    throw new ProtocolError('protocol.command-failed', 'The device refused DFU_DETACH.', {
      opcode: 0,
    });
  }
  if (!functional.willDetach) await connection.reset();
  await connection.close();
  return options.watcher.waitForDevice(options.filters, {
    timeoutMs: options.timeoutMs ?? detachMs + 5000,
    signal: options.signal,
    ...(options.exclude ? { exclude: options.exclude } : {}),
  });
}

/** The options of a DFU or DfuSe client for an opened device: its interface and timings. */
export function clientOptions(
  opened: OpenedDfu,
  options: { clock: Clock; logger: Logger; maxBusyMs?: number; transferTimeoutMs?: number },
): DfuClientOptions {
  return {
    connection: opened.connection,
    interfaceNumber: opened.selected.interfaceNumber,
    functional: opened.functional,
    clock: options.clock,
    logger: options.logger,
    ...(options.maxBusyMs !== undefined ? { maxBusyMs: options.maxBusyMs } : {}),
    ...(options.transferTimeoutMs !== undefined
      ? { transferTimeoutMs: options.transferTimeoutMs }
      : {}),
  };
}
