/**
 * The fake navigator.usb follows the W3C WebUSB API strictly, and the WebUSB adapter
 * (src/transport/webusb.ts) maps its behaviour to our transport interface and errors.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { TransportError } from '../../src/core/errors.ts';
import { connectDfuse } from '../../src/protocols/dfu/dfuse-driver.ts';
import { openDfu } from '../../src/protocols/dfu/dfu-open.ts';
import { DfuseSimDevice } from '../../src/sim/dfu/dfuse-sim.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { FakeUsb } from '../../src/sim/web/fake-webusb.ts';
import { WebUsbWatcher, mapWebUsbError, requestUsbDevice } from '../../src/transport/webusb.ts';
import { LINUX_UA, WINDOWS_UA, dfuseRig } from './rig.ts';

const GETSTATUS = {
  requestType: 'class',
  recipient: 'interface',
  request: 3,
  value: 0,
  index: 0,
} as const;

function fakeWithDevice(options: Partial<ConstructorParameters<typeof FakeUsb>[0]> = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const bus = new SimUsbBus();
  const sim = new DfuseSimDevice({ clock, bus });
  bus.attach(sim);
  const fake = new FakeUsb({ bus, ...options });
  return { clock, bus, sim, fake, usb: fake.usb };
}

describe('fake navigator.usb (W3C WebUSB)', () => {
  it('requestDevice validates filters (TypeError) and reports Cancel as NotFoundError', async () => {
    const { usb } = fakeWithDevice({ chooser: () => undefined });
    await expect(usb.requestDevice(undefined)).rejects.toThrow(TypeError);
    await expect(usb.requestDevice({ filters: [{ productId: 0xdf11 }] })).rejects.toThrow(
      TypeError,
    );
    await expect(
      usb.requestDevice({ filters: [{ classCode: 0xfe, protocolCode: 2 }] }),
    ).rejects.toThrow(TypeError);
    await expect(usb.requestDevice({ filters: [{ vendorId: 0x0483 }] })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('getDevices lists only allowed devices; filters match on interface class', async () => {
    const { usb } = fakeWithDevice();
    expect(await usb.getDevices()).toEqual([]);
    await expect(usb.requestDevice({ filters: [{ vendorId: 0x1234 }] })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    const d = await usb.requestDevice({
      filters: [{ classCode: 0xfe, subclassCode: 1, protocolCode: 2 }],
    });
    expect([
      d.vendorId,
      d.productId,
      d.productName,
      d.deviceVersionMajor,
      d.deviceVersionMinor,
    ]).toEqual([0x0483, 0xdf11, 'STM32  BOOTLOADER', 0x22, 0]);
    expect(await usb.getDevices()).toEqual([d]);
    expect(d.configuration?.interfaces[0]?.alternates.map((a) => a.interfaceName)).toEqual([
      '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
      '@Option Bytes  /0x1FFFC000/01*016 e',
      '@OTP Memory /0x1FFF7800/01*512 e,01*016 e',
      '@Device Feature  /0xFFFF0000/01*004 e',
    ]);
  });

  it('is strict about state: InvalidStateError before open and before claimInterface, NotFoundError for unknown numbers', async () => {
    const { usb } = fakeWithDevice();
    const d = await usb.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    await expect(d.controlTransferIn(GETSTATUS, 6)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(d.claimInterface(0)).rejects.toMatchObject({ name: 'InvalidStateError' });
    await d.open();
    await expect(d.controlTransferIn(GETSTATUS, 6)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(d.selectAlternateInterface(0, 1)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(d.claimInterface(3)).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(d.selectConfiguration(2)).rejects.toMatchObject({ name: 'NotFoundError' });
    await d.claimInterface(0);
    await expect(d.selectAlternateInterface(0, 9)).rejects.toMatchObject({ name: 'NotFoundError' });
    await d.selectAlternateInterface(0, 2);
    expect(d.configuration?.interfaces[0]?.alternate.alternateSetting).toBe(2);
    const r = await d.controlTransferIn(GETSTATUS, 6);
    expect(r.status).toBe('ok');
    expect(r.data?.byteLength).toBe(6);
    await expect(d.transferIn(1, 64)).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('rejects out-of-range setup fields with TypeError ([EnforceRange])', async () => {
    const { usb } = fakeWithDevice();
    const d = await usb.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    await d.open();
    await d.claimInterface(0);
    const bad: [string, USBControlTransferParameters, number][] = [
      ['request 256', { ...GETSTATUS, request: 256 }, 6],
      ['value -1', { ...GETSTATUS, value: -1 }, 6],
      ['index 65536', { ...GETSTATUS, index: 65536 }, 6],
      ['requestType', { ...GETSTATUS, requestType: 'bogus' as USBRequestType }, 6],
      ['recipient', { ...GETSTATUS, recipient: 'bogus' as USBRecipient }, 6],
      ['length', GETSTATUS, 70000],
    ];
    for (const [what, setup, len] of bad)
      await expect(d.controlTransferIn(setup, len), what).rejects.toThrow(TypeError);
  });

  it('a STALL is a result, not an exception; a wrong wLength stalls GETSTATUS', async () => {
    const { usb, sim } = fakeWithDevice();
    const d = await usb.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    await d.open();
    await d.claimInterface(0);
    expect((await d.controlTransferIn(GETSTATUS, 5)).status).toBe('stall');
    expect(sim.state).toBe(10);
    const out = await d.controlTransferOut(
      { ...GETSTATUS, request: 1, value: 0 },
      new Uint8Array(3000),
    );
    expect(out).toMatchObject({ status: 'stall', bytesWritten: 0 });
  });

  it('fires connect/disconnect for allowed devices; a returning device is a new USBDevice', async () => {
    const { usb, bus, sim } = fakeWithDevice();
    const d = await usb.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    await d.open();
    const events: string[] = [];
    usb.addEventListener('connect', () => events.push('connect'));
    usb.ondisconnect = (e) => events.push(`disconnect:${e.device === d}`);
    bus.detach(sim);
    expect(d.opened).toBe(false);
    await expect(d.open()).rejects.toMatchObject({ name: 'NotFoundError' });
    bus.attach(sim);
    expect(events).toEqual(['disconnect:true', 'connect']);
    const [again] = await usb.getDevices();
    expect(again).not.toBe(d);
  });
});

describe('WebUSB adapter', () => {
  it('reports a missing WinUSB driver on Windows as transport.driver-missing with Zadig steps', async () => {
    const rig = await dfuseRig({}, { windowsWithoutDriver: true }, WINDOWS_UA);
    const err = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'transport.driver-missing' });
    expect((err as TransportError).hints.join('\n')).toMatch(/Zadig[\s\S]*WinUSB/);
    expect((err as TransportError).cause).toMatchObject({ name: 'SecurityError' });
  });

  it('maps a busy interface to transport.port-busy off Windows and to driver-missing on Windows', () => {
    const busy = new DOMException('Unable to claim interface.', 'NetworkError');
    expect(mapWebUsbError(busy, { step: 'claim', userAgent: LINUX_UA, label: 'x' }).code).toBe(
      'transport.port-busy',
    );
    expect(mapWebUsbError(busy, { step: 'claim', userAgent: WINDOWS_UA, label: 'x' }).code).toBe(
      'transport.driver-missing',
    );
    expect(
      mapWebUsbError(new DOMException('x', 'NotFoundError'), {
        step: 'request',
        userAgent: LINUX_UA,
        label: 'x',
      }).code,
    ).toBe('transport.no-port-selected');
    expect(
      mapWebUsbError(new DOMException('x', 'NotFoundError'), {
        step: 'transfer',
        userAgent: LINUX_UA,
        label: 'x',
      }).code,
    ).toBe('transport.device-lost');
    expect(
      mapWebUsbError(new Error('weird'), { step: 'open', userAgent: LINUX_UA, label: 'x' }).code,
    ).toBe('transport.open-failed');
  });

  it('claim failures surface as port-busy', async () => {
    const rig = await dfuseRig({}, { interfaceBusy: true });
    await expect(
      connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger }),
    ).rejects.toMatchObject({ code: 'transport.port-busy' });
  });

  it('requestUsbDevice: Cancel is transport.no-port-selected', async () => {
    const { usb, clock } = fakeWithDevice({ chooser: () => undefined });
    await expect(
      requestUsbDevice([{ vendorId: 0x0483 }], { usb, userAgent: LINUX_UA, clock }),
    ).rejects.toMatchObject({ code: 'transport.no-port-selected' });
  });

  it('reads interface strings with GET_DESCRIPTOR when the browser gives no interfaceName', async () => {
    const rig = await dfuseRig();
    const info = rig.handle.info as unknown as {
      configurations: { interfaces: { alternates: { name?: string }[] }[] }[];
    };
    for (const a of info.configurations[0]!.interfaces[0]!.alternates) delete a.name;
    const opened = await openDfu(rig.handle);
    expect(opened.alternates.map((a) => a.name)).toEqual([
      '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
      '@Option Bytes  /0x1FFFC000/01*016 e',
      '@OTP Memory /0x1FFF7800/01*512 e,01*016 e',
      '@Device Feature  /0xFFFF0000/01*004 e',
    ]);
    expect(await opened.connection.getString(0)).toBeUndefined();
  });

  it('onLost fires once when the device is unplugged; later calls fail with device-lost', async () => {
    const rig = await dfuseRig();
    const opened = await openDfu(rig.handle);
    const lost: string[] = [];
    opened.connection.onLost((e) => lost.push(e.code));
    rig.bus.detach(rig.device);
    expect(lost).toEqual(['transport.device-lost']);
    await expect(opened.connection.controlIn(GETSTATUS, 6)).rejects.toMatchObject({
      code: 'transport.device-lost',
    });
  });

  it('a transfer that never completes times out on the clock', async () => {
    const rig = await dfuseRig();
    const opened = await openDfu(rig.handle);
    rig.device.controlIn = () => new Promise(() => undefined);
    const start = rig.clock.now();
    await expect(
      opened.connection.controlIn(GETSTATUS, 6, { timeoutMs: 1500 }),
    ).rejects.toMatchObject({ code: 'timeout' });
    expect(rig.clock.now() - start).toBe(1500);
  });

  it('the watcher sees a device that re-attaches', async () => {
    const rig = await dfuseRig();
    const watcher = new WebUsbWatcher(rig.webOptions);
    rig.bus.detach(rig.device);
    rig.clock.setTimer(300, () => rig.bus.attach(rig.device));
    const back = await watcher.waitForDevice([{ vendorId: 0x0483, productId: 0xdf11 }], {
      timeoutMs: 1000,
    });
    expect(back.connected).toBe(true);
    expect(rig.clock.now()).toBeGreaterThanOrEqual(300);
  });
});
