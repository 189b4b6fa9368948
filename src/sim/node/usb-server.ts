/**
 * Serves the devices on a simulated USB bus over TCP (the protocol of ./usb-wire.ts), so that
 * native libusb programs reach them through tools/usb-bridge/libusb-bridge.c. Plays the part of
 * the host's USB stack: enumerates every device that attaches (GET_DESCRIPTOR, then
 * SET_CONFIGURATION as Linux's usbcore does), gives it a fresh address each time, and forwards
 * control transfers, SET_INTERFACE and bus resets to it. Each request takes the time the
 * device's link model gives it (src/sim/usb/usb-link-model.ts). Node only.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { sleep, type Clock } from '../../core/clock.ts';
import { DescriptorType, StandardRequest } from '../../transport/usb-descriptors.ts';
import type { UsbRecipient, UsbRequestType, UsbSetup } from '../../transport/usb.ts';
import type { SimUsbBus, SimUsbDevice } from '../usb/sim-usb-device.ts';
import {
  FrameReader,
  LibusbError,
  UsbWireOp,
  decodeControl,
  encodeAnswer,
  encodeDeviceList,
  type ControlRequest,
} from './usb-wire.ts';
import { listen, type RunningTcpServer } from './listen.ts';

export interface UsbServeOptions {
  bus: SimUsbBus;
  clock: Clock;
  host: string;
  /** 0 picks a free port. */
  port: number;
  log?: (line: string) => void;
  /** Called when a client connects and no device is on the bus (e.g. to power a board on). */
  onIdleClient?: () => void;
}

export type RunningUsbServer = RunningTcpServer;

/** One enumeration of a device: a new id and address each time it attaches. */
interface Session {
  id: number;
  address: number;
  device: SimUsbDevice;
  deviceDescriptor: Uint8Array;
  configDescriptor: Uint8Array;
}

/** USB 2.0 §7.1.7.5: the host drives reset for at least 10 ms (TDRST). */
const RESET_MS = 10;
/** Every device hangs on port 1 of its bus. */
const PORT = 1;

const TYPES: readonly (UsbRequestType | undefined)[] = ['standard', 'class', 'vendor', undefined];
const RECIPIENTS: readonly UsbRecipient[] = ['device', 'interface', 'endpoint', 'other'];

function setupOf(c: ControlRequest): UsbSetup | undefined {
  const requestType = TYPES[(c.requestType >> 5) & 3];
  const recipient = RECIPIENTS[c.requestType & 0x1f];
  if (!requestType || !recipient) return undefined;
  return { requestType, recipient, request: c.request, value: c.value, index: c.index };
}

function getDescriptorSetup(type: number): UsbSetup {
  return {
    requestType: 'standard',
    recipient: 'device',
    request: StandardRequest.getDescriptor,
    value: type << 8,
    index: 0,
  };
}

/** The host side of one simulated bus. */
class UsbHost {
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;
  private nextAddress = 1;
  private readonly unsubscribe: (() => void)[] = [];
  /** Enumerations under way; a device list waits for them. */
  private readonly enumerating = new Set<Promise<void>>();

  constructor(
    bus: SimUsbBus,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {
    this.unsubscribe.push(
      bus.onAttach((d) => this.track(d)),
      bus.onDetach((d) => {
        for (const [id, s] of this.sessions) {
          if (s.device !== d) continue;
          this.sessions.delete(id);
          this.log(`detached ${this.describe(s)}`);
        }
      }),
    );
    for (const d of bus.devices) this.track(d);
  }

  private track(device: SimUsbDevice): void {
    const p = this.enumerate(device).catch((err: unknown) =>
      this.log(`enumeration failed: ${(err as Error).message}`),
    );
    this.enumerating.add(p);
    void p.finally(() => this.enumerating.delete(p));
  }

  dispose(): void {
    for (const off of this.unsubscribe) off();
  }

  private describe(s: Session): string {
    const id = s.device.identity;
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    return `${hex(id.vendorId)}:${hex(id.productId)} at address ${s.address}`;
  }

  /**
   * What Linux's usbcore does when a device appears (drivers/usb/core/hub.c `usb_new_device`,
   * generic.c `usb_choose_configuration`): read the device and configuration descriptors, then
   * select the configuration.
   */
  private async enumerate(device: SimUsbDevice): Promise<void> {
    const dev = await device.controlIn(getDescriptorSetup(DescriptorType.device), 18);
    const head = await device.controlIn(getDescriptorSetup(DescriptorType.configuration), 9);
    const total = head.data.length >= 4 ? head.data[2]! | (head.data[3]! << 8) : 0;
    const cfg = await device.controlIn(getDescriptorSetup(DescriptorType.configuration), total);
    if (dev.status !== 'ok' || cfg.status !== 'ok' || !device.attached) return;
    const value = cfg.data[5] ?? 1;
    if ((await device.setConfiguration(value)).status !== 'ok' || !device.attached) return;
    // Detached and attached again while this ran: the later enumeration is the one that counts.
    if ([...this.sessions.values()].some((s) => s.device === device)) return;
    const session: Session = {
      id: this.nextId++,
      address: this.nextAddress,
      device,
      deviceDescriptor: dev.data,
      configDescriptor: cfg.data,
    };
    this.nextAddress = (this.nextAddress % 127) + 1;
    this.sessions.set(session.id, session);
    this.log(`attached ${this.describe(session)}`);
  }

  /** Answers one request. */
  async handle(op: number, body: Uint8Array): Promise<Uint8Array> {
    if (op === UsbWireOp.list) {
      await Promise.all([...this.enumerating]);
      const list = [...this.sessions.values()].map((s) => ({ ...s, port: PORT }));
      return encodeAnswer(list.length, encodeDeviceList(list));
    }
    if (body.length < 4) return encodeAnswer(LibusbError.invalidParam);
    const id = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
    const session = this.sessions.get(id);
    if (!session || !session.device.attached) return encodeAnswer(LibusbError.noDevice);
    const device = session.device;
    switch (op) {
      case UsbWireOp.open:
      case UsbWireOp.close:
        return encodeAnswer(0);
      case UsbWireOp.control:
        return this.control(session, decodeControl(body));
      case UsbWireOp.getConfiguration:
        return encodeAnswer(device.configurationValue);
      case UsbWireOp.setConfiguration: {
        const value = new DataView(body.buffer, body.byteOffset + 4, 4).getInt32(0, true);
        const r = await device.setConfiguration(Math.max(0, value));
        return encodeAnswer(r.status === 'ok' ? 0 : LibusbError.pipe);
      }
      case UsbWireOp.claim:
      case UsbWireOp.release:
        return encodeAnswer(this.hasInterface(device, body[4] ?? 0) ? 0 : LibusbError.notFound);
      case UsbWireOp.setAlt: {
        if (!this.hasInterface(device, body[4] ?? 0)) return encodeAnswer(LibusbError.notFound);
        const r = await device.setInterface(body[4] ?? 0, body[5] ?? 0);
        return encodeAnswer(r.status === 'ok' ? 0 : LibusbError.pipe);
      }
      case UsbWireOp.reset:
        return encodeAnswer(await this.reset(session));
      default:
        return encodeAnswer(LibusbError.notSupported);
    }
  }

  private hasInterface(device: SimUsbDevice, interfaceNumber: number): boolean {
    return device.configurations.some((c) =>
      c.interfaces.some((i) => i.interfaceNumber === interfaceNumber),
    );
  }

  /**
   * libusb_reset_device: a bus reset, then the configuration and alternate settings restored
   * (Linux usb_reset_device). A device that left the bus, or came back as another one, is
   * LIBUSB_ERROR_NOT_FOUND, as libusb reports a reset that needs re-enumeration.
   */
  private async reset(session: Session): Promise<number> {
    const device = session.device;
    const alternates = device.configurations.flatMap((c) =>
      c.interfaces.map((i) => [i.interfaceNumber, device.alternateOf(i.interfaceNumber)] as const),
    );
    const configuration = device.configurationValue;
    device.busReset();
    await sleep(this.clock, RESET_MS);
    if (!device.attached || !this.sessions.has(session.id)) return LibusbError.notFound;
    if (configuration !== 0) await device.setConfiguration(configuration);
    for (const [i, alt] of alternates) if (alt !== 0) await device.setInterface(i, alt);
    return device.attached ? 0 : LibusbError.notFound;
  }

  private async control(session: Session, c: ControlRequest): Promise<Uint8Array> {
    const device = session.device;
    const setup = setupOf(c);
    if (!setup) return encodeAnswer(LibusbError.pipe);
    const standardOut = setup.requestType === 'standard' && (c.requestType & 0x80) === 0;
    if (standardOut && setup.recipient === 'device') {
      if (c.request !== StandardRequest.setConfiguration) return encodeAnswer(LibusbError.pipe);
      const r = await device.setConfiguration(c.value & 0xff);
      return encodeAnswer(r.status === 'ok' ? 0 : LibusbError.pipe);
    }
    if (standardOut && setup.recipient === 'interface') {
      if (c.request !== StandardRequest.setInterface) return encodeAnswer(LibusbError.pipe);
      const r = await device.setInterface(c.index & 0xff, c.value & 0xff);
      return encodeAnswer(r.status === 'ok' ? 0 : LibusbError.pipe);
    }
    if ((c.requestType & 0x80) !== 0) {
      const r = await device.controlIn(setup, c.length);
      if (!device.attached) return encodeAnswer(LibusbError.noDevice);
      if (r.status === 'stall') return encodeAnswer(LibusbError.pipe);
      if (r.status === 'babble' || r.data.length > c.length)
        return encodeAnswer(LibusbError.overflow);
      return encodeAnswer(r.data.length, r.data);
    }
    const r = await device.controlOut(setup, c.data);
    if (!device.attached) return encodeAnswer(LibusbError.noDevice);
    return encodeAnswer(r.status === 'ok' ? r.bytesWritten : LibusbError.pipe);
  }
}

/** Starts serving `bus`; resolves once it listens. Any number of clients, each served in order. */
export function serveUsbOnTcp(options: UsbServeOptions): Promise<RunningUsbServer> {
  const log = options.log ?? (() => undefined);
  const host = new UsbHost(options.bus, options.clock, log);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    if (options.bus.devices.length === 0) options.onIdleClient?.();
    const reader = new FrameReader();
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        log(`closing a client: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const f of frames) {
        queue = queue
          .then(() => host.handle(f.op, f.body))
          .catch((err: unknown) => {
            log(`request ${f.op} failed: ${(err as Error).message}`);
            return encodeAnswer(LibusbError.io);
          })
          .then((answer) => {
            if (!socket.destroyed) socket.write(answer);
          });
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  return listen(server, options, () => {
    host.dispose();
    for (const s of sockets) s.destroy();
  });
}
