/**
 * A strict fake of the W3C WebUSB API (https://wicg.github.io/webusb/, §5 "Device
 * Enumeration", §6 "Device Usage") in front of the simulated devices of src/sim/dfu. There
 * is no virtual USB device on the test machines, so this fake is the browser: it rejects what
 * Chromium rejects, with the same DOMException names —
 * - `requestDevice` without `filters`, or with a productId but no vendorId: TypeError;
 *   nothing chosen: NotFoundError;
 * - any transfer or claim before `open()`: InvalidStateError; a transfer to an interface
 *   that is not claimed: InvalidStateError; an unknown interface/alternate: NotFoundError;
 * - out-of-range setup fields or lengths ([EnforceRange] octet/unsigned short): TypeError;
 * - anything on a device that has been unplugged: NotFoundError;
 * - on "Windows without WinUSB": open() rejects with SecurityError, as Chromium does.
 * STALLs are results (`status: "stall"`), never exceptions (§6.4 "Transfers").
 */
/* eslint-disable @typescript-eslint/require-await --
   WebUSB methods are async; like the browser, the fake checks arguments and state before any wait. */
import type { SimUsbBus } from '../usb/sim-usb-device.ts';
import type { UsbBusView, UsbDeviceView } from './host-views.ts';
import type { UsbSetup } from '../../transport/usb.ts';

export interface FakeUsbOptions<B extends UsbBusView = SimUsbBus> {
  bus: B;
  /**
   * Plays the user in the chooser: gets the matching devices, returns the one picked or
   * `undefined` for Cancel. Default: the first.
   */
  chooser?: (devices: readonly USBDevice[]) => USBDevice | undefined;
  /** Windows with no WinUSB driver bound: open() fails with SecurityError. */
  windowsWithoutDriver?: boolean;
  /** Another program holds the interface: claimInterface() fails with NetworkError. */
  interfaceBusy?: boolean;
  /** Devices allowed from the start (as if chosen in an earlier visit). */
  grantAll?: boolean;
}

function domError(name: string, message: string): DOMException {
  return new DOMException(message, name);
}

function enforceRange(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v) || v < 0 || v > max) {
    throw new TypeError(
      `Failed to execute on 'USBDevice': Value ${String(v)} is outside the range of ${name}.`,
    );
  }
  return v;
}

const REQUEST_TYPES = ['standard', 'class', 'vendor'];
const RECIPIENTS = ['device', 'interface', 'endpoint', 'other'];

function checkSetup(setup: USBControlTransferParameters): UsbSetup {
  if (typeof setup !== 'object' || setup === null)
    throw new TypeError('setup must be a USBControlTransferParameters');
  if (!REQUEST_TYPES.includes(setup.requestType)) {
    throw new TypeError(
      `The provided value '${String(setup.requestType)}' is not a valid enum value of type USBRequestType.`,
    );
  }
  if (!RECIPIENTS.includes(setup.recipient)) {
    throw new TypeError(
      `The provided value '${String(setup.recipient)}' is not a valid enum value of type USBRecipient.`,
    );
  }
  return {
    requestType: setup.requestType,
    recipient: setup.recipient,
    request: enforceRange('octet', setup.request, 0xff),
    value: enforceRange('unsigned short', setup.value, 0xffff),
    index: enforceRange('unsigned short', setup.index, 0xffff),
  };
}

function toBytes(data: BufferSource | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  throw new TypeError('data must be a BufferSource');
}

class FakeAlternate {
  readonly endpoints: USBEndpoint[] = [];
  constructor(
    readonly alternateSetting: number,
    readonly interfaceClass: number,
    readonly interfaceSubclass: number,
    readonly interfaceProtocol: number,
    readonly interfaceName: string | null,
  ) {}
}

class FakeInterface {
  claimed = false;
  current = 0;
  constructor(
    readonly interfaceNumber: number,
    readonly alternates: FakeAlternate[],
  ) {}
  get alternate(): FakeAlternate {
    return this.alternates.find((a) => a.alternateSetting === this.current) ?? this.alternates[0]!;
  }
}

class FakeConfiguration {
  constructor(
    readonly configurationValue: number,
    readonly configurationName: string | null,
    readonly interfaces: FakeInterface[],
  ) {}
}

/** A `USBDevice` over one attachment of a simulated device. */
export class FakeUSBDevice implements USBDevice {
  readonly usbVersionMajor = 2;
  readonly usbVersionMinor = 0;
  readonly usbVersionSubminor = 0;
  readonly deviceClass = 0;
  readonly deviceSubclass = 0;
  readonly deviceProtocol = 0;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: FakeConfiguration[];
  configuration: FakeConfiguration | null = null;
  opened = false;
  /** False once unplugged: this object is then dead for good (a return is a new object). */
  connected = true;

  constructor(
    readonly sim: UsbDeviceView,
    private readonly owner: Pick<FakeUsb<UsbBusView>, 'options' | 'revoke'>,
  ) {
    const id = sim.identity;
    this.vendorId = id.vendorId;
    this.productId = id.productId;
    this.deviceVersionMajor = (id.deviceVersion >> 8) & 0xff;
    this.deviceVersionMinor = (id.deviceVersion >> 4) & 0xf;
    this.deviceVersionSubminor = id.deviceVersion & 0xf;
    this.manufacturerName = id.manufacturer ?? null;
    this.productName = id.product ?? null;
    this.serialNumber = id.serialNumber ?? null;
    this.configurations = sim.configurations.map(
      (c) =>
        new FakeConfiguration(
          c.configurationValue,
          c.name ?? null,
          c.interfaces.map(
            (i) =>
              new FakeInterface(
                i.interfaceNumber,
                i.alternates.map(
                  (a) =>
                    new FakeAlternate(
                      a.alternateSetting,
                      a.interfaceClass,
                      a.interfaceSubclass,
                      a.interfaceProtocol,
                      a.name ?? null,
                    ),
                ),
              ),
          ),
        ),
    );
    // The OS configures a device when it enumerates (WebUSB §6.1: `configuration` is then set).
    this.configuration = this.configurations[0] ?? null;
    sim.configurationValue = this.configuration?.configurationValue ?? 0;
  }

  private alive(): void {
    if (!this.connected) throw domError('NotFoundError', 'The device was disconnected.');
  }

  private ready(): void {
    this.alive();
    if (!this.opened) throw domError('InvalidStateError', 'The device must be opened first.');
  }

  private iface(n: number): FakeInterface {
    if (!this.configuration)
      throw domError('InvalidStateError', 'The device must have a configuration selected.');
    const i = this.configuration.interfaces.find((x) => x.interfaceNumber === n);
    if (!i)
      throw domError(
        'NotFoundError',
        'The interface number provided is not supported by the device in its current configuration.',
      );
    return i;
  }

  /** Runs a device operation; an unplug in the middle rejects it with NotFoundError. */
  private async io<T>(work: () => Promise<T>): Promise<T> {
    const result = await work();
    this.alive();
    return result;
  }

  async open(): Promise<void> {
    this.alive();
    if (this.owner.options.windowsWithoutDriver) throw domError('SecurityError', 'Access denied.');
    this.opened = true;
  }

  async close(): Promise<void> {
    this.alive();
    for (const c of this.configurations) for (const i of c.interfaces) i.claimed = false;
    this.opened = false;
  }

  async forget(): Promise<void> {
    this.owner.revoke(this);
    if (this.opened) await this.close();
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.ready();
    const c = this.configurations.find((x) => x.configurationValue === configurationValue);
    if (!c)
      throw domError(
        'NotFoundError',
        'The configuration value provided is not supported by the device.',
      );
    if (this.configuration === c) return;
    const r = await this.io(() => this.sim.setConfiguration(configurationValue));
    if (r.status !== 'ok') throw domError('NetworkError', 'Unable to set device configuration.');
    for (const i of c.interfaces) {
      i.claimed = false;
      i.current = 0;
    }
    this.configuration = c;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.ready();
    const i = this.iface(interfaceNumber);
    if (i.claimed) return;
    if (this.owner.options.interfaceBusy)
      throw domError('NetworkError', 'Unable to claim interface.');
    i.claimed = true;
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.ready();
    this.iface(interfaceNumber).claimed = false;
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.ready();
    const i = this.iface(interfaceNumber);
    if (!i.claimed) throw domError('InvalidStateError', 'The interface must be claimed first.');
    if (!i.alternates.some((a) => a.alternateSetting === alternateSetting)) {
      throw domError(
        'NotFoundError',
        'The alternate setting provided is not supported by the device in its current configuration.',
      );
    }
    const r = await this.io(() => this.sim.setInterface(interfaceNumber, alternateSetting));
    if (r.status !== 'ok') throw domError('NetworkError', 'Unable to set device interface.');
    i.current = alternateSetting;
  }

  /** WebUSB §6.4 "check the validity of the control transfer parameters". */
  private checkRecipient(setup: UsbSetup): void {
    if (setup.recipient === 'interface') {
      const i = this.iface(setup.index & 0xff);
      if (!i.claimed)
        throw domError('InvalidStateError', 'The specified interface has not been claimed.');
    } else if (setup.recipient === 'endpoint') {
      throw domError(
        'NotFoundError',
        'The specified endpoint is not part of a claimed and selected alternate interface.',
      );
    }
  }

  async controlTransferIn(
    setup: USBControlTransferParameters,
    length: number,
  ): Promise<USBInTransferResult> {
    const s = checkSetup(setup);
    enforceRange('unsigned short', length, 0xffff);
    this.ready();
    this.checkRecipient(s);
    const r = await this.io(() => this.sim.controlIn(s, length));
    if (r.status === 'stall') return { status: 'stall', data: undefined };
    const data = new Uint8Array(r.data);
    if (data.length > length)
      return {
        status: 'babble',
        data: new DataView(data.buffer, 0, length),
      };
    return { status: 'ok', data: new DataView(data.buffer) };
  }

  async controlTransferOut(
    setup: USBControlTransferParameters,
    data?: BufferSource,
  ): Promise<USBOutTransferResult> {
    const s = checkSetup(setup);
    const bytes = toBytes(data);
    enforceRange('unsigned short', bytes.length, 0xffff);
    this.ready();
    this.checkRecipient(s);
    const r = await this.io(() => this.sim.controlOut(s, bytes));
    return {
      status: r.status,
      bytesWritten: r.status === 'ok' ? r.bytesWritten : 0,
    };
  }

  async clearHalt(_direction: USBDirection, _endpointNumber: number): Promise<void> {
    this.ready();
    throw domError(
      'NotFoundError',
      'The specified endpoint is not part of a claimed and selected alternate interface.',
    );
  }

  async transferIn(_endpointNumber: number, _length: number): Promise<USBInTransferResult> {
    this.ready();
    throw domError(
      'NotFoundError',
      'The specified endpoint is not part of a claimed and selected alternate interface.',
    );
  }

  async transferOut(_endpointNumber: number, _data: BufferSource): Promise<USBOutTransferResult> {
    this.ready();
    throw domError(
      'NotFoundError',
      'The specified endpoint is not part of a claimed and selected alternate interface.',
    );
  }

  async isochronousTransferIn(_e: number, _p: number[]): Promise<USBIsochronousInTransferResult> {
    this.ready();
    throw domError(
      'NotFoundError',
      'The specified endpoint is not part of a claimed and selected alternate interface.',
    );
  }

  async isochronousTransferOut(
    _e: number,
    _d: BufferSource,
    _p: number[],
  ): Promise<USBIsochronousOutTransferResult> {
    this.ready();
    throw domError(
      'NotFoundError',
      'The specified endpoint is not part of a claimed and selected alternate interface.',
    );
  }

  /** USB bus reset. A device that re-enumerates is gone afterwards: NotFoundError. */
  async reset(): Promise<void> {
    this.ready();
    await this.sim.busReset();
    if (!this.sim.attached || !this.connected)
      throw domError('NotFoundError', 'The device was disconnected.');
    for (const c of this.configurations) for (const i of c.interfaces) i.current = 0;
  }
}

/** The `connect`/`disconnect` event (WebUSB §5.2). */
class FakeUSBConnectionEvent extends Event {
  readonly device: USBDevice;
  constructor(type: string, init: { device: USBDevice }) {
    super(type);
    this.device = init.device;
  }
}

function matches(d: USBDevice, f: USBDeviceFilter): boolean {
  if (f.vendorId !== undefined && d.vendorId !== f.vendorId) return false;
  if (f.productId !== undefined && d.productId !== f.productId) return false;
  if (f.serialNumber !== undefined && d.serialNumber !== f.serialNumber) return false;
  const alts = d.configurations.flatMap((c) => c.interfaces.flatMap((i) => i.alternates));
  if (f.classCode !== undefined) {
    return alts.some(
      (a) =>
        a.interfaceClass === f.classCode &&
        (f.subclassCode === undefined || a.interfaceSubclass === f.subclassCode) &&
        (f.protocolCode === undefined || a.interfaceProtocol === f.protocolCode),
    );
  }
  return true;
}

/** WebUSB §5.1: a filter naming a product must name its vendor, and so on down the class codes. */
function checkFilter(f: USBDeviceFilter): void {
  if (f.productId !== undefined && f.vendorId === undefined)
    throw new TypeError('A filter containing a productId must also contain a vendorId.');
  if (f.subclassCode !== undefined && f.classCode === undefined)
    throw new TypeError('A filter containing a subclassCode must also contain a classCode.');
  if (f.protocolCode !== undefined && f.subclassCode === undefined)
    throw new TypeError('A filter containing a protocolCode must also contain a subclassCode.');
}

/** The fake `navigator.usb`. */
export class FakeUsb<B extends UsbBusView = SimUsbBus> extends EventTarget {
  onconnect: ((this: this, ev: USBConnectionEvent) => unknown) | null = null;
  ondisconnect: ((this: this, ev: USBConnectionEvent) => unknown) | null = null;
  readonly options: FakeUsbOptions<B>;
  private readonly attachedDevices = new Map<UsbDeviceView, FakeUSBDevice>();
  /** Permissions, keyed like Chromium's: vendor, product and serial number. */
  private readonly allowed = new Set<string>();

  constructor(options: FakeUsbOptions<B>) {
    super();
    this.options = options;
    for (const sim of options.bus.devices)
      this.attachedDevices.set(sim, new FakeUSBDevice(sim, this));
    if (options.grantAll)
      for (const d of this.attachedDevices.values()) this.allowed.add(FakeUsb.key(d));
    options.bus.onAttach((sim) => {
      const device = new FakeUSBDevice(sim, this);
      this.attachedDevices.set(sim, device);
      if (this.options.grantAll) this.allowed.add(FakeUsb.key(device));
      if (this.isAllowed(device)) this.fire('connect', device);
    });
    options.bus.onDetach((sim) => {
      const device = this.attachedDevices.get(sim);
      if (!device) return;
      this.attachedDevices.delete(sim);
      device.connected = false;
      device.opened = false;
      if (this.isAllowed(device)) this.fire('disconnect', device);
    });
  }

  /** This fake typed as `navigator.usb` (the typings' overloaded addEventListener aside, it is one). */
  get usb(): USB {
    return this as unknown as USB;
  }

  private static key(d: USBDevice): string {
    return `${d.vendorId}:${d.productId}:${d.serialNumber ?? ''}`;
  }

  private isAllowed(d: USBDevice): boolean {
    return this.allowed.has(FakeUsb.key(d));
  }

  /**
   * Grants the page access to a device identity, as if the user had chosen it in the browser's
   * list earlier (Chromium keys permissions on vendor id, product id and serial number).
   */
  allow(vendorId: number, productId: number, serialNumber?: string): void {
    this.allowed.add(`${vendorId}:${productId}:${serialNumber ?? ''}`);
  }

  /** Forgets the permission for a device (USBDevice.forget). */
  revoke(d: USBDevice): void {
    this.allowed.delete(FakeUsb.key(d));
  }

  private fire(type: 'connect' | 'disconnect', device: USBDevice): void {
    const event = new FakeUSBConnectionEvent(type, { device });
    const handler = type === 'connect' ? this.onconnect : this.ondisconnect;
    handler?.call(this, event);
    this.dispatchEvent(event);
  }

  async getDevices(): Promise<USBDevice[]> {
    return [...this.attachedDevices.values()].filter((d) => this.isAllowed(d));
  }

  async requestDevice(options?: USBDeviceRequestOptions): Promise<USBDevice> {
    if (!options || !Array.isArray(options.filters)) {
      throw new TypeError(
        "Failed to execute 'requestDevice' on 'USB': required member filters is undefined.",
      );
    }
    options.filters.forEach(checkFilter);
    (options.exclusionFilters ?? []).forEach(checkFilter);
    const candidates = [...this.attachedDevices.values()].filter(
      (d) =>
        (options.filters.length === 0 || options.filters.some((f) => matches(d, f))) &&
        !(options.exclusionFilters ?? []).some((f) => matches(d, f)),
    );
    const chosen = this.options.chooser ? this.options.chooser(candidates) : candidates[0];
    if (!chosen || !candidates.includes(chosen as FakeUSBDevice))
      throw domError('NotFoundError', 'No device selected.');
    this.allowed.add(FakeUsb.key(chosen));
    return chosen;
  }
}
