/**
 * `UsbDeviceHandle`/`UsbConnection` over the W3C WebUSB API (https://wicg.github.io/webusb/).
 * The only code that touches `navigator.usb` and turns its DOMExceptions into our errors.
 *
 * Browser quirks handled here:
 * - Windows binds no generic driver to a DFU interface; without WinUSB (installed with Zadig)
 *   Chromium rejects `open()` with SecurityError or `claimInterface()` with NetworkError
 *   (https://github.com/WICG/webusb/issues/55). That becomes 'transport.driver-missing'.
 * - `alternate.interfaceName` is null on some platforms, so interface strings are also read
 *   with GET_DESCRIPTOR when missing (DfuSe needs them for its memory map).
 * - WebUSB transfers have no timeout; every transfer here races a timer on the injected Clock.
 */
import { realClock, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError, TransportError, UsageError } from '../core/errors.ts';
import { domName, mapWebUsbError } from './usb-errors.ts';
import { requestDescriptor, requestString } from './usb-descriptors.ts';
import {
  usbId,
  type UsbConfigurationInfo,
  type UsbConnection,
  type UsbDeviceFilter,
  type UsbDeviceHandle,
  type UsbDeviceInfo,
  type UsbDeviceWatcher,
  type UsbInResult,
  type UsbOutResult,
  type UsbSetup,
  type UsbTransferOptions,
} from './usb.ts';

export { mapWebUsbError };

export interface WebUsbOptions {
  /** `navigator.usb`, or a fake of it. */
  usb: USB;
  /** `navigator.userAgent`, used to recognise Windows for the driver-missing advice. */
  userAgent: string;
  clock?: Clock;
  /** Default deadline of one control transfer. */
  transferTimeoutMs?: number;
}

const DEFAULT_TRANSFER_TIMEOUT_MS = 5000;

function configurationsOf(device: USBDevice): UsbConfigurationInfo[] {
  return device.configurations.map((c) => ({
    configurationValue: c.configurationValue,
    ...(c.configurationName ? { name: c.configurationName } : {}),
    interfaces: c.interfaces.map((i) => ({
      interfaceNumber: i.interfaceNumber,
      alternates: i.alternates.map((a) => ({
        alternateSetting: a.alternateSetting,
        interfaceClass: a.interfaceClass,
        interfaceSubclass: a.interfaceSubclass,
        interfaceProtocol: a.interfaceProtocol,
        ...(a.interfaceName ? { name: a.interfaceName } : {}),
      })),
    })),
  }));
}

/** Describes a WebUSB device as `UsbDeviceInfo`. */
export function deviceInfoOf(device: USBDevice): UsbDeviceInfo {
  const id = usbId(device.vendorId, device.productId);
  return {
    label: device.productName ? `${device.productName} (${id})` : `USB device ${id}`,
    vendorId: device.vendorId,
    productId: device.productId,
    deviceVersion:
      (device.deviceVersionMajor << 8) |
      (device.deviceVersionMinor << 4) |
      device.deviceVersionSubminor,
    ...(device.manufacturerName ? { manufacturerName: device.manufacturerName } : {}),
    ...(device.productName ? { productName: device.productName } : {}),
    ...(device.serialNumber ? { serialNumber: device.serialNumber } : {}),
    configurations: configurationsOf(device),
  };
}

/** A WebUSB device as a `UsbDeviceHandle`. */
export class WebUsbDeviceHandle implements UsbDeviceHandle {
  readonly info: UsbDeviceInfo;
  private lost = false;

  constructor(
    readonly device: USBDevice,
    private readonly options: WebUsbOptions,
  ) {
    this.info = deviceInfoOf(device);
    const onDisconnect = (e: Event): void => {
      if ((e as USBConnectionEvent).device === device) {
        this.lost = true;
        options.usb.removeEventListener('disconnect', onDisconnect);
      }
    };
    options.usb.addEventListener('disconnect', onDisconnect);
  }

  get connected(): boolean {
    return !this.lost;
  }

  /**
   * Opens the device.
   * @throws {TransportError} 'transport.driver-missing' on Windows without WinUSB,
   *   'transport.port-busy', 'transport.device-lost' or 'transport.open-failed'.
   */
  async open(): Promise<UsbConnection> {
    if (this.lost) {
      throw new TransportError(
        'transport.device-lost',
        `${this.info.label} is no longer connected.`,
      );
    }
    try {
      if (!this.device.opened) await this.device.open();
    } catch (err) {
      throw mapWebUsbError(err, {
        step: 'open',
        userAgent: this.options.userAgent,
        label: this.info.label,
      });
    }
    return new WebUsbConnection(this.device, this.info, this.options);
  }
}

class WebUsbConnection implements UsbConnection {
  private readonly clock: Clock;
  private readonly claimed = new Set<number>();
  private readonly lostListeners = new Set<(e: TransportError) => void>();
  private closed = false;
  private lostError: TransportError | undefined;
  private readonly onDisconnect = (e: Event): void => {
    if ((e as USBConnectionEvent).device !== this.device) return;
    this.lostError = new TransportError(
      'transport.device-lost',
      `${this.info.label} was disconnected.`,
    );
    this.options.usb.removeEventListener('disconnect', this.onDisconnect);
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.lostListeners]) l(this.lostError);
    this.lostListeners.clear();
  };

  constructor(
    private readonly device: USBDevice,
    readonly info: UsbDeviceInfo,
    private readonly options: WebUsbOptions,
  ) {
    this.clock = options.clock ?? realClock;
    options.usb.addEventListener('disconnect', this.onDisconnect);
  }

  get isOpen(): boolean {
    return !this.closed && this.device.opened;
  }

  private ctx(step: 'claim' | 'transfer' | 'configure'): Parameters<typeof mapWebUsbError>[1] {
    return { step, userAgent: this.options.userAgent, label: this.info.label };
  }

  private ensureOpen(): void {
    if (this.lostError) throw this.lostError;
    if (this.closed) throw new TransportError('transport.closed', `${this.info.label} is closed.`);
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.ensureOpen();
    if (this.device.configuration?.configurationValue === configurationValue) return;
    try {
      await this.device.selectConfiguration(configurationValue);
    } catch (err) {
      throw mapWebUsbError(err, this.ctx('configure'));
    }
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.ensureOpen();
    try {
      if (this.device.configuration === null) {
        const first = this.device.configurations[0];
        if (!first)
          throw new TransportError(
            'transport.open-failed',
            `${this.info.label} has no configuration.`,
          );
        await this.device.selectConfiguration(first.configurationValue);
      }
      await this.device.claimInterface(interfaceNumber);
      this.claimed.add(interfaceNumber);
    } catch (err) {
      throw mapWebUsbError(err, this.ctx('claim'));
    }
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.ensureOpen();
    try {
      await this.device.releaseInterface(interfaceNumber);
      this.claimed.delete(interfaceNumber);
    } catch (err) {
      throw mapWebUsbError(err, this.ctx('claim'));
    }
  }

  async selectAlternate(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.ensureOpen();
    try {
      await this.device.selectAlternateInterface(interfaceNumber, alternateSetting);
    } catch (err) {
      throw mapWebUsbError(err, this.ctx('claim'));
    }
  }

  /** Races a WebUSB promise against the clock and the signal. */
  private timed<T>(
    what: string,
    work: Promise<T>,
    options: UsbTransferOptions | undefined,
  ): Promise<T> {
    const timeoutMs =
      options?.timeoutMs ?? this.options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
    const signal = options?.signal;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError());
        return;
      }
      const done = (): void => {
        this.clock.clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new AbortError());
      };
      const timer = this.clock.setTimer(timeoutMs, () => {
        signal?.removeEventListener('abort', onAbort);
        reject(
          new TimeoutError(what, timeoutMs, {
            hints: ['Unplug the board, put it back in DFU mode and try again.'],
          }),
        );
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => {
          done();
          resolve(v);
        },
        (err: unknown) => {
          done();
          reject(mapWebUsbError(err, this.ctx('transfer')));
        },
      );
    });
  }

  private static params(setup: UsbSetup): USBControlTransferParameters {
    return {
      requestType: setup.requestType,
      recipient: setup.recipient,
      request: setup.request,
      value: setup.value,
      index: setup.index,
    };
  }

  async controlIn(
    setup: UsbSetup,
    length: number,
    options?: UsbTransferOptions,
  ): Promise<UsbInResult> {
    this.ensureOpen();
    const r = await this.timed(
      `USB request ${setup.request} (IN)`,
      this.device.controlTransferIn(WebUsbConnection.params(setup), length),
      options,
    );
    const data = r.data
      ? new Uint8Array(
          r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength),
        )
      : new Uint8Array(0);
    return { status: r.status ?? 'ok', data };
  }

  async controlOut(
    setup: UsbSetup,
    data: Uint8Array,
    options?: UsbTransferOptions,
  ): Promise<UsbOutResult> {
    this.ensureOpen();
    const copy = new Uint8Array(data);
    const r = await this.timed(
      `USB request ${setup.request} (OUT)`,
      this.device.controlTransferOut(WebUsbConnection.params(setup), copy),
      options,
    );
    return { status: r.status ?? 'ok', bytesWritten: r.bytesWritten };
  }

  getDescriptor(type: number, index: number, length: number, languageId = 0): Promise<Uint8Array> {
    return requestDescriptor(this, { type, index, length, languageId });
  }

  getString(index: number): Promise<string | undefined> {
    return requestString(this, index);
  }

  async reset(): Promise<void> {
    this.ensureOpen();
    try {
      await this.device.reset();
    } catch (err) {
      // A device that re-enumerates on reset is gone before the reset completes.
      if (domName(err) !== 'NotFoundError') throw mapWebUsbError(err, this.ctx('transfer'));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.options.usb.removeEventListener('disconnect', this.onDisconnect);
    this.lostListeners.clear();
    try {
      for (const n of this.claimed) await this.device.releaseInterface(n);
      if (this.device.opened) await this.device.close();
    } catch {
      // Closing a device that is already gone is not an error worth reporting.
    }
    this.claimed.clear();
  }

  onLost(listener: (error: TransportError) => void): () => void {
    if (this.lostError) {
      const err = this.lostError;
      queueMicrotask(() => listener(err));
      return () => undefined;
    }
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }
}

/**
 * Asks the user to choose a device (needs a click: WebUSB "transient activation").
 * @throws {TransportError} 'transport.no-port-selected' when the user cancels,
 *   'transport.unavailable' without WebUSB.
 */
export async function requestUsbDevice(
  filters: readonly UsbDeviceFilter[],
  options: WebUsbOptions,
): Promise<WebUsbDeviceHandle> {
  if (filters.length === 0) throw new UsageError('requestUsbDevice: give at least one filter');
  try {
    const device = await options.usb.requestDevice({ filters: filters.map((f) => ({ ...f })) });
    return new WebUsbDeviceHandle(device, options);
  } catch (err) {
    throw mapWebUsbError(err, {
      step: 'request',
      userAgent: options.userAgent,
      label: 'USB device',
    });
  }
}

function matches(device: USBDevice, filter: UsbDeviceFilter): boolean {
  if (filter.vendorId !== undefined && device.vendorId !== filter.vendorId) return false;
  if (filter.productId !== undefined && device.productId !== filter.productId) return false;
  if (filter.serialNumber !== undefined && device.serialNumber !== filter.serialNumber)
    return false;
  return true;
}

/** Watches `navigator.usb` for allowed devices, including boards that re-enumerate. */
export class WebUsbWatcher implements UsbDeviceWatcher {
  constructor(private readonly options: WebUsbOptions) {}

  async list(filters: readonly UsbDeviceFilter[]): Promise<WebUsbDeviceHandle[]> {
    const devices = await this.options.usb.getDevices();
    return devices
      .filter((d) => filters.some((f) => matches(d, f)))
      .map((d) => new WebUsbDeviceHandle(d, this.options));
  }

  waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<WebUsbDeviceHandle> {
    const { usb } = this.options;
    const clock = this.options.clock ?? realClock;
    const excluded = (options.exclude as WebUsbDeviceHandle | undefined)?.device;
    return new Promise<WebUsbDeviceHandle>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(new AbortError());
        return;
      }
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clock.clearTimer(timer);
        usb.removeEventListener('connect', onConnect);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const consider = (d: USBDevice): void => {
        if (d !== excluded && filters.some((f) => matches(d, f))) {
          finish(() => resolve(new WebUsbDeviceHandle(d, this.options)));
        }
      };
      const onConnect = (e: Event): void => consider((e as USBConnectionEvent).device);
      const onAbort = (): void => finish(() => reject(new AbortError()));
      const timer = clock.setTimer(options.timeoutMs, () =>
        finish(() =>
          reject(
            new TimeoutError('Waiting for the USB device to come back', options.timeoutMs, {
              hints: [
                'If the board changed its USB identity, choose it again in the browser’s device list.',
                'Unplug the board and plug it in again in DFU mode.',
              ],
            }),
          ),
        ),
      );
      usb.addEventListener('connect', onConnect);
      signal?.addEventListener('abort', onAbort, { once: true });
      usb.getDevices().then(
        (list) => list.forEach(consider),
        () => undefined,
      );
    });
  }
}
