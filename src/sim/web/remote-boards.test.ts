import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../core/clock.ts';
import type { SerialSignals } from '../../transport/link.ts';
import { DfuseSimDevice } from '../dfu/dfuse-sim.ts';
import { LINK_CP2102, SerialWire, type DeviceSide, type SimSerialDevice } from '../serial-wire.ts';
import { SimUsbBus } from '../usb/sim-usb-device.ts';
import { BoardHost } from './board-host.ts';
import type { Endpoint, FromBoards, ToBoards } from './board-messages.ts';
import { FakeSerial, type FakeSerialPort } from './fake-web-serial.ts';
import { FakeUsb } from './fake-webusb.ts';
import { RemoteBoards } from './remote-boards.ts';

/** Answers every byte with itself plus one; records the host's output lines. */
class PlusOne implements SimSerialDevice {
  side!: DeviceSide;
  signals: Required<SerialSignals>[] = [];
  attach(side: DeviceSide): void {
    this.side = side;
  }
  receive(data: Uint8Array): void {
    this.side.send(data.map((b) => (b + 1) & 0xff));
  }
  signalsChanged(s: Readonly<Required<SerialSignals>>): void {
    this.signals.push({ ...s });
  }
}

/**
 * Two ends of a channel that deliver like postMessage (a structured clone, transferred buffers
 * detached on the sender's side), one message at a time in order, as microtasks: no real time.
 */
function channel(): [Endpoint<FromBoards, ToBoards>, Endpoint<ToBoards, FromBoards>] {
  interface Pipe {
    listeners: Set<(event: MessageEvent) => void>;
    peer?: Pipe;
    postMessage(message: unknown, transfer: Transferable[]): void;
    addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
    removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  }
  const make = (): Pipe => {
    const pipe: Pipe = {
      listeners: new Set(),
      postMessage(message, transfer) {
        const copy: unknown = structuredClone(message, { transfer });
        queueMicrotask(() => {
          for (const l of pipe.peer!.listeners) l({ data: copy } as MessageEvent);
        });
      },
      addEventListener: (_type, l) => void pipe.listeners.add(l),
      removeEventListener: (_type, l) => void pipe.listeners.delete(l),
    };
    return pipe;
  };
  const page = make();
  const worker = make();
  page.peer = worker;
  worker.peer = page;
  return [page, worker];
}

/** A board served in-page or through a board host, and the fake `navigator.serial` over it. */
function serialBench(where: 'page' | 'worker') {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new PlusOne();
  const wire = new SerialWire({
    clock,
    device,
    link: LINK_CP2102,
    usbVendorId: 0x303a,
    usbProductId: 0x1001,
    seed: 3,
    unplugged: true,
  });
  const serial = new FakeSerial();
  if (where === 'page') serial.addWire(wire, { permitted: true });
  else {
    const [page, worker] = channel();
    new BoardHost(worker).addWire(wire, { permitted: true });
    new RemoteBoards(page, { serial });
  }
  return { clock, device, wire, serial };
}

/** What a page sees of a board through Web Serial: events, bytes, errors, in order. */
async function serialScenario(where: 'page' | 'worker'): Promise<string[]> {
  const { clock, device, wire, serial } = serialBench(where);
  const seen: string[] = [];
  serial.addEventListener('connect', (e) =>
    seen.push(`connect ${JSON.stringify((e.target as SerialPort).getInfo())}`),
  );
  serial.addEventListener('disconnect', () => seen.push('disconnect'));
  wire.plug();
  await sleep(clock, 1);
  const [port] = (await serial.getPorts()) as FakeSerialPort[];
  await port!.open({ baudRate: 115200 });
  seen.push(`signals on open ${JSON.stringify(device.signals.at(-1))}`);
  await port!.setSignals({ dataTerminalReady: false });
  const writer = port!.writable!.getWriter();
  const sent = new Uint8Array([1, 2, 3, 0xff]);
  const written = writer.write(sent);
  const t0 = clock.now();
  await written;
  // 4 characters of 10 bits at 115200 baud leave the host's transmitter in 0.347 ms.
  seen.push(`written after ${(clock.now() - t0).toFixed(3)} ms; caller keeps ${sent.length} bytes`);
  seen.push(`signals ${JSON.stringify(device.signals.at(-1))}`);
  const reader = port!.readable!.getReader();
  const got: number[] = [];
  while (got.length < 4) got.push(...(await reader.read()).value!);
  seen.push(`read ${got.join(',')}`);
  const pending = reader.read();
  wire.unplug();
  try {
    await pending;
    seen.push('read after unplug resolved');
  } catch (e) {
    seen.push(`read after unplug: ${(e as Error).name}`);
  }
  seen.push(`connected ${port!.connected}`);
  writer.releaseLock();
  reader.releaseLock();
  wire.plug();
  await sleep(clock, 1);
  const [again] = await serial.getPorts();
  seen.push(`new port object ${again !== port}`);
  return seen;
}

describe('boards in a worker behind the fake Web Serial', () => {
  it('look to the page exactly like boards in the page', async () => {
    const inPage = await serialScenario('page');
    const remote = await serialScenario('worker');
    expect(remote).toEqual(inPage);
    expect(remote).toEqual([
      'connect {"usbVendorId":12346,"usbProductId":4097}',
      'signals on open {"dataTerminalReady":true,"requestToSend":true,"break":false}',
      'written after 0.347 ms; caller keeps 4 bytes',
      'signals {"dataTerminalReady":false,"requestToSend":true,"break":false}',
      'read 2,3,4,0',
      'disconnect',
      'read after unplug: NetworkError',
      'connected false',
      'connect {"usbVendorId":12346,"usbProductId":4097}',
      'new port object true',
    ]);
  });

  it('a port already open elsewhere fails to open with NetworkError, the board’s error as cause', async () => {
    const { clock, wire, serial } = serialBench('worker');
    wire.plug();
    await sleep(clock, 1);
    const taken = await wire.port!.open({ baudRate: 115200 });
    const [port] = await serial.getPorts();
    const error = await port!.open({ baudRate: 115200 }).catch((e: unknown) => e as DOMException);
    expect(error).toMatchObject({ name: 'NetworkError' });
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('transport.port-busy');
    await taken.close();
    await port!.open({ baudRate: 115200 });
    expect(port!.readable).not.toBeNull();
  });
});

describe('USB devices in a worker behind the fake WebUSB', () => {
  async function usbScenario(where: 'page' | 'worker'): Promise<string[]> {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const bus = new SimUsbBus();
    let usb: FakeUsb<SimUsbBus> | FakeUsb<RemoteBoards['bus']>;
    if (where === 'page') usb = new FakeUsb({ bus });
    else {
      const [page, worker] = channel();
      new BoardHost(worker).serveBus(bus);
      const boards = new RemoteBoards(page, { serial: new FakeSerial() });
      usb = new FakeUsb({ bus: boards.bus });
    }
    const seen: string[] = [];
    usb.addEventListener('disconnect', () => seen.push('disconnect'));
    const device = new DfuseSimDevice({ clock, bus, serialNumber: '336F38673231' });
    bus.attach(device);
    await sleep(clock, 1);
    const d = await usb.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    seen.push(`${d.vendorId.toString(16)}:${d.productId.toString(16)} ${d.serialNumber}`);
    await d.open();
    await d.claimInterface(0);
    // DFU_GETSTATUS (DFU 1.1 §6.1.2): six bytes, dfuIDLE (2).
    const status = await d.controlTransferIn(
      { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 },
      6,
    );
    seen.push(`${status.status} ${[...new Uint8Array(status.data!.buffer)].join(',')}`);
    bus.detach(device);
    await sleep(clock, 1);
    seen.push(`connected ${(d as { connected?: boolean }).connected}`);
    const gone = await d
      .controlTransferIn(
        { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 },
        6,
      )
      .then(
        () => 'resolved',
        (e: unknown) => (e as Error).name,
      );
    seen.push(`after unplug: ${gone}`);
    return seen;
  }

  it('answer transfers and leave the bus as devices in the page do', async () => {
    const inPage = await usbScenario('page');
    const remote = await usbScenario('worker');
    expect(remote).toEqual(inPage);
    expect(remote).toEqual([
      '483:df11 336F38673231',
      'ok 0,0,0,0,2,0',
      'disconnect',
      'connected false',
      'after unplug: NotFoundError',
    ]);
  });
});
