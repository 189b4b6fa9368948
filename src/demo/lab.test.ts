import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import type { Stm32SimBoardHandle } from '../sim/stm32/boards.ts';
import { installDemoLab, type DemoLab } from './lab.ts';

let lab: DemoLab | undefined;
afterEach(() => {
  lab?.dispose();
  lab = undefined;
});

function setup(): { lab: DemoLab; nav: { serial?: Serial; usb?: USB } } {
  const nav: { serial?: Serial; usb?: USB } = {};
  lab = installDemoLab({ clock: new VirtualClock({ yieldToHost: setImmediate }), navigator: nav });
  return { lab, nav };
}

describe('demo lab', () => {
  it('offers ESP, STM32, Arduino and MCUboot boards and USB devices, and installs the fakes', () => {
    const { lab, nav } = setup();
    expect(nav.serial).toBe(lab.serial);
    expect(nav.usb).toBe(lab.usb);
    const names = lab.types.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'esp32s3',
        'stm32f4',
        'stm32f4-rdp',
        'stm32f1',
        'uno',
        'nano-old',
        'mega2560',
        'leonardo',
        'nrf52840-mcuboot',
        'nrf52840-recovery',
      ]),
    );
    const protocols = new Set(lab.types.map((t) => t.protocol));
    expect([...protocols].sort()).toEqual([
      'avr-stk500v1',
      'avr-stk500v2',
      'avr109',
      'esp-serial',
      'mcuboot-smp',
      'stm32-usart',
    ]);
    expect(lab.types.find((t) => t.name === 'uno')!.label).toBe('Arduino Uno R3');
    expect(lab.types.find((t) => t.name === 'leonardo')!.protocol).toBe('avr109');
    expect(lab.types.find((t) => t.name === 'nrf52840-mcuboot')!.label).toBe(
      'nRF52840 DK (MCUboot, Zephyr app with MCUmgr)',
    );
    const f4 = lab.types.find((t) => t.name === 'stm32f4')!;
    expect(f4.label).toBe('STM32F407 (USART bootloader)');
    expect(lab.types.find((t) => t.name === 'stm32f4-rdp')!.label).toBe(
      'STM32F407, read-protected (USART bootloader)',
    );
    expect(lab.usbTypes.map((t) => t.label)).toEqual([
      'STM32F405 in DFU mode (DfuSe)',
      'generic DFU 1.1 device',
    ]);
  });

  it('makes the chooser pick the prepared board, one board on the bench at a time', async () => {
    const { lab, nav } = setup();
    expect(lab.prepare({ board: 'esp32s3' })).toMatch(/^Virtual ESP32-S3/);
    expect(lab.protocolHint!({ board: 'esp32s3' })).toBe('esp-serial');
    const s3 = await nav.serial!.requestPort();
    expect(s3.getInfo()).toEqual({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    lab.prepare({ board: 'esp32' });
    const esp32 = await nav.serial!.requestPort();
    expect(esp32.getInfo()).toEqual({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    expect(s3.connected).toBe(false);
    expect(await nav.serial!.getPorts()).toEqual([esp32]);
  });

  it('builds the read-protected STM32F407 with RDP level 1 on', async () => {
    const { lab, nav } = setup();
    expect(lab.prepare({ board: 'stm32f4-rdp' })).toBe(
      'Virtual STM32F407, read-protected (USART bootloader)',
    );
    expect(lab.protocolHint!({})).toBe('stm32-usart');
    await nav.serial!.requestPort();
    const board = lab.board('stm32f4-rdp') as Stm32SimBoardHandle;
    expect(board.device.memory.readProtected).toBe(true);
    expect(lab.flashCounters('stm32f4-rdp')?.programOps).toBe(0);
  });

  it('pulls and re-plugs the cable, tracking it in its state', async () => {
    const { lab, nav } = setup();
    lab.prepare({ board: 'esp32c3' });
    const first = await nav.serial!.requestPort();
    expect(lab.state.getState()).toEqual({
      current: 'esp32c3',
      plugged: true,
      transport: 'serial',
    });
    lab.unplug();
    expect(lab.state.getState().plugged).toBe(false);
    expect(first.connected).toBe(false);
    lab.plug();
    expect(lab.state.getState().plugged).toBe(true);
    const [again] = await nav.serial!.getPorts();
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
  });

  it('puts one virtual USB device on the bus, picked by the chooser, with a cable', async () => {
    const { lab, nav } = setup();
    lab.prepare({ board: 'stm32f4' });
    expect(lab.prepareUsb!({ filters: [], device: 'stm32f405-dfu' })).toBe(
      'Virtual STM32F405 in DFU mode (DfuSe)',
    );
    expect(await nav.serial!.getPorts()).toEqual([]);
    const dfuse = await nav.usb!.requestDevice({ filters: [{ vendorId: 0x0483 }] });
    expect([dfuse.vendorId, dfuse.productId]).toEqual([0x0483, 0xdf11]);
    expect(lab.state.getState()).toEqual({
      current: 'stm32f405-dfu',
      plugged: true,
      transport: 'usb',
    });
    lab.unplug();
    expect(lab.state.getState().plugged).toBe(false);
    expect(await nav.usb!.getDevices()).toEqual([]);
    lab.plug();
    expect(lab.state.getState().plugged).toBe(true);

    lab.prepareUsb!({ filters: [], device: 'generic-dfu' });
    const gadget = await nav.usb!.requestDevice({
      filters: [{ classCode: 0xfe, subclassCode: 1 }],
    });
    expect([gadget.vendorId, gadget.productId]).toEqual([0x1209, 0x0001]);
    expect(dfuse.opened).toBe(false);
    expect((await nav.usb!.getDevices()).map((d) => d.productId)).toEqual([0x0001]);
  });

  it('lets the chooser pick the first match when the device is chosen again', async () => {
    const { lab, nav } = setup();
    lab.prepareUsb!({ filters: [], device: 'generic-dfu' });
    expect(lab.prepareUsb!({ filters: [] })).toBeUndefined();
    const d = await nav.usb!.requestDevice({ filters: [{ vendorId: 0x1209 }] });
    expect(d.productId).toBe(0x0001);
  });

  it('plugs the gadget in stuck in its DFU mode, as a failed update leaves it', async () => {
    const { lab, nav } = setup();
    lab.plugUsbInDfuMode('generic-dfu');
    expect(lab.state.getState()).toMatchObject({
      current: 'generic-dfu',
      plugged: true,
      transport: 'usb',
    });
    expect(lab.prepareUsb!({ filters: [], device: 'generic-dfu' })).toBe(
      'Virtual generic DFU 1.1 device',
    );
    const d = await nav.usb!.requestDevice({ filters: [{ vendorId: 0x1209 }] });
    expect([d.productId, d.productName]).toEqual([0x0002, 'Example Gadget (DFU)']);
    expect(() => lab.plugUsbInDfuMode('z80')).toThrow(RangeError);
  });

  it('refuses unknown board and device types', () => {
    const { lab } = setup();
    expect(() => lab.prepare({ board: 'z80' })).toThrow(RangeError);
    expect(() => lab.prepareUsb!({ filters: [], device: 'z80' })).toThrow(RangeError);
  });
});
