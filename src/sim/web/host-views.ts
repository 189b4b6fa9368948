/**
 * What the fake Web Serial and WebUSB (fake-web-serial.ts, fake-webusb.ts) need of a simulated
 * board: the host's side of its wire or USB device, no more. A board in this page
 * (`SerialWire`, `SimUsbDevice` on a `SimUsbBus`) has it; so does a board in a Web Worker, seen
 * through its proxies (remote-serial.ts, remote-usb.ts), whose calls cross to the worker and
 * may therefore finish later.
 */
import type { PortInfo } from '../../transport/link.ts';
import type { UsbConfigurationInfo, UsbSetup } from '../../transport/usb.ts';
import type { HostConnection, HostSink, SimOpenOptions } from '../sim-link.ts';
import type { SimDeviceIdentity, SimInResult, SimOutResult } from '../usb/sim-usb-device.ts';

/** One USB enumeration of a serial port, as the host sees it (`SimSerialPort`). */
export interface HostPortView {
  readonly info: PortInfo;
  /** True while this enumeration is the one connected. */
  readonly present: boolean;
  /** The board behind the port (the same across re-enumerations). */
  readonly owner: HostWireView;
  /** @throws {TransportError} 'transport.device-lost' | 'transport.port-busy' (or rejects so). */
  connect(options: SimOpenOptions, sink: HostSink): HostConnection | Promise<HostConnection>;
}

/** A port appearing or going away. */
export interface HostPortChange {
  type: 'connect' | 'disconnect';
  port: HostPortView;
}

/** A board's serial wire, as the host sees it (`SerialWire`). */
export interface HostWireView {
  /** The port the host can see now; undefined while unplugged or re-enumerating. */
  readonly port: HostPortView | undefined;
  onPortChange(listener: (change: HostPortChange) => void): () => void;
}

/** A USB device on the bus, as the host sees it (`SimUsbDevice`). */
export interface UsbDeviceView {
  readonly identity: SimDeviceIdentity;
  readonly configurations: UsbConfigurationInfo[];
  /** Whether it is on the bus. */
  readonly attached: boolean;
  /** Set by the host's USB stack when it configures the device at enumeration. */
  configurationValue: number;
  setConfiguration(value: number): Promise<SimOutResult>;
  setInterface(interfaceNumber: number, alternateSetting: number): Promise<SimOutResult>;
  controlIn(setup: UsbSetup, length: number): Promise<SimInResult>;
  controlOut(setup: UsbSetup, data: Uint8Array): Promise<SimOutResult>;
  /** A USB bus reset; a device may leave the bus because of it. */
  busReset(): void | Promise<void>;
}

/** The USB ports of the host (`SimUsbBus`). */
export interface UsbBusView<D extends UsbDeviceView = UsbDeviceView> {
  readonly devices: readonly D[];
  onAttach(listener: (device: D) => void): () => void;
  onDetach(listener: (device: D) => void): () => void;
}
