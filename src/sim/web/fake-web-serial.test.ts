import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../core/clock.ts';
import type { SerialSignals } from '../../transport/link.ts';
import { LINK_IDEAL, SerialWire, type DeviceSide, type SimSerialDevice } from '../serial-wire.ts';
import { FakeSerial, installFakeWebSerial, type FakeSerialPort } from './fake-web-serial.ts';

class Echo implements SimSerialDevice {
  side!: DeviceSide;
  signals: Required<SerialSignals>[] = [];
  attach(side: DeviceSide): void {
    this.side = side;
  }
  receive(data: Uint8Array): void {
    this.side.send(data);
  }
  signalsChanged(s: Readonly<Required<SerialSignals>>): void {
    this.signals.push({ ...s });
  }
}

function setup(options: { vid?: number; pid?: number } = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new Echo();
  const wire = new SerialWire({
    clock,
    device,
    link: LINK_IDEAL,
    usbVendorId: options.vid ?? 0x10c4,
    usbProductId: options.pid ?? 0xea60,
    seed: 1,
  });
  const serial = new FakeSerial();
  serial.addWire(wire);
  return { clock, device, wire, serial };
}

async function opened(options: { bufferSize?: number } = {}) {
  const s = setup();
  const port = (await s.serial.requestPort()) as FakeSerialPort;
  await port.open({ baudRate: 115200, ...options });
  return { ...s, port };
}

async function nameOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as Error).name;
  }
}

describe('FakeSerial.requestPort / getPorts', () => {
  it('grants the chosen port and lists it in getPorts()', async () => {
    const { serial } = setup();
    expect(await serial.getPorts()).toEqual([]);
    const port = await serial.requestPort({ filters: [{ usbVendorId: 0x10c4 }] });
    expect(port.getInfo()).toEqual({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    expect(await serial.getPorts()).toEqual([port]);
  });

  it('rejects with NotFoundError when the user cancels or no port matches', async () => {
    const { serial } = setup();
    expect(await nameOf(serial.requestPort({ filters: [{ usbVendorId: 0x303a }] }))).toBe(
      'NotFoundError',
    );
    serial.setChooser(() => undefined);
    expect(await nameOf(serial.requestPort())).toBe('NotFoundError');
  });

  it.each([
    ['product id without vendor id', [{ usbProductId: 1 }]],
    ['empty filter', [{}]],
    ['bluetooth and usb together', [{ usbVendorId: 1, bluetoothServiceClassId: 2 }]],
  ])('rejects a filter with %s (TypeError)', async (_name, filters) => {
    const { serial } = setup();
    expect(await nameOf(serial.requestPort({ filters }))).toBe('TypeError');
  });
});

describe('FakeSerialPort.open / close', () => {
  it('opening an open port is InvalidStateError', async () => {
    const { port } = await opened();
    expect(await nameOf(port.open({ baudRate: 115200 }))).toBe('InvalidStateError');
  });

  it.each([
    ['zero baud rate', { baudRate: 0 }],
    ['6 data bits', { baudRate: 9600, dataBits: 6 }],
    ['3 stop bits', { baudRate: 9600, stopBits: 3 }],
    ['bad parity', { baudRate: 9600, parity: 'mark' }],
    ['bad flow control', { baudRate: 9600, flowControl: 'xon' }],
    ['zero buffer', { baudRate: 9600, bufferSize: 0 }],
    ['huge buffer', { baudRate: 9600, bufferSize: 1 << 30 }],
  ])('open with %s is a TypeError', async (_name, options) => {
    const { serial } = setup();
    const port = await serial.requestPort();
    expect(await nameOf(port.open(options as SerialOptions))).toBe('TypeError');
  });

  it('closing a closed port is InvalidStateError; readable/writable are null when closed', async () => {
    const { port } = await opened();
    expect(port.readable).not.toBeNull();
    expect(port.writable).not.toBeNull();
    await port.close();
    expect(port.readable).toBeNull();
    expect(port.writable).toBeNull();
    expect(await nameOf(port.close())).toBe('InvalidStateError');
    expect(await nameOf(port.setSignals({ break: true }))).toBe('InvalidStateError');
  });

  it('close() while a reader holds the stream is a TypeError (Chromium)', async () => {
    const { port } = await opened();
    const reader = port.readable!.getReader();
    expect(await nameOf(port.close())).toBe('TypeError');
    await reader.cancel();
    reader.releaseLock();
    expect(await nameOf(port.close())).toBe('resolved');
  });

  it('can be opened again after close', async () => {
    const { port } = await opened();
    await port.close();
    await port.open({ baudRate: 9600 });
    expect(port.readable).not.toBeNull();
  });
});

describe('FakeSerialPort data and signals', () => {
  it('writes and reads bytes through the simulated device', async () => {
    const { port } = await opened();
    const writer = port.writable!.getWriter();
    await writer.write(new Uint8Array([1, 2, 3]));
    writer.releaseLock();
    const reader = port.readable!.getReader();
    const { value } = await reader.read();
    expect([...value!]).toEqual([1, 2, 3]);
    reader.releaseLock();
  });

  it('supports BYOB readers (a byte stream, as in Chromium)', async () => {
    const { port } = await opened();
    const writer = port.writable!.getWriter();
    await writer.write(new Uint8Array([9, 8]));
    const reader = port.readable!.getReader({ mode: 'byob' });
    const { value } = await reader.read(new Uint8Array(16));
    expect([...value!]).toEqual([9, 8]);
  });

  it('setSignals reaches the device; an empty dictionary is a TypeError', async () => {
    const { port, device } = await opened();
    await port.setSignals({ dataTerminalReady: false });
    expect(device.signals.at(-1)).toEqual({
      dataTerminalReady: false,
      requestToSend: true,
      break: false,
    });
    expect(await nameOf(port.setSignals({}))).toBe('TypeError');
    expect(await port.getSignals()).toEqual({
      dataCarrierDetect: false,
      clearToSend: false,
      ringIndicator: false,
      dataSetReady: false,
    });
  });

  it('a receive error is recoverable: the readable errors and a new one works', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const echo = new Echo();
    const wire = new SerialWire({
      clock,
      device: echo,
      link: { name: 'uart', kind: 'uart', latencyMs: 0, chunkSize: 64 },
      seed: 1,
    });
    const serial = new FakeSerial();
    serial.addWire(wire);
    const p = await serial.requestPort();
    await p.open({ baudRate: 115200, parity: 'even' });
    echo.side.setFormat({ baudRate: 115200, parity: 'none' });
    echo.side.send(new Uint8Array([0x03]));
    const first = p.readable!;
    const reader = first.getReader();
    const got: string[] = [];
    try {
      for (;;) await reader.read();
    } catch (e) {
      got.push((e as Error).name);
    }
    reader.releaseLock();
    expect(got[0]).toMatch(/^(ParityError|FramingError)$/);
    expect(p.readable).not.toBe(first);
    expect(p.readable).not.toBeNull();
    echo.side.setFormat({ parity: 'even' });
    echo.side.send(new Uint8Array([0x42]));
    const { value } = await p.readable!.getReader().read();
    expect([...value!]).toEqual([0x42]);
  });

  it('holds what the OS buffers (64 KiB), then reports BufferOverrunError', async () => {
    const { port, device, clock } = await opened({ bufferSize: 16 });
    const stream = port.readable!;
    device.side.send(new Uint8Array(64 * 1024 + 100));
    await sleep(clock, 1);
    const reader = stream.getReader();
    let total = 0;
    let error: string;
    try {
      for (;;) {
        const { value } = await reader.read();
        total += value!.length;
      }
    } catch (e) {
      error = (e as Error).name;
    }
    expect(error).toBe('BufferOverrunError');
    expect(total).toBe(64 * 1024);
  });
});

describe('device loss and reconnection', () => {
  it('unplugging errors reads with NetworkError, fires disconnect, and close() still works', async () => {
    const { port, wire, serial } = await opened();
    const events: string[] = [];
    port.addEventListener('disconnect', () => events.push('port'));
    serial.addEventListener('disconnect', (e) =>
      events.push(e.target === port ? 'serial:port' : 'serial:?'),
    );
    serial.ondisconnect = () => events.push('ondisconnect');
    const reader = port.readable!.getReader();
    const pending = reader.read();
    wire.unplug();
    expect(await nameOf(pending)).toBe('NetworkError');
    reader.releaseLock();
    expect(port.readable).toBeNull();
    expect(port.connected).toBe(false);
    expect(events).toEqual(['port', 'serial:port', 'ondisconnect']);
    expect(await serial.getPorts()).toEqual([]);
    await port.close();
    expect(await nameOf(port.open({ baudRate: 115200 }))).toBe('NetworkError');
  });

  it('plugging back fires connect with a new port object that getPorts() lists', async () => {
    const { port, wire, serial } = await opened();
    const connected: EventTarget[] = [];
    serial.addEventListener('connect', (e) => connected.push(e.target!));
    wire.unplug();
    wire.plug();
    expect(connected).toHaveLength(1);
    expect(connected[0]).not.toBe(port);
    expect(await serial.getPorts()).toEqual([connected[0]]);
  });

  it('forget() revokes the permission', async () => {
    const { port, serial } = await opened();
    await port.forget();
    expect(await serial.getPorts()).toEqual([]);
    expect(await nameOf(port.open({ baudRate: 115200 }))).toBe('InvalidStateError');
  });
});

describe('installFakeWebSerial', () => {
  it('replaces navigator.serial and restores it', async () => {
    const nav: { serial?: unknown } = {};
    const { wire } = setup();
    const { serial, uninstall } = installFakeWebSerial({
      navigator: nav,
      wires: [wire],
      permitted: [wire],
    });
    expect(nav.serial).toBe(serial);
    expect(await serial.getPorts()).toHaveLength(1);
    uninstall();
    expect('serial' in nav).toBe(false);
  });
});
