import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../core/clock.ts';
import type { TransportError } from '../core/errors.ts';
import type { SerialSignals } from '../transport/link.ts';
import type { SimSerialLink } from './sim-link.ts';
import {
  LINK_IDEAL,
  LINK_USB_CDC,
  SerialWire,
  type DeviceSide,
  type LinkModel,
  type PortChange,
  type SimSerialDevice,
} from './serial-wire.ts';

const UART_NO_LATENCY: LinkModel = { name: 'test', kind: 'uart', latencyMs: 0, chunkSize: 64 };

/** Records what arrives and when; echoes if asked. */
class Recorder implements SimSerialDevice {
  side!: DeviceSide;
  received: { at: number; data: Uint8Array }[] = [];
  signals: Required<SerialSignals>[] = [];
  resets = 0;
  power: string[] = [];
  constructor(private readonly echo = false) {}
  attach(side: DeviceSide): void {
    this.side = side;
  }
  receive(data: Uint8Array): void {
    this.received.push({ at: this.side.clock.now(), data });
    if (this.echo) this.side.send(data);
  }
  signalsChanged(s: Readonly<Required<SerialSignals>>): void {
    this.signals.push({ ...s });
  }
  reset(): void {
    this.resets++;
  }
  powerOn(): void {
    this.power.push('on');
  }
  powerOff(): void {
    this.power.push('off');
  }
  bytes(): number[] {
    return this.received.flatMap((r) => [...r.data]);
  }
}

function setup(options: { link?: LinkModel; echo?: boolean; seed?: number } = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new Recorder(options.echo);
  const wire = new SerialWire({
    clock,
    device,
    link: options.link ?? UART_NO_LATENCY,
    seed: options.seed ?? 1234,
    usbVendorId: 0x10c4,
    usbProductId: 0xea60,
  });
  return { clock, device, wire };
}

/** Lets deliveries due now happen (a write resolves when its last byte leaves the host). */
const settle = (clock: VirtualClock) => sleep(clock, 0.001);

const bytes = (n: number, f = (i: number) => i & 0xff) =>
  Uint8Array.from({ length: n }, (_, i) => f(i));

describe('SerialWire timing', () => {
  it.each([
    [115200, 1000],
    [9600, 100],
    [921600, 4096],
  ])('%i baud: %i bytes of 8N1 take N*10/B seconds', async (baud, n) => {
    const { clock, device, wire } = setup();
    const link = await wire.port!.open({ baudRate: baud });
    device.side.setFormat({ baudRate: baud });
    const t0 = clock.now();
    await link.write(bytes(n));
    expect(clock.now() - t0).toBeCloseTo((n * 10 * 1000) / baud, 6);
    await settle(clock);
    const last = device.received.at(-1)!;
    expect(last.at - t0).toBeCloseTo((n * 10 * 1000) / baud, 6);
    expect(device.bytes()).toEqual([...bytes(n)]);
  });

  it('8E1 takes 11 bits per byte', async () => {
    const { clock, device, wire } = setup();
    device.side.setFormat({ baudRate: 57600, parity: 'even' });
    const link = await wire.port!.open({ baudRate: 57600, parity: 'even' });
    const t0 = clock.now();
    await link.write(bytes(576));
    expect(clock.now() - t0).toBeCloseTo(110, 6);
    await settle(clock);
    expect(device.bytes()).toEqual([...bytes(576)]);
  });

  it('adds the adapter latency to each delivery and keeps order', async () => {
    const { clock, wire } = setup({ link: { ...UART_NO_LATENCY, latencyMs: 16 }, echo: true });
    const link = await wire.port!.open({ baudRate: 115200 });
    const t0 = clock.now();
    await link.write(bytes(10));
    const got = await link.input.readExactly(10, { timeoutMs: 1000 });
    // 10 bytes there (0.868 ms) + 16 ms, then 10 bytes back + 16 ms
    expect(clock.now() - t0).toBeCloseTo(2 * (100 / 115.2) + 32, 6);
    expect([...got]).toEqual([...bytes(10)]);
  });

  it('native USB CDC ignores the baud rate', async () => {
    const { clock, device, wire } = setup({ link: LINK_USB_CDC });
    device.side.setFormat({ baudRate: 115200 });
    const link = await wire.port!.open({ baudRate: 9600 });
    const t0 = clock.now();
    await link.write(bytes(1000));
    expect(clock.now() - t0).toBeCloseTo(1, 6); // 1000 bytes at 1000 bytes/ms
    await sleep(clock, 1.001); // one USB frame of latency
    expect(device.bytes()).toEqual([...bytes(1000)]);
  });
});

describe('SerialWire baud mismatch', () => {
  it('garbles bytes when host and device disagree by a factor of two', async () => {
    const { clock, device, wire } = setup();
    device.side.setFormat({ baudRate: 115200 });
    const link = await wire.port!.open({ baudRate: 230400 });
    await link.write(bytes(256));
    await settle(clock);
    expect(device.bytes()).not.toEqual([...bytes(256)]);
    expect(wire.stats.garbled).toBeGreaterThan(100);
  });

  it("carries nothing intact above the line's maxBaudRate, and everything at it", async () => {
    const { clock, device, wire } = setup({ link: { ...UART_NO_LATENCY, maxBaudRate: 460800 } });
    device.side.setFormat({ baudRate: 921600 });
    const fast = (await wire.port!.open({ baudRate: 921600 })) as SimSerialLink;
    await fast.write(bytes(64));
    await settle(clock);
    expect(device.bytes()).toEqual(new Array<number>(64).fill(0));
    device.side.send(bytes(64));
    await fast.input.readExactly(64, { timeoutMs: 100 });
    expect(fast.lineErrors.framing).toBeGreaterThan(0);
    expect(wire.stats.garbled).toBe(128);
    await fast.close();
    device.received = [];
    device.side.setFormat({ baudRate: 460800 });
    const slow = await wire.port!.open({ baudRate: 460800 });
    await slow.write(bytes(64));
    await settle(clock);
    expect(device.bytes()).toEqual([...bytes(64)]);
  });

  it('a marginal line damages single bits above its rate only, the same for a seed', async () => {
    const link = { ...UART_NO_LATENCY, marginal: { baudRate: 460800, perCharacter: 0.05 } };
    const sent = bytes(4096, (i) => (i * 7) & 0xff);
    const damagedAt = async (baud: number, seed: number) => {
      const { clock, device, wire } = setup({ link, seed });
      device.side.setFormat({ baudRate: baud });
      const host = await wire.port!.open({ baudRate: baud });
      await host.write(sent);
      await settle(clock);
      const got = device.bytes();
      expect(got).toHaveLength(sent.length);
      const flips = got.map((b, i) => b ^ sent[i]!);
      // Each damaged character differs from the sent one in exactly one bit.
      for (const f of flips) expect(f & (f - 1)).toBe(0);
      expect(wire.stats.garbled).toBe(flips.filter((f) => f !== 0).length);
      return flips;
    };
    const fast = await damagedAt(921600, 5);
    const hits = fast.filter((f) => f !== 0).length;
    expect(hits).toBeGreaterThan(100); // about 5 % of 4096
    expect(hits).toBeLessThan(320);
    expect(await damagedAt(921600, 5)).toEqual(fast);
    expect(await damagedAt(921600, 6)).not.toEqual(fast);
    expect((await damagedAt(460800, 5)).every((f) => f === 0)).toBe(true);
  });

  it('a receiver with parity reports the damage, one without cannot', async () => {
    const link = { ...UART_NO_LATENCY, marginal: { baudRate: 115200, perCharacter: 0.1 } };
    for (const parity of ['even', 'none'] as const) {
      const { device, wire } = setup({ link });
      device.side.setFormat({ baudRate: 230400, parity });
      const host = (await wire.port!.open({ baudRate: 230400, parity })) as SimSerialLink;
      device.side.send(bytes(256));
      const got = await host.input.readExactly(256, { timeoutMs: 100 });
      expect(got).not.toEqual(bytes(256));
      expect(host.lineErrors.framing).toBe(0);
      if (parity === 'even') expect(host.lineErrors.parity).toBeGreaterThan(0);
      else expect(host.lineErrors.parity).toBe(0);
    }
  });

  it('tolerates 2% of speed difference, like a real UART', async () => {
    const { clock, device, wire } = setup();
    device.side.setFormat({ baudRate: 115200 });
    const link = await wire.port!.open({ baudRate: 117500 });
    await link.write(bytes(256));
    await settle(clock);
    expect(device.bytes()).toEqual([...bytes(256)]);
  });

  it('reports framing or parity errors to the host on garbled replies', async () => {
    const { device, wire } = setup();
    device.side.setFormat({ baudRate: 115200, parity: 'none' });
    const link = (await wire.port!.open({
      baudRate: 115200,
      parity: 'even',
    })) as SimSerialLink;
    device.side.send(bytes(64, () => 0x03));
    await link.input.readExactly(64, { timeoutMs: 100 });
    expect(link.lineErrors.parity + link.lineErrors.framing).toBeGreaterThan(0);
  });
});

describe('SerialWire faults', () => {
  it('drops and corrupts bytes reproducibly for a seed', async () => {
    const run = async (seed: number) => {
      const { clock, device, wire } = setup({ seed });
      wire.setFaults({ dropRate: 0.05, corruptRate: 0.05 });
      const link = await wire.port!.open({ baudRate: 115200 });
      await link.write(bytes(2000));
      await settle(clock);
      return { got: device.bytes(), stats: { ...wire.stats } };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).toEqual(b);
    expect(a.got).not.toEqual(c.got);
    expect(a.stats.dropped, `seed 7`).toBeGreaterThan(40);
    expect(a.stats.corrupted, `seed 7`).toBeGreaterThan(40);
    expect(a.got.length).toBe(2000 - a.stats.dropped);
  });

  it('applies faults only in the chosen direction', async () => {
    const { device, wire } = setup({ echo: true });
    wire.setFaults({ corruptRate: 1, direction: 'to-host', seed: 3 });
    const link = await wire.port!.open({ baudRate: 115200 });
    await link.write(bytes(32));
    const back = await link.input.readExactly(32, { timeoutMs: 100 });
    expect(device.bytes()).toEqual([...bytes(32)]);
    expect([...back].every((b, i) => b !== i)).toBe(true);
  });

  it('delays chunks', async () => {
    const { clock, wire } = setup({ link: LINK_IDEAL, echo: true });
    wire.setFaults({ delayRate: 1, delayMs: 250, seed: 1 });
    const link = await wire.port!.open({ baudRate: 115200 });
    const t0 = clock.now();
    await link.write(bytes(4));
    await link.input.readExactly(4, { timeoutMs: 1000 });
    expect(clock.now() - t0).toBe(500);
  });

  it('unplugs at byte N: the link ends with transport.device-lost and the port disappears', async () => {
    const { device, wire } = setup();
    const changes: PortChange[] = [];
    wire.onPortChange((c) => changes.push(c));
    const first = wire.port!;
    const link = await first.open({ baudRate: 115200 });
    const lost: TransportError[] = [];
    link.onLost((e) => lost.push(e));
    wire.unplugAfter(100, 'to-device');
    await link.write(bytes(60));
    await link.write(bytes(60)).catch(() => undefined);
    await expect(link.input.read(1, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'transport.device-lost',
    });
    expect(device.bytes()).toHaveLength(100);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/seed 1234/);
    expect(link.isOpen).toBe(false);
    expect(wire.port).toBeUndefined();
    expect(first.present).toBe(false);
    expect(device.power).toEqual(['on', 'off']);
    await expect(first.open({ baudRate: 115200 })).rejects.toMatchObject({
      code: 'transport.device-lost',
    });
    wire.plug();
    expect(wire.port).toBeDefined();
    expect(wire.port).not.toBe(first);
    expect(wire.port!.generation).toBe(2);
    expect(changes.map((c) => c.type)).toEqual(['disconnect', 'connect']);
    expect(device.power).toEqual(['on', 'off', 'on']);
  });

  it('USB re-enumeration: the port vanishes and a new one returns after the delay', async () => {
    const { clock, device, wire } = setup({ link: LINK_USB_CDC });
    const first = wire.port!;
    const link = await first.open({ baudRate: 115200 });
    const t0 = clock.now();
    const back = new Promise<PortChange>((resolve) =>
      wire.onPortChange((c) => c.type === 'connect' && resolve(c)),
    );
    device.side.reenumerate(300);
    expect(link.isOpen).toBe(false);
    const change = await back;
    expect(clock.now() - t0).toBe(300);
    expect(change.port).not.toBe(first);
    expect(change.port.info.usbVendorId).toBe(0x10c4);
  });

  it('spontaneous reset reaches the device', () => {
    const { device, wire } = setup();
    wire.resetDevice();
    expect(device.resets).toBe(1);
  });
});

describe('SimSerialPort', () => {
  it('asserts DTR and RTS on open and drops them on close (Linux)', async () => {
    const { device, wire } = setup();
    const link = await wire.port!.open({ baudRate: 115200 });
    await link.setSignals({ dataTerminalReady: false });
    await link.close();
    expect(device.signals).toEqual([
      { dataTerminalReady: true, requestToSend: true, break: false },
      { dataTerminalReady: false, requestToSend: true, break: false },
      { dataTerminalReady: false, requestToSend: false, break: false },
    ]);
  });

  it('refuses a second open while open (port busy)', async () => {
    const { wire } = setup();
    await wire.port!.open({ baudRate: 115200 });
    await expect(wire.port!.open({ baudRate: 115200 })).rejects.toMatchObject({
      code: 'transport.port-busy',
    });
  });

  it('fails reads, writes and signals after close with transport.closed', async () => {
    const { wire } = setup();
    const link = await wire.port!.open({ baudRate: 115200 });
    await link.close();
    await link.close();
    await expect(link.write(bytes(1))).rejects.toMatchObject({ code: 'transport.closed' });
    await expect(link.setSignals({ break: true })).rejects.toMatchObject({
      code: 'transport.closed',
    });
    await expect(link.input.read(1, { timeoutMs: 10 })).rejects.toMatchObject({
      code: 'transport.closed',
    });
  });

  it('setBaudRate changes the host speed and drops buffered input', async () => {
    const { device, wire } = setup({ echo: true });
    const link = await wire.port!.open({ baudRate: 115200 });
    await link.write(bytes(4));
    await link.input.readExactly(1, { timeoutMs: 100 });
    await link.setBaudRate(921600);
    expect(link.baudRate).toBe(921600);
    expect(link.input.available).toBe(0);
    device.side.setFormat({ baudRate: 921600 });
    await link.write(bytes(4));
    expect([...(await link.input.readExactly(4, { timeoutMs: 100 }))]).toEqual([0, 1, 2, 3]);
  });
});

describe("'stream' links (the TCP and pty bridges)", () => {
  const STREAM: LinkModel = { name: 'stream', kind: 'stream', latencyMs: 0, chunkSize: 1 };

  it("pace both directions at the device's rate, whatever the host opened with, never garbled", async () => {
    const { clock, wire, device } = setup({ link: STREAM, echo: true });
    const link = await wire.port!.open({ baudRate: 9600 });
    device.side.setFormat({ baudRate: 115200 });
    const t0 = clock.now();
    await link.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    expect(clock.now() - t0).toBeCloseTo((10 * 10 * 1000) / 115200, 9);
    await sleep(clock, 5);
    const echoed = await link.input.read(10, { timeoutMs: 100 });
    expect([...echoed]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(wire.stats.garbled).toBe(0);
    // The firmware switches its UART: from then on both directions go at the new rate.
    device.side.setFormat({ baudRate: 921600 });
    expect(wire.characterTimeMs()).toBeCloseTo((10 * 1000) / 921600, 12);
    expect(wire.characterTimeToHostMs()).toBeCloseTo((10 * 1000) / 921600, 12);
    const t1 = clock.now();
    await link.write(new Uint8Array(100));
    expect(clock.now() - t1).toBeCloseTo((100 * 10 * 1000) / 921600, 9);
  });
});
