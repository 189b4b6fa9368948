import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import {
  chooseUsbProtocol,
  DFU_CLASS_FILTER,
  dfuTargetFor,
  usbFiltersFor,
  type UsbTargetShape as TargetShape,
} from '../../src/protocols/dfu/usb-targets.ts';
import type { ProtocolId } from '../../src/protocols/driver.ts';
import { chooseSerialProtocol, hintForUsbIds } from '../../src/protocols/registry.ts';
import type { SerialProtocolChoice, SerialProtocolId } from '../../src/app/types.ts';

const t = (chip: string, protocol: string, usb?: [number, number], slot?: number): TargetShape => ({
  chip,
  protocol,
  ...(usb ? { usb: { vendorId: usb[0], productId: usb[1] } } : {}),
  images: [slot === undefined ? {} : { slot }],
});

const esp = t('esp32s3', 'esp-serial');
const stm = t('stm32f4', 'stm32-usart');
const dfuse = t('stm32f4', 'dfuse', [0x0483, 0xdf11]);
const gadget = t('example-gadget', 'dfu', [0x1209, 0x0001], 0);
const demo = [esp, stm, dfuse, gadget];

describe('chooseSerialProtocol', () => {
  const cases: [
    string,
    TargetShape[] | undefined,
    SerialProtocolChoice,
    SerialProtocolId | undefined,
    SerialProtocolId,
  ][] = [
    ['the one serial protocol of the bundle', [stm, dfuse], 'auto', undefined, 'stm32-usart'],
    ['ESP alone, whatever the hint', [esp], 'auto', 'stm32-usart', 'esp-serial'],
    ['several: the port hint decides', demo, 'auto', 'stm32-usart', 'stm32-usart'],
    ['several: the ESP hint', demo, 'auto', 'esp-serial', 'esp-serial'],
    ['an explicit choice wins over the bundle', [esp], 'stm32-usart', 'esp-serial', 'stm32-usart'],
    ['a raw image with auto means ESP', undefined, 'auto', undefined, 'esp-serial'],
    ['a raw image with STM32 chosen', undefined, 'stm32-usart', undefined, 'stm32-usart'],
  ];
  it.each(cases)('%s', (_what, targets, choice, hint, expected) => {
    expect(chooseSerialProtocol({ targets, choice, hint })).toBe(expected);
  });

  const refusals: [string, TargetShape[], SerialProtocolId | undefined, RegExp, RegExp][] = [
    ['several and no hint', demo, undefined, /ESP and STM32 boards/, /under Options/],
    ['several and a hint the bundle lacks', [esp, stm], undefined, /ESP and STM32/, /ESP or STM32/],
    ['only USB targets', [dfuse, gadget], 'stm32-usart', /use USB DFU/, /USB device \(DFU\)/],
    ['no targets at all', [], undefined, /use USB DFU/, /USB device/],
  ];
  it.each(refusals)('refuses %s', (_what, targets, hint, message, step) => {
    let error: unknown;
    try {
      chooseSerialProtocol({ targets, choice: 'auto', hint });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('usage.invalid-argument');
    expect((error as UsageError).message).toMatch(message);
    expect((error as UsageError).hints.join(' ')).toMatch(step);
  });
});

describe('chooseUsbProtocol', () => {
  const cases: [string, TargetShape[] | undefined, [number, number], string][] = [
    ['ST DFU ids → the DfuSe target', demo, [0x0483, 0xdf11], 'dfuse'],
    ['gadget ids → the DFU target', demo, [0x1209, 0x0001], 'dfu'],
    ['unknown ids, one open DFU target', [t('x', 'dfu'), dfuse], [0x2341, 0x0001], 'dfu'],
    ['unknown ids, one USB protocol', [gadget], [0x2341, 0x0001], 'dfu'],
    ['ST vendor, another product, with both → DFU 1.1', demo, [0x0483, 0xdf12], 'dfu'],
    ['unknown ids with both → by vendor rule', demo, [0x2341, 0x0001], 'dfu'],
    ['raw image on ST DFU', undefined, [0x0483, 0xdf11], 'dfuse'],
    ['raw image elsewhere', undefined, [0x1209, 0x0002], 'dfu'],
  ];
  it.each(cases)('%s', (_what, targets, [vendorId, productId], expected) => {
    expect(chooseUsbProtocol({ targets, device: { vendorId, productId } })).toBe(expected);
  });

  it('refuses a bundle with only serial targets', () => {
    expect(() =>
      chooseUsbProtocol({ targets: [esp, stm], device: { vendorId: 0x0483, productId: 0xdf11 } }),
    ).toThrow(/its targets use a serial port/);
  });
});

describe('dfuTargetFor', () => {
  it('names the chip and slot of the target made for the device', () => {
    expect(dfuTargetFor(demo, { vendorId: 0x1209, productId: 0x0001 })).toEqual({
      chip: 'example-gadget',
      alternateSetting: 0,
    });
  });
  it('falls back to a target that names no ids', () => {
    const open = t('open-gadget', 'dfu', undefined, 2);
    expect(dfuTargetFor([open, gadget], { vendorId: 0x2341, productId: 1 })).toEqual({
      chip: 'open-gadget',
      alternateSetting: 2,
    });
  });
  const none: [string, TargetShape[] | undefined][] = [
    ['no bundle', undefined],
    ['other ids only', [gadget]],
    ['two chips could fit', [t('a', 'dfu'), t('b', 'dfu')]],
  ];
  it.each(none)('names nothing for %s', (_what, targets) => {
    expect(dfuTargetFor(targets, { vendorId: 0x2341, productId: 1 })).toBeUndefined();
  });
});

describe('usbFiltersFor', () => {
  it('lists the USB ids of DFU and DfuSe targets once each', () => {
    expect(usbFiltersFor([...demo, dfuse])).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { vendorId: 0x1209, productId: 0x0001 },
    ]);
  });
  it.each([
    ['no bundle', undefined],
    ['serial targets only', [esp, stm]],
    ['DFU targets without ids', [t('x', 'dfu')]],
  ])('falls back to the DFU class filter with %s', (_what, targets) => {
    expect(usbFiltersFor(targets)).toEqual([{ classCode: 0xfe, subclassCode: 0x01 }]);
  });
  it('hands out a copy of the class filter', () => {
    const [f] = usbFiltersFor(undefined);
    expect(f).not.toBe(DFU_CLASS_FILTER);
  });
});

describe('a gadget left in its DFU mode by a failed update', () => {
  const recoverable: TargetShape = {
    ...gadget,
    usb: { vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 },
  };
  const targets = [esp, stm, dfuse, recoverable];
  const inDfuMode = { vendorId: 0x1209, productId: 0x0002 };

  it('is in the chooser, gets DFU 1.1 and the gadget target', () => {
    expect(usbFiltersFor(targets)).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { vendorId: 0x1209, productId: 0x0001 },
      { vendorId: 0x1209, productId: 0x0002 },
    ]);
    expect(chooseUsbProtocol({ targets, device: inDfuMode })).toBe('dfu');
    expect(dfuTargetFor(targets, inDfuMode)).toEqual({
      chip: 'example-gadget',
      alternateSetting: 0,
    });
  });

  it('without dfuProductId only the run-time ids are the target’s', () => {
    expect(dfuTargetFor(demo, inDfuMode)).toBeUndefined();
  });
});

describe('hintForUsbIds on a serial port', () => {
  it.each<[number | undefined, number | undefined, ProtocolId | undefined]>([
    [0x303a, 0x1001, 'esp-serial'],
    [0x0483, 0x374b, 'stm32-usart'],
    [0x2341, 0x0043, 'avr-stk500v1'],
    [0x2341, 0x0042, 'avr-stk500v2'],
    [0x2341, 0x8036, 'avr109'],
    [0x2fe3, 0x0100, 'mcuboot-smp'],
    [0x10c4, 0xea60, undefined],
    [0x2341, 0x7777, undefined],
    [undefined, undefined, undefined],
  ])('%s:%s → %s', (vendorId, productId, hint) => {
    expect(hintForUsbIds('serial', { vendorId, productId })?.protocol).toBe(hint);
  });

  it('tells an Arduino board, its chip and its bootloader speed, and whether it is the bootloader port', () => {
    expect(hintForUsbIds('serial', { vendorId: 0x2341, productId: 0x0043 })).toMatchObject({
      protocol: 'avr-stk500v1',
      chip: 'atmega328p',
      baudRate: 115_200,
      exact: true,
    });
    expect(hintForUsbIds('serial', { vendorId: 0x2341, productId: 0x0036 })).toMatchObject({
      protocol: 'avr109',
      bootloader: true,
    });
    expect(hintForUsbIds('serial', { vendorId: 0x303a, productId: 0x1001 })).toMatchObject({
      exact: false,
    });
  });

  it('a USB device: ST’s DfuSe id, and nothing for a serial adapter’s vendor', () => {
    expect(hintForUsbIds('usb', { vendorId: 0x0483, productId: 0xdf11 })?.protocol).toBe('dfuse');
    expect(hintForUsbIds('usb', { vendorId: 0x303a, productId: 0x1001 })).toBeUndefined();
  });
});
