/**
 * The device side of a simulated USB device and the bus it hangs on. Pure: the fake
 * `navigator.usb` (src/sim/web/fake-webusb.ts) and `sim-usb.ts` present these to host code.
 *
 * A `SimUsbDevice` answers control transfers like firmware does: standard requests on the
 * device (GET_DESCRIPTOR, USB 2.0 §9.4.3) are handled here, class requests by the subclass.
 * A STALL is an answer ('stall'), not an exception.
 */
import type { Clock } from '../../core/clock.ts';
import {
  DescriptorType,
  LANGID_EN_US,
  StandardRequest,
  encodeConfigurationDescriptor,
  encodeLanguageIds,
  encodeStringDescriptor,
  type ConfigurationSpec,
} from '../../transport/usb-descriptors.ts';
import type { UsbConfigurationInfo, UsbSetup, UsbTransferStatus } from '../../transport/usb.ts';
import { UsbLinkModel, type UsbLinkModelOptions } from './usb-link-model.ts';

export interface SimInResult {
  status: UsbTransferStatus;
  data: Uint8Array;
}

export interface SimOutResult {
  status: UsbTransferStatus;
  bytesWritten: number;
}

/** What the device descriptor and its strings say (USB 2.0 §9.6.1). */
export interface SimDeviceIdentity {
  vendorId: number;
  productId: number;
  /** bcdDevice. */
  deviceVersion: number;
  /** bcdUSB, default 0x0200. */
  usbVersion?: number;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
}

/**
 * Wraps every control transfer of a device (fault injection, usb-faults.ts): gets the request
 * and a function that lets the device answer it, and returns what the host sees — the answer,
 * a changed one, or a thrown TransportError for a transfer error.
 */
export interface UsbFaultHook {
  controlIn(
    setup: UsbSetup,
    length: number,
    answer: () => Promise<SimInResult>,
  ): Promise<SimInResult>;
  controlOut(
    setup: UsbSetup,
    data: Uint8Array,
    answer: () => Promise<SimOutResult>,
  ): Promise<SimOutResult>;
}

export const STALL_IN: SimInResult = { status: 'stall', data: new Uint8Array(0) };
export const STALL_OUT: SimOutResult = { status: 'stall', bytesWritten: 0 };

/** Base of every simulated device: descriptors, strings, link timing, attach state. */
export abstract class SimUsbDevice {
  readonly identity: SimDeviceIdentity;
  readonly clock: Clock;
  readonly link: UsbLinkModel;
  /** Set by the bus. */
  attached = false;
  /** Faults injected into control transfers; none by default. */
  faults: UsbFaultHook | undefined;
  private readonly strings: string[] = [];
  private readonly configSpec: ConfigurationSpec;
  /** Active configuration value, 0 when unconfigured (USB 2.0 §9.1.1.5). */
  configurationValue = 0;
  private readonly alternates = new Map<number, number>();

  protected constructor(options: {
    identity: SimDeviceIdentity;
    clock: Clock;
    link?: UsbLinkModelOptions;
    /** Interfaces; `stringIndex` values refer to `strings` via `stringIndexOf`. */
    configuration: (device: SimUsbDevice) => ConfigurationSpec;
  }) {
    this.identity = options.identity;
    this.clock = options.clock;
    this.link = new UsbLinkModel(options.clock, options.link);
    this.configSpec = options.configuration(this);
  }

  /** Registers a string and returns its descriptor index (1-based). */
  stringIndexOf(text: string | undefined): number {
    if (text === undefined) return 0;
    const i = this.strings.indexOf(text);
    if (i >= 0) return i + 1;
    this.strings.push(text);
    return this.strings.length;
  }

  /** The string for descriptor index `i`, if any. */
  stringAt(i: number): string | undefined {
    return i > 0 ? this.strings[i - 1] : undefined;
  }

  /** The configuration in WebUSB's object model. */
  get configurations(): UsbConfigurationInfo[] {
    const spec = this.configSpec;
    const ifaces = new Map<number, UsbConfigurationInfo['interfaces'][number]>();
    for (const i of spec.interfaces) {
      const name = this.stringAt(i.stringIndex);
      const alt = {
        alternateSetting: i.alternateSetting,
        interfaceClass: i.interfaceClass,
        interfaceSubclass: i.interfaceSubclass,
        interfaceProtocol: i.interfaceProtocol,
        ...(name !== undefined ? { name } : {}),
      };
      const entry = ifaces.get(i.interfaceNumber);
      if (entry) (entry.alternates as (typeof alt)[]).push(alt);
      else ifaces.set(i.interfaceNumber, { interfaceNumber: i.interfaceNumber, alternates: [alt] });
    }
    return [{ configurationValue: spec.configurationValue, interfaces: [...ifaces.values()] }];
  }

  /** The current alternate setting of an interface. */
  alternateOf(interfaceNumber: number): number {
    return this.alternates.get(interfaceNumber) ?? 0;
  }

  /** SET_CONFIGURATION (USB 2.0 §9.4.7). */
  async setConfiguration(value: number): Promise<SimOutResult> {
    await this.link.transfer(0);
    if (value !== 0 && value !== this.configSpec.configurationValue) return STALL_OUT;
    this.configurationValue = value;
    this.alternates.clear();
    return { status: 'ok', bytesWritten: 0 };
  }

  /** SET_INTERFACE (USB 2.0 §9.4.10). */
  async setInterface(interfaceNumber: number, alternateSetting: number): Promise<SimOutResult> {
    await this.link.transfer(0);
    const ok = this.configSpec.interfaces.some(
      (i) => i.interfaceNumber === interfaceNumber && i.alternateSetting === alternateSetting,
    );
    if (!ok || this.configurationValue === 0) return STALL_OUT;
    this.alternates.set(interfaceNumber, alternateSetting);
    this.onAlternateChanged(interfaceNumber, alternateSetting);
    return { status: 'ok', bytesWritten: 0 };
  }

  /** A control IN transfer. */
  controlIn(setup: UsbSetup, length: number): Promise<SimInResult> {
    const answer = (): Promise<SimInResult> => this.answerIn(setup, length);
    return this.faults ? this.faults.controlIn(setup, length, answer) : answer();
  }

  /** A control OUT transfer. */
  controlOut(setup: UsbSetup, data: Uint8Array): Promise<SimOutResult> {
    const answer = (): Promise<SimOutResult> => this.answerOut(setup, data);
    return this.faults ? this.faults.controlOut(setup, data, answer) : answer();
  }

  private async answerIn(setup: UsbSetup, length: number): Promise<SimInResult> {
    let result: SimInResult;
    if (
      setup.requestType === 'standard' &&
      setup.recipient === 'device' &&
      setup.request === StandardRequest.getDescriptor
    ) {
      result = this.getDescriptor(setup.value >> 8, setup.value & 0xff, setup.index, length);
    } else if (
      setup.requestType === 'standard' &&
      setup.request === StandardRequest.getConfiguration &&
      setup.recipient === 'device'
    ) {
      result = {
        status: 'ok',
        data: new Uint8Array([this.configurationValue]).subarray(0, length),
      };
    } else if (setup.requestType === 'class') {
      result = this.classIn(setup, length);
    } else {
      result = STALL_IN;
    }
    await this.link.transfer(result.data.length);
    return result;
  }

  private async answerOut(setup: UsbSetup, data: Uint8Array): Promise<SimOutResult> {
    await this.link.transfer(data.length);
    if (setup.requestType === 'class') return this.classOut(setup, data);
    return STALL_OUT;
  }

  /** The host drove a USB bus reset (USB 2.0 §7.1.7.5). */
  busReset(): void {
    this.configurationValue = 0;
    this.alternates.clear();
    this.onBusReset();
  }

  private getDescriptor(
    type: number,
    index: number,
    languageId: number,
    length: number,
  ): SimInResult {
    let bytes: Uint8Array | undefined;
    if (type === DescriptorType.device && index === 0) bytes = this.deviceDescriptor();
    else if (type === DescriptorType.configuration && index === 0)
      bytes = encodeConfigurationDescriptor(this.configSpec);
    else if (type === DescriptorType.string && index === 0)
      bytes = encodeLanguageIds([LANGID_EN_US]);
    else if (type === DescriptorType.string && languageId === LANGID_EN_US) {
      const s = this.stringAt(index);
      if (s !== undefined) bytes = encodeStringDescriptor(s);
    }
    if (!bytes) return STALL_IN;
    return { status: 'ok', data: bytes.slice(0, Math.min(length, bytes.length)) };
  }

  private deviceDescriptor(): Uint8Array {
    const id = this.identity;
    const usb = id.usbVersion ?? 0x0200;
    return new Uint8Array([
      18,
      DescriptorType.device,
      usb & 0xff,
      usb >> 8,
      0,
      0,
      0,
      this.link.packetSize,
      id.vendorId & 0xff,
      id.vendorId >> 8,
      id.productId & 0xff,
      id.productId >> 8,
      id.deviceVersion & 0xff,
      id.deviceVersion >> 8,
      this.stringIndexOf(id.manufacturer),
      this.stringIndexOf(id.product),
      this.stringIndexOf(id.serialNumber),
      1,
    ]);
  }

  protected abstract classIn(setup: UsbSetup, length: number): SimInResult;
  protected abstract classOut(setup: UsbSetup, data: Uint8Array): SimOutResult;
  protected onBusReset(): void {}
  protected onAlternateChanged(_interfaceNumber: number, _alternateSetting: number): void {}
}

export type BusListener = (device: SimUsbDevice) => void;

/** The USB ports of a simulated host: devices attach and detach, listeners hear it. */
export class SimUsbBus {
  private readonly present: SimUsbDevice[] = [];
  private readonly attachListeners = new Set<BusListener>();
  private readonly detachListeners = new Set<BusListener>();

  get devices(): readonly SimUsbDevice[] {
    return this.present;
  }

  attach(device: SimUsbDevice): void {
    if (this.present.includes(device)) return;
    device.attached = true;
    this.present.push(device);
    for (const l of [...this.attachListeners]) l(device);
  }

  detach(device: SimUsbDevice): void {
    const i = this.present.indexOf(device);
    if (i < 0) return;
    this.present.splice(i, 1);
    device.attached = false;
    for (const l of [...this.detachListeners]) l(device);
  }

  onAttach(listener: BusListener): () => void {
    this.attachListeners.add(listener);
    return () => this.attachListeners.delete(listener);
  }

  onDetach(listener: BusListener): () => void {
    this.detachListeners.add(listener);
    return () => this.detachListeners.delete(listener);
  }
}
