/**
 * The store's services in a browser: Web Serial ports (src/transport/webserial.ts) and WebUSB
 * devices (src/transport/webusb.ts), a connector per protocol (the ESP driver with the
 * compression worker, the STM32 USART driver, DFU 1.1 and DfuSe), bundle verification in the
 * verify worker against the root this build pins, and the rollback history.
 */
import { AuditLog, MemoryAuditStore } from '../../audit/store.ts';
import type { BuildMode } from '../../bundle/pinned-root.ts';
import type { RollbackStore } from '../../bundle/rollback-store.ts';
import { realClock, type Clock } from '../../core/clock.ts';
import { TransportError } from '../../core/errors.ts';
import type { Connector } from '../../job/types.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import { driverFor, hintForUsbIds } from '../../protocols/registry.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import type { UsbDeviceHandle } from '../../transport/usb.ts';
import {
  requestSerialPort,
  WebSerialPortHandle,
  WebSerialPortWatcher,
} from '../../transport/webserial.ts';
import {
  requestUsbDevice,
  WebUsbDeviceHandle,
  WebUsbWatcher,
  type WebUsbOptions,
} from '../../transport/webusb.ts';
import { PromptingUsbWatcher } from './prompting-usb-watcher.ts';
import { keepBundleOffline, offlineReady } from '../../sw/client.ts';
import { IdbAuditStore } from '../../platform/browser/audit-idb.ts';
import { createWorkerVerifier } from '../../platform/browser/worker-verifier.ts';
import { createCompressClient } from '../../platform/browser/compress-client.ts';
import type {
  AppConnectors,
  AppServices,
  ConnectorContext,
  PortRequest,
  SelectedPort,
  SelectedUsbDevice,
  SerialProtocolId,
  UsbDeviceRequest,
} from '../../app/types.ts';

/** Demo mode's virtual boards, as the port chooser sees them. */
export interface VirtualBoardHost {
  /**
   * Makes the board `request.board` (or a default) available and tells the fake chooser to
   * pick it; returns its label ("Virtual ESP32-S3-DevKitC-1").
   */
  prepare(request: PortRequest): string;
  /** The protocol of the virtual board `request` names (its type tells it). */
  protocolHint?(request: PortRequest): SerialProtocolId | undefined;
  /**
   * Makes the virtual USB device `request.device` available and tells the fake chooser to pick
   * it; returns its label. Without a device name the chooser picks the first device matching
   * the filters (choosing a re-enumerated device again) and this returns undefined.
   */
  prepareUsb?(request: UsbDeviceRequest): string | undefined;
}

export interface BrowserServicesOptions {
  buildMode: BuildMode;
  /** root.json text for production builds. */
  productionRoot?: string | undefined;
  unverifiedAllowed: boolean;
  /** The one store bundle verification and flash jobs share (src/job/verify-release.ts). */
  rollbackStore: RollbackStore;
  /** Default `navigator.serial`. */
  serial?: Serial | undefined;
  /** Default `navigator.usb`. */
  usb?: USB | undefined;
  /** Demo mode. */
  virtualBoards?: VirtualBoardHost | undefined;
  /**
   * The flash log. Default: IndexedDB (src/platform/browser/audit-idb.ts), or memory in demo mode
   * (virtual boards start blank each visit, so their history is not kept).
   */
  auditLog?: AuditLog | undefined;
  clock?: Clock;
}

/** The services plus a way to stop the workers. */
export interface BrowserServices extends AppServices {
  dispose(): void;
}

/**
 * Builds the browser services.
 * @example const store = createAppStore(createBrowserServices({ buildMode: 'demo', unverifiedAllowed: true }));
 */
export function createBrowserServices(options: BrowserServicesOptions): BrowserServices {
  const clock = options.clock ?? realClock;
  const serial = (): Serial | undefined =>
    options.serial ?? (globalThis.navigator as Navigator | undefined)?.serial;
  const compressor = createCompressClient();
  const verifier = createWorkerVerifier(options);

  const watcher = (): WebSerialPortWatcher | undefined => {
    const s = serial();
    return s ? new WebSerialPortWatcher({ clock, serial: s }) : undefined;
  };

  // Every serial protocol through the registry, with this face's compressor, a watcher that
  // follows a board across re-enumeration, and the technician's permissions.
  const serialDriver = (
    protocol: ProtocolId,
    context: ConnectorContext,
  ): Connector<SerialPortHandle> =>
    driverFor(protocol, {
      compress: compressor.compress,
      portWatcher: watcher(),
      allowReadoutUnprotect: context.allowReadoutUnprotect,
      bootloaderBaud: context.bootloaderBaud,
      chip: context.chip,
    });
  const connector = serialDriver('esp-serial', {
    allowReadoutUnprotect: false,
    chooseAgain: () => Promise.reject(new Error('A serial port is not chosen again.')),
  });

  const usb = (): USB | undefined =>
    options.usb ?? (globalThis.navigator as Navigator | undefined)?.usb;
  const webUsb = (): WebUsbOptions => {
    const u = usb();
    if (!u) {
      throw new TransportError('transport.unavailable', 'This browser has no WebUSB.', {
        hints: ['Use Chrome or Edge on a desktop computer.'],
      });
    }
    return { usb: u, userAgent: globalThis.navigator?.userAgent ?? '', clock };
  };

  const connectors: AppConnectors = {
    serial: serialDriver,
    usb: (protocol, context) => usbDriver(protocol, context, webUsb, clock),
  };

  const auditLog =
    options.auditLog ??
    new AuditLog({
      store:
        options.virtualBoards || typeof indexedDB === 'undefined'
          ? new MemoryAuditStore()
          : new IdbAuditStore(),
    });

  return {
    clock,
    now: () => new Date(),
    auditLog,
    async keepOffline(url) {
      if (!offlineReady()) {
        return {
          kept: false,
          note: 'No service worker is active on this page (development server or first visit), so nothing was kept. Open the installed app or reload once to enable offline use.',
        };
      }
      const kept = await keepBundleOffline(url);
      return {
        kept,
        note: kept
          ? 'Kept: this bundle URL loads without a network.'
          : 'The service worker could not keep this bundle.',
      };
    },
    unverifiedAllowed: options.unverifiedAllowed,
    rollbackStore: options.rollbackStore,
    connector,
    connectors,
    async requestPort(request) {
      const host = options.virtualBoards;
      const label = host?.prepare(request);
      const handle = await requestSerialPort({ clock, serial: serial() });
      const { usbVendorId: vendorId, usbProductId: productId } = handle.info;
      const ids = hintForUsbIds('serial', { vendorId, productId });
      const hint = host?.protocolHint?.(request) ?? ids?.protocol;
      return {
        handle,
        label: label ?? handle.info.label,
        virtual: label !== undefined,
        ...(hint ? { protocolHint: hint } : {}),
        ...(ids?.baudRate !== undefined ? { bootloaderBaud: ids.baudRate } : {}),
      };
    },
    async refreshPort(selected) {
      return findAgain(selected, serial(), clock);
    },
    async requestUsbDevice(request) {
      const host = options.virtualBoards;
      const label = host?.prepareUsb?.(request);
      const handle = await requestUsbDevice(request.filters, webUsb());
      const virtual = host?.prepareUsb !== undefined;
      return { handle, label: label ?? handle.info.label, virtual };
    },
    async refreshUsbDevice(selected) {
      return findUsbAgain(selected, usb(), webUsb);
    },
    verifyBundle: verifier.verifyBundle,
    dispose() {
      compressor.dispose();
      verifier.dispose();
    },
  };
}

/** How long a flash waits for a board that is off the bus because it is re-enumerating. */
export const REENUMERATION_WAIT_MS = 5_000;

/**
 * The same board after it was unplugged and plugged back, or re-enumerated after a reset: the
 * browser gives it a new SerialPort object, which `getPorts()` lists (the permission is kept).
 * A USB-native board is off the bus for a moment after it restarts, so when the old port is gone
 * and no new one is listed yet, this waits (up to REENUMERATION_WAIT_MS) for its `connect`
 * event. Matched on USB vendor and product id; the old port is kept when nothing better is
 * found, and opening it then reports the board as missing.
 */
async function findAgain(
  selected: SelectedPort,
  serial: Serial | undefined,
  clock: Clock,
): Promise<SelectedPort> {
  const handle = selected.handle;
  if (!(handle instanceof WebSerialPortHandle) || handle.port.connected !== false || !serial) {
    return selected;
  }
  const want = handle.info;
  const ports = await serial.getPorts();
  const found = ports.find((p) => {
    const info = p.getInfo();
    return (
      p !== handle.port &&
      p.connected !== false &&
      info.usbVendorId === want.usbVendorId &&
      info.usbProductId === want.usbProductId
    );
  });
  if (found) return { ...selected, handle: new WebSerialPortHandle(found, { clock }) };
  if (want.usbVendorId === undefined) return selected;
  try {
    const back = await new WebSerialPortWatcher({ clock, serial }).waitForReturn(handle, {
      timeoutMs: REENUMERATION_WAIT_MS,
    });
    return { ...selected, handle: back };
  } catch {
    return selected;
  }
}

/**
 * A USB protocol's driver from the registry. DFU 1.1 gets the bundle target's chip and slot, and
 * a watcher that asks the technician to choose the device again when it comes back from
 * DFU_DETACH with a new identity.
 */
function usbDriver(
  protocol: ProtocolId,
  context: ConnectorContext,
  webUsb: () => WebUsbOptions,
  clock: Clock,
): Connector<UsbDeviceHandle> {
  if (protocol !== 'dfu') return driverFor(protocol);
  let base: WebUsbWatcher | undefined;
  try {
    base = new WebUsbWatcher(webUsb());
  } catch {
    base = undefined;
  }
  return driverFor(protocol, {
    usbWatcher: new PromptingUsbWatcher({
      base,
      clock,
      chooseAgain: (request, signal) => context.chooseAgain(request, signal),
    }),
    chip: context.chip,
    alternateSetting: context.alternateSetting,
  });
}

/**
 * The same USB device after it was unplugged and plugged back, or re-enumerated: a new
 * USBDevice object that `getDevices()` lists (the permission is kept per vendor id, product id
 * and serial number). The old device is kept when nothing better is found.
 */
async function findUsbAgain(
  selected: SelectedUsbDevice,
  usb: USB | undefined,
  webUsb: () => WebUsbOptions,
): Promise<SelectedUsbDevice> {
  const handle = selected.handle;
  if (!(handle instanceof WebUsbDeviceHandle) || handle.connected || !usb) return selected;
  const want = handle.info;
  const devices = await usb.getDevices();
  const found = devices.find(
    (d) =>
      d !== handle.device &&
      d.vendorId === want.vendorId &&
      d.productId === want.productId &&
      (d.serialNumber ?? undefined) === want.serialNumber,
  );
  if (!found) return selected;
  return { ...selected, handle: new WebUsbDeviceHandle(found, webUsb()) };
}
