/**
 * The bench's WebUSB port source over the fake `navigator.usb` (W3C WebUSB §5 "Device
 * Enumeration"): granted devices listed and followed through `connect`/`disconnect`, one stable
 * id per USBDevice object, grants through the chooser with the release's filters; following of
 * USB devices without a serial number (follow.ts); the protocol a USB board gets (board-plan.ts).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { TransportError } from '../../src/core/errors.ts';
import { DfuseSimDevice } from '../../src/sim/dfu/dfuse-sim.ts';
import { GenericDfuBoard } from '../../src/sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { FakeUsb } from '../../src/sim/web/fake-webusb.ts';
import { FollowTracker, usbBoardBack } from '../../src/bench/state/follow.ts';
import type { BenchUsbPort, PortChange, Tile } from '../../src/bench/state/types.ts';
import { grantFilters, planUsbBoard } from '../../src/bench/state/board-plan.ts';
import { benchUsbConnectors, webUsbPorts } from '../../src/bench/browser/web-usb-ports.ts';
import { MIXED_TARGETS } from './mixed-harness.ts';

function rig(options: { chooser?: (d: readonly USBDevice[]) => USBDevice | undefined } = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const bus = new SimUsbBus();
  const fake = new FakeUsb({ bus, ...(options.chooser ? { chooser: options.chooser } : {}) });
  const source = webUsbPorts({ usb: fake.usb, clock });
  const stm32 = (serialNumber: string) => new DfuseSimDevice({ clock, bus, serialNumber });
  return { clock, bus, fake, source, stm32 };
}

describe('webUsbPorts', () => {
  it('lists granted devices only, with their USB identity and serial number', async () => {
    const { bus, fake, source, stm32 } = rig();
    const granted = stm32('336F38673301');
    const other = stm32('336F38673302');
    fake.allow(0x0483, 0xdf11, '336F38673301');
    bus.attach(granted);
    bus.attach(other);
    const ports = await source.list();
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({
      transport: 'usb',
      id: 'usb-1',
      label: 'STM32  BOOTLOADER (0483:df11)',
      usbVendorId: 0x0483,
      usbProductId: 0xdf11,
      usbSerialNumber: '336F38673301',
    });
    expect((ports[0] as BenchUsbPort).handle.info.serialNumber).toBe('336F38673301');
    // The same USBDevice object keeps its port (and its id).
    expect((await source.list())[0]).toBe(ports[0]);
  });

  it('reports connect and disconnect of granted devices; a device back on the bus is a new port', async () => {
    const { bus, fake, source, stm32 } = rig();
    const changes: PortChange[] = [];
    const off = source.watch((c) => changes.push(c));
    const a = stm32('336F38673311');
    const stranger = stm32('336F38673312');
    fake.allow(0x0483, 0xdf11, '336F38673311');
    bus.attach(stranger);
    bus.attach(a);
    bus.detach(a);
    bus.attach(a);
    expect(changes.map((c) => [c.type, c.port.id])).toEqual([
      ['connect', 'usb-1'],
      ['disconnect', 'usb-1'],
      ['connect', 'usb-2'],
    ]);
    expect(changes[0]!.port).toBe(changes[1]!.port);
    off();
    bus.detach(a);
    expect(changes).toHaveLength(3);
  });

  it('follows a DFU 1.1 gadget that changes its product id on DFU_DETACH: a new port, same serial', async () => {
    const { clock, bus, fake, source } = rig();
    const gadget = new GenericDfuBoard({ clock, bus, serialNumber: 'GADGET0042' });
    fake.allow(0x1209, 0x0001, 'GADGET0042');
    fake.allow(0x1209, 0x0002, 'GADGET0042');
    const changes: PortChange[] = [];
    source.watch((c) => changes.push(c));
    const [runtime] = await source.list();
    gadget.reenumerate(false);
    await new Promise<void>((resolve) => clock.setTimer(100, resolve));
    expect(changes.map((c) => [c.type, c.port.usbProductId, c.port.usbSerialNumber])).toEqual([
      ['disconnect', 0x0001, 'GADGET0042'],
      ['connect', 0x0002, 'GADGET0042'],
    ]);
    expect(changes[0]!.port).toBe(runtime);
    expect(changes[1]!.port.id).not.toBe(runtime!.id);
  });

  it('grants through the chooser with the given filters; Cancel is transport.no-port-selected', async () => {
    let offered: readonly USBDevice[] = [];
    const { bus, source, stm32, clock } = rig({
      chooser: (d) => {
        offered = d;
        return d[0];
      },
    });
    bus.attach(stm32('336F38673321'));
    const gadget = new GenericDfuBoard({ clock, bus, serialNumber: 'GADGET0043' });
    const port = await source.request({ usbFilters: [{ vendorId: 0x0483, productId: 0xdf11 }] });
    expect(offered.map((d) => d.vendorId)).toEqual([0x0483]);
    expect(port).toMatchObject({ transport: 'usb', usbSerialNumber: '336F38673321' });
    expect((await source.list()).map((p) => p.id)).toEqual([port.id]);
    // The gadget's DFU interface (class 0xFE, subclass 0x01) is offered by the class filter.
    await source.request({ usbFilters: grantFilters(MIXED_TARGETS) });
    expect(offered.map((d) => d.serialNumber)).toEqual(['336F38673321', 'GADGET0043']);
    expect(gadget.current.attached).toBe(true);

    const cancelled = rig({ chooser: () => undefined });
    cancelled.bus.attach(cancelled.stm32('336F38673322'));
    await expect(cancelled.source.request()).rejects.toMatchObject({
      code: 'transport.no-port-selected',
    });
  });

  it('says when the browser has no WebUSB', async () => {
    const source = webUsbPorts({ usb: undefined, clock: new VirtualClock() });
    await expect(source.list()).rejects.toBeInstanceOf(TransportError);
    await expect(source.request()).rejects.toMatchObject({ code: 'transport.unavailable' });
    expect(typeof source.watch(() => undefined)).toBe('function');
  });
});

describe('USB boards: protocol and chooser filters', () => {
  const connectors = benchUsbConnectors({ usb: rig().fake.usb, clock: new VirtualClock() });

  it('takes the protocol from the release target made for the USB ids', () => {
    const dfuse = planUsbBoard({
      targets: MIXED_TARGETS,
      info: { vendorId: 0x0483, productId: 0xdf11 },
      connectors,
    });
    expect([dfuse.protocol, dfuse.connector.id]).toEqual(['dfuse', 'dfuse']);
    const dfu = planUsbBoard({
      targets: MIXED_TARGETS,
      info: { vendorId: 0x1209, productId: 0x0001 },
      connectors,
    });
    expect([dfu.protocol, dfu.connector.id]).toEqual(['dfu', 'dfu']);
  });

  it('refuses, through the connector, a release without USB targets or a bench without the protocol', async () => {
    const serialOnly = MIXED_TARGETS.filter((t) => t.protocol === 'esp-serial');
    const none = planUsbBoard({
      targets: serialOnly,
      info: { vendorId: 0x0483, productId: 0xdf11 },
      connectors,
    });
    expect(none.protocol).toBeUndefined();
    const connect = (p: typeof none) =>
      p.connector.connect(
        {} as never,
        {} as never, // never reached: the connector refuses before it touches anything
      );
    await expect(connect(none)).rejects.toMatchObject({ code: 'usage.invalid-argument' });
    const lacking = planUsbBoard({
      targets: MIXED_TARGETS,
      info: { vendorId: 0x0483, productId: 0xdf11 },
      connectors: undefined,
    });
    expect(lacking.protocol).toBe('dfuse');
    await expect(connect(lacking)).rejects.toThrow(/cannot flash 0483:df11 with the ST DfuSe/);
  });

  it('offers the release USB ids, and DFU-mode identities of DFU 1.1 vendors', () => {
    expect(grantFilters(MIXED_TARGETS)).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { vendorId: 0x1209, productId: 0x0001 },
      { vendorId: 0x1209, classCode: 0xfe, subclassCode: 0x01 },
    ]);
    expect(grantFilters(undefined)).toEqual([{ classCode: 0xfe, subclassCode: 0x01 }]);
  });
});

describe('FollowTracker with USB devices', () => {
  it('follows a USB device to another product id of its vendor with anyProduct', () => {
    const t = new FollowTracker({ windowMs: 5000 });
    t.expect(
      'board-1',
      { id: 'usb-1', transport: 'usb', usbVendorId: 0x1209, usbProductId: 1 },
      0,
      {
        anyProduct: true,
      },
    );
    expect(t.claim({ transport: 'usb', usbVendorId: 0x1209, usbProductId: 2 }, 10)).toBeUndefined();
    t.offBus('usb-1', 20);
    expect(t.claim({ transport: 'usb', usbVendorId: 0x1234, usbProductId: 2 }, 30)).toBeUndefined();
    expect(t.claim({ transport: 'usb', usbVendorId: 0x1209, usbProductId: 2 }, 40)).toBe('board-1');
    expect(t.pending(40)).toEqual([]);
  });

  it('never mixes serial ports and USB devices', () => {
    const t = new FollowTracker({ windowMs: 5000 });
    t.expect(
      'board-1',
      { id: 'usb-1', transport: 'usb', usbVendorId: 0x0483, usbProductId: 0xdf11 },
      0,
    );
    t.expect('board-2', { id: 'port-1', usbVendorId: 0x0483, usbProductId: 0x374b }, 0, {
      anyProduct: true,
    });
    t.offBus('usb-1', 10);
    t.offBus('port-1', 10);
    // An ST-LINK virtual COM port is no STM32 in DFU mode, and the other way round.
    expect(t.claim({ usbVendorId: 0x0483, usbProductId: 0xdf11 }, 20)).toBe('board-2');
    expect(t.claim({ transport: 'serial', usbVendorId: 0x0483, usbProductId: 0xdf11 }, 20)).toBe(
      undefined,
    );
    expect(t.claim({ transport: 'usb', usbVendorId: 0x0483, usbProductId: 0xdf11 }, 20)).toBe(
      'board-1',
    );
  });

  it('forgets a USB watch after the window', () => {
    const t = new FollowTracker({ windowMs: 1000 });
    t.expect(
      'board-1',
      { id: 'usb-1', transport: 'usb', usbVendorId: 0x1209, usbProductId: 1 },
      0,
      {
        anyProduct: true,
      },
    );
    t.offBus('usb-1', 100);
    expect(t.claim({ transport: 'usb', usbVendorId: 0x1209, usbProductId: 2 }, 1200)).toBe(
      undefined,
    );
  });
});

describe('usbBoardBack', () => {
  const tile = (patch: Partial<Tile>): Tile =>
    ({
      id: 'board-1',
      transport: 'usb',
      connected: false,
      state: 'running',
      usbVendorId: 0x1209,
      usbSerialNumber: 'GADGET0007',
      ...patch,
    }) as Tile;
  const dfuMode = { transport: 'usb', usbVendorId: 0x1209, usbSerialNumber: 'GADGET0007' } as const;
  const at = (left: number | undefined, now: number) => ({
    leftAt: () => left,
    now,
    windowMs: 5000,
  });

  it('matches a board being flashed that is off the bus, by vendor id and serial number', () => {
    expect(usbBoardBack([tile({})], dfuMode, at(100, 200))?.id).toBe('board-1');
    expect(usbBoardBack([tile({})], { ...dfuMode, usbSerialNumber: 'OTHER' }, at(100, 200))).toBe(
      undefined,
    );
    expect(usbBoardBack([tile({})], { ...dfuMode, usbVendorId: 0x1d50 }, at(100, 200))).toBe(
      undefined,
    );
  });

  it('never matches a board still on the bus (another board with the same serial number)', () => {
    expect(usbBoardBack([tile({ connected: true })], dfuMode, at(undefined, 200))).toBe(undefined);
  });

  it('matches a finished board only within the window after it left the bus', () => {
    const done = [tile({ state: 'done' })];
    expect(usbBoardBack(done, dfuMode, at(1000, 5999))?.id).toBe('board-1');
    expect(usbBoardBack(done, dfuMode, at(1000, 6001))).toBe(undefined);
    expect(usbBoardBack([tile({ state: 'failed' })], dfuMode, at(1000, 1001))).toBe(undefined);
  });

  it('leaves serial ports and devices without a serial number to the FollowTracker', () => {
    expect(usbBoardBack([tile({})], { ...dfuMode, transport: 'serial' }, at(1, 2))).toBe(undefined);
    expect(usbBoardBack([tile({})], { ...dfuMode, usbSerialNumber: undefined }, at(1, 2))).toBe(
      undefined,
    );
  });
});
