import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import { TimeoutError, TransportError } from '../core/errors.ts';
import {
  WebSerialPortHandle,
  WebSerialPortWatcher,
  mapSerialError,
  requestSerialPort,
} from './webserial.ts';

/** A minimal in-memory SerialPort following the Web Serial spec's stream behaviour. */
class FakeSerialPort extends EventTarget {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  readonly opens: SerialOptions[] = [];
  readonly written: number[] = [];
  readonly signals: SerialOutputSignals[] = [];
  closes = 0;
  openError: DOMException | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  constructor(
    private readonly ids: SerialPortInfo = { usbVendorId: 0x303a, usbProductId: 0x1001 },
  ) {
    super();
  }

  getInfo(): SerialPortInfo {
    return this.ids;
  }

  open(options: SerialOptions): Promise<void> {
    if (this.openError) return Promise.reject(this.openError);
    if (this.readable) {
      return Promise.reject(new DOMException('The port is already open.', 'InvalidStateError'));
    }
    this.opens.push(options);
    this.newReadable();
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.written.push(...chunk);
      },
    });
    return Promise.resolve();
  }

  private newReadable(): void {
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
    });
  }

  emit(...bytes: number[]): void {
    this.controller!.enqueue(Uint8Array.from(bytes));
  }

  /** Spec: a non-fatal error errors the stream and a new `readable` takes its place. */
  failRecoverable(name: string): void {
    const old = this.controller!;
    this.newReadable();
    old.error(new DOMException('lost bytes', name));
  }

  /** Spec: a fatal error (device gone) errors the stream; `readable` becomes null. */
  failFatal(): void {
    const old = this.controller!;
    this.readable = null;
    old.error(new DOMException('The device has been lost.', 'NetworkError'));
  }

  setSignals(s: SerialOutputSignals): Promise<void> {
    this.signals.push(s);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.readable?.locked) {
      return Promise.reject(new DOMException('locked', 'InvalidStateError'));
    }
    this.closes++;
    this.readable = null;
    this.writable = null;
    return Promise.resolve();
  }
}

const clock = () => new VirtualClock({ yieldToHost: setImmediate });
const asPort = (p: FakeSerialPort) => p as unknown as SerialPort;

async function openLink(port = new FakeSerialPort(), baudRate = 115200) {
  const handle = new WebSerialPortHandle(asPort(port), { clock: clock() });
  const link = await handle.open({ baudRate });
  return { port, handle, link };
}

describe('WebSerialLink', () => {
  it('opens with the baud rate and delivers received bytes through the ByteQueue', async () => {
    const { port, link, handle } = await openLink();
    expect(handle.info).toEqual({
      label: 'USB serial 303a:1001',
      usbVendorId: 0x303a,
      usbProductId: 0x1001,
    });
    expect(port.opens[0]).toMatchObject({ baudRate: 115200, parity: 'none' });
    port.emit(1, 2);
    port.emit(3);
    expect([...(await link.input.readExactly(3, { timeoutMs: 100 }))]).toEqual([1, 2, 3]);
  });

  it('writes and sets signals through the port', async () => {
    const { port, link } = await openLink();
    await link.write(Uint8Array.of(9, 8));
    await link.setSignals({ dataTerminalReady: true });
    await link.setSignals({ requestToSend: false, dataTerminalReady: false });
    expect(port.written).toEqual([9, 8]);
    expect(port.signals).toEqual([
      { dataTerminalReady: true },
      { dataTerminalReady: false, requestToSend: false },
    ]);
  });

  it('takes a new reader after a recoverable read error and keeps reading', async () => {
    for (const name of ['BufferOverrunError', 'BreakError', 'FramingError', 'ParityError']) {
      const { port, link } = await openLink();
      port.emit(1);
      expect([...(await link.input.readExactly(1, { timeoutMs: 100 }))]).toEqual([1]);
      port.failRecoverable(name);
      await new Promise((r) => setImmediate(r));
      port.emit(2);
      expect([...(await link.input.readExactly(1, { timeoutMs: 100 }))]).toEqual([2]);
      expect(link.isOpen).toBe(true);
    }
  });

  it('ends the input with transport.device-lost on a fatal error and tells listeners', async () => {
    const { port, link } = await openLink();
    const lost: TransportError[] = [];
    link.onLost((e) => lost.push(e));
    const pending = link.input.readExactly(1, { timeoutMs: 10_000 });
    port.failFatal();
    await expect(pending).rejects.toMatchObject({ code: 'transport.device-lost' });
    expect(lost).toHaveLength(1);
    expect(link.isOpen).toBe(false);
    await expect(link.write(Uint8Array.of(1))).rejects.toMatchObject({ code: 'transport.closed' });
  });

  it('treats the disconnect event as device lost', async () => {
    const { port, link } = await openLink();
    const pending = link.input.readExactly(1, { timeoutMs: 10_000 });
    port.dispatchEvent(new Event('disconnect'));
    await expect(pending).rejects.toBeInstanceOf(TransportError);
    await expect(pending).rejects.toMatchObject({ code: 'transport.device-lost' });
  });

  it('changes the baud rate by closing and reopening, then reads on', async () => {
    const { port, link } = await openLink();
    const lost: TransportError[] = [];
    link.onLost((e) => lost.push(e));
    port.emit(7);
    await new Promise((r) => setImmediate(r));
    await link.setBaudRate(921600);
    expect(link.baudRate).toBe(921600);
    expect(port.closes).toBe(1);
    expect(port.opens.map((o) => o.baudRate)).toEqual([115200, 921600]);
    expect(link.input.available).toBe(0); // bytes of the old speed are dropped
    port.emit(5);
    expect([...(await link.input.readExactly(1, { timeoutMs: 100 }))]).toEqual([5]);
    expect(lost).toHaveLength(0);
  });

  it('close while a read is pending: cancel, close the port, end the input; idempotent', async () => {
    const { port, link } = await openLink();
    const pending = link.input.readExactly(1, { timeoutMs: 10_000 });
    await link.close();
    await expect(pending).rejects.toMatchObject({ code: 'transport.closed' });
    expect(port.closes).toBe(1);
    expect(link.isOpen).toBe(false);
    await link.close();
    expect(port.closes).toBe(1);
  });

  it('maps open failures: already open → port-busy, NetworkError → open-failed', async () => {
    const { port } = await openLink();
    const second = new WebSerialPortHandle(asPort(port), { clock: clock() });
    await expect(second.open({ baudRate: 115200 })).rejects.toMatchObject({
      code: 'transport.port-busy',
    });
    const busy = new FakeSerialPort();
    busy.openError = new DOMException('Failed to open serial port.', 'NetworkError');
    const h = new WebSerialPortHandle(asPort(busy), { clock: clock() });
    const err = await h.open({ baudRate: 115200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'transport.open-failed' });
    expect((err as TransportError).hints.join(' ')).toMatch(/dialout/);
    expect((err as TransportError).cause).toBe(busy.openError);
  });
});

describe('mapSerialError', () => {
  it.each([
    ['NotFoundError', 'request', 'transport.no-port-selected'],
    ['NotFoundError', 'read', 'transport.device-lost'],
    ['InvalidStateError', 'open', 'transport.port-busy'],
    ['SecurityError', 'request', 'transport.unavailable'],
    ['NetworkError', 'open', 'transport.open-failed'],
    ['NetworkError', 'write', 'transport.device-lost'],
    ['UnknownError', 'read', 'transport.io'],
  ] as const)('%s during %s → %s', (name, action, code) => {
    const e = mapSerialError(new DOMException('x', name), action);
    expect(e).toBeInstanceOf(TransportError);
    expect(e.code).toBe(code);
    expect(e.hints.length).toBeGreaterThan(0);
  });
});

describe('requestSerialPort', () => {
  it('wraps the chosen port; a cancelled chooser is transport.no-port-selected', async () => {
    const port = new FakeSerialPort();
    const serial = {
      requestPort: () => Promise.resolve(asPort(port)),
    } as unknown as Serial;
    const h = await requestSerialPort({ clock: clock(), serial });
    expect(h.port).toBe(port);
    const cancelled = {
      requestPort: () =>
        Promise.reject(new DOMException('No port selected by the user.', 'NotFoundError')),
    } as unknown as Serial;
    await expect(requestSerialPort({ clock: clock(), serial: cancelled })).rejects.toMatchObject({
      code: 'transport.no-port-selected',
    });
  });

  it('reports a browser without Web Serial', async () => {
    await expect(requestSerialPort({ clock: clock() })).rejects.toMatchObject({
      code: 'transport.unavailable',
    });
  });
});

describe('WebSerialPortWatcher', () => {
  class FakeSerial extends EventTarget {
    ports: FakeSerialPort[] = [];
    getPorts(): Promise<SerialPort[]> {
      return Promise.resolve(this.ports.map(asPort));
    }
    plug(port: FakeSerialPort): void {
      this.ports.push(port);
      // Web Serial: `connect` fires at the SerialPort and bubbles to navigator.serial.
      const ev = new Event('connect');
      Object.defineProperty(ev, 'target', { value: port });
      this.dispatchEvent(ev);
    }
  }

  it('resolves when a port with the same USB ids connects', async () => {
    const c = clock();
    const serial = new FakeSerial();
    const old = new WebSerialPortHandle(asPort(new FakeSerialPort()), { clock: c });
    const watcher = new WebSerialPortWatcher({ clock: c, serial: serial as unknown as Serial });
    const back = watcher.waitForReturn(old, { timeoutMs: 5000 });
    serial.plug(new FakeSerialPort({ usbVendorId: 0x10c4, usbProductId: 0xea60 }));
    const same = new FakeSerialPort();
    serial.plug(same);
    expect(((await back) as WebSerialPortHandle).port).toBe(same);
  });

  it('finds a port that is already back, and times out when none comes', async () => {
    const c = clock();
    const serial = new FakeSerial();
    const present = new FakeSerialPort();
    serial.ports.push(present);
    const old = new WebSerialPortHandle(asPort(new FakeSerialPort()), { clock: c });
    const watcher = new WebSerialPortWatcher({ clock: c, serial: serial as unknown as Serial });
    expect(
      ((await watcher.waitForReturn(old, { timeoutMs: 100 })) as WebSerialPortHandle).port,
    ).toBe(present);
    expect(await watcher.getPorts()).toHaveLength(1);
    const empty = new WebSerialPortWatcher({
      clock: c,
      serial: new FakeSerial() as unknown as Serial,
    });
    await expect(empty.waitForReturn(old, { timeoutMs: 3000 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });
});
