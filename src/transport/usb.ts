/**
 * The boundary between the transports and everything above them, for USB devices driven with
 * control transfers (DFU, DfuSe). Pure: no DOM types. `webusb.ts` implements it over the W3C
 * WebUSB API; the simulators are reached through a fake `navigator.usb` (src/sim/web) or
 * directly through `src/sim/usb/sim-usb.ts`.
 *
 * Shapes follow the W3C WebUSB API (https://wicg.github.io/webusb/) so an adapter is thin:
 * `USBControlTransferParameters`, `USBTransferStatus`, `USBDeviceFilter`.
 */
import type { TransportError } from '../core/errors.ts';

/** bmRequestType bits 6..5 (USB 2.0 §9.3.1). */
export type UsbRequestType = 'standard' | 'class' | 'vendor';
/** bmRequestType bits 4..0 (USB 2.0 §9.3.1). */
export type UsbRecipient = 'device' | 'interface' | 'endpoint' | 'other';

/** The SETUP packet of a control transfer, without direction and wLength (USB 2.0 §9.3). */
export interface UsbSetup {
  requestType: UsbRequestType;
  recipient: UsbRecipient;
  /** bRequest, 0..255. */
  request: number;
  /** wValue, 0..65535. */
  value: number;
  /** wIndex, 0..65535. */
  index: number;
}

/**
 * How a transfer ended, as WebUSB's `USBTransferStatus`: 'stall' is the device refusing the
 * request with a STALL handshake (a normal DFU answer to a request not allowed in the current
 * state), 'babble' is the device sending more data than asked for.
 */
export type UsbTransferStatus = 'ok' | 'stall' | 'babble';

export interface UsbInResult {
  status: UsbTransferStatus;
  /** The bytes received (empty on a stall). */
  data: Uint8Array;
}

export interface UsbOutResult {
  status: UsbTransferStatus;
  bytesWritten: number;
}

/** A device filter, as WebUSB's `USBDeviceFilter`. Every given field must match. */
export interface UsbDeviceFilter {
  vendorId?: number;
  productId?: number;
  classCode?: number;
  subclassCode?: number;
  protocolCode?: number;
  serialNumber?: string;
}

/** One alternate setting of an interface (USB 2.0 §9.6.5). */
interface UsbAlternateInfo {
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  /** The interface string (iInterface), when the device has one. DfuSe puts its memory map here. */
  name?: string;
}

interface UsbInterfaceInfo {
  interfaceNumber: number;
  alternates: readonly UsbAlternateInfo[];
}

export interface UsbConfigurationInfo {
  configurationValue: number;
  name?: string;
  interfaces: readonly UsbInterfaceInfo[];
}

/** What is known about a device from its descriptors, before any class request. */
export interface UsbDeviceInfo {
  /** Human-readable label for logs and the UI ("STM32 BOOTLOADER 0483:df11"). */
  label: string;
  vendorId: number;
  productId: number;
  /** bcdDevice as a number, e.g. 0x2200. */
  deviceVersion: number;
  manufacturerName?: string;
  productName?: string;
  serialNumber?: string;
  configurations: readonly UsbConfigurationInfo[];
}

export interface UsbTransferOptions {
  /** Fail with TimeoutError after this many milliseconds. Default: the adapter's own. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/** An open device: configuration, interfaces, control transfers. */
export interface UsbConnection {
  readonly info: UsbDeviceInfo;
  readonly isOpen: boolean;
  /** Selects a configuration (SET_CONFIGURATION); a no-op when it is already active. */
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  /** SET_INTERFACE (USB 2.0 §9.4.10). The interface must be claimed. */
  selectAlternate(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** A control transfer from the device to the host, asking for up to `length` bytes. */
  controlIn(setup: UsbSetup, length: number, options?: UsbTransferOptions): Promise<UsbInResult>;
  /** A control transfer from the host to the device with `data` (may be empty). */
  controlOut(
    setup: UsbSetup,
    data: Uint8Array,
    options?: UsbTransferOptions,
  ): Promise<UsbOutResult>;
  /**
   * Reads a descriptor with standard GET_DESCRIPTOR (USB 2.0 §9.4.3): `type` 1 device,
   * 2 configuration, 3 string; `index` as in wValue's low byte.
   */
  getDescriptor(
    type: number,
    index: number,
    length: number,
    languageId?: number,
  ): Promise<Uint8Array>;
  /** Reads string descriptor `index` (USB 2.0 §9.6.7); `undefined` for index 0 or no string. */
  getString(index: number): Promise<string | undefined>;
  /** Issues a USB bus reset. The device may re-enumerate; then this connection is lost. */
  reset(): Promise<void>;
  /** Releases interfaces and closes the device; idempotent. */
  close(): Promise<void>;
  /** Called once if the device disappears while open. Returns an unsubscribe function. */
  onLost(listener: (error: TransportError) => void): () => void;
}

/**
 * A USB device the user has allowed the page to use, openable again and again. The DFU and
 * DfuSe drivers' `connect` functions take one of these instead of a serial port.
 */
export interface UsbDeviceHandle {
  readonly info: UsbDeviceInfo;
  /** True while the device is attached. */
  readonly connected: boolean;
  open(): Promise<UsbConnection>;
}

/** Finds devices, including a board that re-enumerated with another identity. */
export interface UsbDeviceWatcher {
  /** Devices already allowed for this page that match any of `filters`. */
  list(filters: readonly UsbDeviceFilter[]): Promise<UsbDeviceHandle[]>;
  /**
   * Resolves with the first allowed device matching any of `filters` that is attached now or
   * attaches later (a board back from DFU_DETACH or manifestation, possibly with another
   * product id). Rejects with TimeoutError, or AbortError through `signal`.
   */
  waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<UsbDeviceHandle>;
}

/** True when `info` matches `filter` (WebUSB "match a device filter", without class codes of interfaces). */
export function matchesFilter(info: UsbDeviceInfo, filter: UsbDeviceFilter): boolean {
  if (filter.vendorId !== undefined && filter.vendorId !== info.vendorId) return false;
  if (filter.productId !== undefined && filter.productId !== info.productId) return false;
  if (filter.serialNumber !== undefined && filter.serialNumber !== info.serialNumber) return false;
  if (
    filter.classCode !== undefined ||
    filter.subclassCode !== undefined ||
    filter.protocolCode !== undefined
  ) {
    return info.configurations.some((c) =>
      c.interfaces.some((i) =>
        i.alternates.some(
          (a) =>
            (filter.classCode === undefined || a.interfaceClass === filter.classCode) &&
            (filter.subclassCode === undefined || a.interfaceSubclass === filter.subclassCode) &&
            (filter.protocolCode === undefined || a.interfaceProtocol === filter.protocolCode),
        ),
      ),
    );
  }
  return true;
}

/** `0483:df11`. */
export function usbId(vendorId: number, productId: number): string {
  return `${vendorId.toString(16).padStart(4, '0')}:${productId.toString(16).padStart(4, '0')}`;
}
