import { afterEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../job/types.ts';
import { createBundle } from '../../bundle/create.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import type { UsbDeviceHandle } from '../../transport/usb.ts';
import { CREATED, EXPIRES, key, testImages } from '../../../test/bundle/fixtures.ts';
import { testServices, type TestServices } from '../../../test/technician/services.ts';
import { createAppStore, resetAppStore, type AppStore } from './app-store.ts';
import { deviceFacts } from '../../app/device-facts.ts';
import { plannedProtocol } from './selectors.ts';
import type { ConnectorContext } from '../../app/types.ts';

const stores: AppStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) resetAppStore(store);
});

/** A bundle for ESP and STM32 boards on serial ports and a DfuSe device. */
function mixedBundle(): Uint8Array {
  return createBundle({
    manifest: {
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      created: CREATED,
      expires: EXPIRES,
      notes: '',
      targets: [
        { chip: 'esp32s3', protocol: 'esp-serial', images: [{ name: 'app', address: 0x10000 }] },
        {
          chip: 'stm32f4',
          protocol: 'stm32-usart',
          images: [{ name: 'app', address: 0x08000000 }],
        },
        {
          chip: 'stm32f4',
          protocol: 'dfuse',
          usb: { vendorId: 0x0483, productId: 0xdf11 },
          images: [{ name: 'app', address: 0x08000000 }],
        },
      ],
    },
    images: { app: testImages().get('app')! },
    signers: [key(1), key(2)],
  });
}

const usbHandle: UsbDeviceHandle = {
  info: {
    label: 'STM32  BOOTLOADER (0483:df11)',
    vendorId: 0x0483,
    productId: 0xdf11,
    deviceVersion: 0x2200,
    configurations: [],
  },
  connected: true,
  open: () => Promise.reject(new Error('never opened')),
};

/** Services whose connectors record which protocol was asked for, all backed by the fake session. */
function setup(identity?: { protocol: 'stm32-usart'; chip: string; name: string }): {
  store: AppStore;
  services: TestServices;
  asked: string[];
  contexts: ConnectorContext[];
} {
  const services = testServices(identity ? { session: { identity } } : {});
  const asked: string[] = [];
  const contexts: ConnectorContext[] = [];
  const fake = services.fakeConnector;
  services.connectors = {
    serial: (protocol, context) => {
      asked.push(protocol);
      contexts.push(context);
      return protocol === 'stm32-usart'
        ? ({
            id: protocol,
            connect: (p, o) => fake.connect(p, o),
          } satisfies Connector<SerialPortHandle>)
        : undefined;
    },
    usb: (protocol, context) => {
      asked.push(protocol);
      contexts.push(context);
      return {
        id: protocol,
        connect: (p, o) => fake.connect(p, o),
      } satisfies Connector<UsbDeviceHandle>;
    },
  };
  services.requestUsbDevice = (request) =>
    Promise.resolve({
      handle: usbHandle,
      label: `chosen with ${JSON.stringify(request.filters)}`,
      virtual: false,
    });
  const store = createAppStore(services);
  stores.push(store);
  return { store, services, asked, contexts };
}

describe('protocol selection in the store', () => {
  it('refuses to guess between ESP and STM32 on a port that does not tell, touching nothing', async () => {
    const { store, services, asked } = setup();
    await store.getState().choosePort({ board: 'x' });
    await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes: mixedBundle() });
    expect(plannedProtocol(store.getState())).toEqual({
      problem: expect.stringMatching(/ESP and STM32 boards/) as unknown,
    });
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({
      ok: false,
      flashTouched: false,
      error: { code: 'usage.invalid-argument' },
    });
    expect(outcome?.ok === false && outcome.error.hints[0]).toMatch(/under Options/);
    expect(asked).toEqual([]);
    expect(services.fakeConnector.connects).toBe(0);
    expect(store.getState().job).toMatchObject({ running: false, phase: 'failed' });
  });

  it('uses the explicit STM32 choice and hands the readout-unprotect permission over', async () => {
    const { store, asked, contexts } = setup({
      protocol: 'stm32-usart',
      chip: 'stm32f4',
      name: 'STM32F407',
    });
    await store.getState().choosePort({ board: 'x' });
    await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes: mixedBundle() });
    store.getState().setSerialProtocol('stm32-usart');
    store.getState().setAllowReadoutUnprotect(true);
    expect(plannedProtocol(store.getState())).toEqual({ protocol: 'stm32-usart', auto: false });
    await store.getState().startFlash();
    expect(asked).toEqual(['stm32-usart']);
    expect(contexts[0]?.allowReadoutUnprotect).toBe(true);
    expect(store.getState().job.protocol).toBe('stm32-usart');
    expect(store.getState().device?.chip).toBe('stm32f4');
    expect(store.getState().settings.allowReadoutUnprotect).toBe(false);
  });

  it('falls back to the app’s ESP connector when `connectors` has none for ESP', async () => {
    const { store, services, asked } = setup();
    await store.getState().choosePort({ board: 'x' });
    await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes: mixedBundle() });
    store.getState().setSerialProtocol('esp-serial');
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(asked).toEqual(['esp-serial']);
    expect(services.fakeConnector.connects).toBe(1);
  });

  it('requests a USB device with the bundle’s ids and speaks DfuSe to it', async () => {
    const { store, asked } = setup();
    await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes: mixedBundle() });
    store.getState().setTransport('usb');
    expect(store.getState().transport).toBe('usb');
    expect(await store.getState().chooseUsbDevice()).toBe(true);
    const s = store.getState();
    expect(s.usbDevice?.label).toBe('chosen with [{"vendorId":1155,"productId":57105}]');
    expect(plannedProtocol(s)).toEqual({ protocol: 'dfuse', auto: true });
    await store.getState().startFlash();
    expect(asked).toEqual(['dfuse']);
    expect(store.getState().job.protocol).toBe('dfuse');
  });

  it('asks for a DFU device with the class filter before a bundle is loaded', async () => {
    const { store } = setup();
    store.getState().setTransport('usb');
    await store.getState().chooseUsbDevice();
    expect(store.getState().usbDevice?.label).toBe(
      'chosen with [{"classCode":254,"subclassCode":1}]',
    );
  });

  it('blocks Flash until the device for the chosen transport is picked', async () => {
    const { store } = setup();
    await store.getState().choosePort({ board: 'x' });
    await store.getState().loadBundle({ kind: 'bytes', name: 'm.fwb', bytes: mixedBundle() });
    store.getState().setTransport('usb');
    expect(await store.getState().startFlash()).toBeUndefined();
    expect(store.getState().log.entries.at(-1)?.message).toBe(
      'Cannot flash: Choose a USB device first.',
    );
    store.getState().releasePort();
    expect(store.getState().port).toBeDefined();
  });

  it('reports a missing USB service as a port error', async () => {
    const { store, services } = setup();
    delete services.requestUsbDevice;
    expect(await store.getState().chooseUsbDevice()).toBe(false);
    expect(store.getState().portError?.code).toBe('transport.unavailable');
  });
});

describe('deviceFacts', () => {
  it('lists ESP facts as before: revision, MAC, flash size, loader, then details', () => {
    const facts = deviceFacts({
      protocol: 'esp-serial',
      chip: 'esp32s3',
      name: 'ESP32-S3',
      revision: 'v0.2',
      uniqueId: 'aa:bb',
      flashSize: 8 * 1024 * 1024,
      bootloaderVersion: 'stub',
      details: { 'Secure boot': 'off' },
    });
    expect(facts.map((f) => [f.label, f.value])).toEqual([
      ['Revision', 'v0.2'],
      ['MAC / unique id', 'aa:bb'],
      ['Flash size', '8.00 MiB'],
      ['Bootloader', 'stub'],
      ['Secure boot', 'off'],
    ]);
  });

  it('describes a DFU 1.1 device without a memory map', () => {
    const facts = deviceFacts({
      protocol: 'dfu',
      chip: 'gadget',
      name: 'Gadget',
      bootloaderVersion: 'DFU 1.1.0',
      details: { 'USB id': '1209:0002', wTransferSize: '1024', interface: 'Firmware' },
    });
    expect(Object.fromEntries(facts.map((f) => [f.key, f.value]))).toEqual({
      'usb-id': '1209:0002',
      'dfu-version': 'DFU 1.1.0',
      'transfer-size': '1024 bytes',
      'memory-layout': 'Firmware (one image)',
    });
  });
});
