/**
 * How the customer updater reaches a device (src/customer/transport-choice.ts) and, once a USB
 * device is chosen, its filters, protocol and DFU target (the rules every face shares,
 * src/protocols/dfu/usb-targets.ts): tables of bundles, browsers and vendor settings.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, TransportError, UsageError } from '../../src/core/errors.ts';
import { USABLE_TRANSPORTS } from '../../src/customer/services.ts';
import { detectSupport, type Transport } from '../../src/customer/support.ts';
import { chooseTransport, parseTransport } from '../../src/customer/transport-choice.ts';
import {
  dfuTargetFor,
  usbFiltersFor,
  usbProtocolFor,
  type UsbTargetShape,
} from '../../src/protocols/dfu/usb-targets.ts';

const ESP: UsbTargetShape = { chip: 'esp32s3', protocol: 'esp-serial', images: [{}] };
const STM32_USART: UsbTargetShape = { chip: 'stm32f4', protocol: 'stm32-usart', images: [{}] };
const DFUSE: UsbTargetShape = {
  chip: 'stm32f4',
  protocol: 'dfuse',
  usb: { vendorId: 0x0483, productId: 0xdf11 },
  images: [{}],
};
const GADGET: UsbTargetShape = {
  chip: 'example-gadget',
  protocol: 'dfu',
  usb: { vendorId: 0x1209, productId: 0x0001 },
  images: [{ slot: 1 }],
};
const ANY_DFU: UsbTargetShape = { chip: 'widget', protocol: 'dfu', images: [{ slot: 0 }] };
const BOTH: readonly Transport[] = ['serial', 'usb'];

describe('chooseTransport', () => {
  const cases: {
    name: string;
    targets: UsbTargetShape[];
    available: readonly Transport[];
    pinned?: Transport;
    want: Transport;
  }[] = [
    { name: 'serial targets only', targets: [ESP, STM32_USART], available: BOTH, want: 'serial' },
    { name: 'USB targets only', targets: [DFUSE, GADGET], available: BOTH, want: 'usb' },
    {
      name: 'both kinds: the serial default',
      targets: [ESP, DFUSE],
      available: BOTH,
      want: 'serial',
    },
    {
      name: 'both kinds, pinned to USB',
      targets: [ESP, DFUSE],
      available: BOTH,
      pinned: 'usb',
      want: 'usb',
    },
    {
      name: 'both kinds, pinned to serial',
      targets: [DFUSE, ESP],
      available: BOTH,
      pinned: 'serial',
      want: 'serial',
    },
    {
      name: 'a pin the bundle cannot follow is ignored',
      targets: [DFUSE],
      available: BOTH,
      pinned: 'serial',
      want: 'usb',
    },
    {
      name: 'both kinds on a browser with WebUSB only',
      targets: [ESP, DFUSE],
      available: ['usb'],
      want: 'usb',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(
        chooseTransport({ targets: c.targets, available: c.available, pinned: c.pinned }),
      ).toBe(c.want);
    });
  }

  it('a USB-only release on a browser without WebUSB: transport.unavailable', () => {
    const run = () => chooseTransport({ targets: [DFUSE], available: ['serial'] });
    expect(run).toThrow(TransportError);
    expect(run).toThrow(expect.objectContaining({ code: 'transport.unavailable' }));
  });

  it('a pinned transport the browser lacks is not swapped for the other', () => {
    expect(() =>
      chooseTransport({ targets: [ESP, DFUSE], available: ['serial'], pinned: 'usb' }),
    ).toThrow(expect.objectContaining({ code: 'transport.unavailable' }));
  });

  it('a release with no target this updater drives: protocol.unsupported', () => {
    const run = () => chooseTransport({ targets: [], available: BOTH });
    expect(run).toThrow(ProtocolError);
    expect(run).toThrow(expect.objectContaining({ code: 'protocol.unsupported' }));
  });

  it('leaves its inputs alone', () => {
    const targets = [ESP, DFUSE];
    const available: Transport[] = ['serial', 'usb'];
    chooseTransport({ targets, available, pinned: 'usb' });
    expect(targets).toEqual([ESP, DFUSE]);
    expect(available).toEqual(['serial', 'usb']);
  });
});

describe('parseTransport', () => {
  it('reads serial, usb and nothing', () => {
    expect(parseTransport('usb')).toBe('usb');
    expect(parseTransport('serial')).toBe('serial');
    expect(parseTransport(null)).toBeUndefined();
    expect(parseTransport(undefined)).toBeUndefined();
    expect(parseTransport('')).toBeUndefined();
  });

  for (const bad of ['USB', 'dfu', 'webusb', ' usb', 'serial,usb']) {
    it(`refuses ${JSON.stringify(bad)} as a page set-up error`, () => {
      expect(() => parseTransport(bad)).toThrow(UsageError);
      expect(() => parseTransport(bad)).toThrow(
        expect.objectContaining({ code: 'usage.invalid-argument' }),
      );
    });
  }
});

describe('support with WebUSB', () => {
  const env = {
    isSecureContext: true,
    protocol: 'https:',
    hostname: 'shop.example',
    hasSerial: false,
    hasUsb: true,
    inIframe: false,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0.0.0',
  };

  it('the updater counts WebUSB as usable', () => {
    expect(USABLE_TRANSPORTS).toEqual(['serial', 'usb']);
    expect(detectSupport(env, { usable: USABLE_TRANSPORTS })).toEqual({
      ok: true,
      transports: ['usb'],
    });
  });

  it('an iframe that allows serial but not usb leaves Web Serial only', () => {
    expect(
      detectSupport(
        { ...env, hasSerial: true, inIframe: true, policyAllows: { serial: true, usb: false } },
        { usable: USABLE_TRANSPORTS },
      ),
    ).toEqual({ ok: true, transports: ['serial'] });
  });
});

describe('usbFiltersFor', () => {
  it("lists the USB targets' ids once each, and nothing for serial targets", () => {
    expect(usbFiltersFor([ESP, DFUSE, GADGET, { ...DFUSE, chip: 'stm32f7' }])).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { vendorId: 0x1209, productId: 0x0001 },
    ]);
  });

  it('adds the DFU interface class for a USB target without ids', () => {
    expect(usbFiltersFor([DFUSE, ANY_DFU, ANY_DFU])).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { classCode: 0xfe, subclassCode: 0x01 },
    ]);
  });

  it('never gives the chooser an empty list', () => {
    expect(usbFiltersFor([ESP])).toEqual([{ classCode: 0xfe, subclassCode: 0x01 }]);
  });
});

describe('usbProtocolFor', () => {
  const ST = { vendorId: 0x0483, productId: 0xdf11 };
  const GADGET_IDS = { vendorId: 0x1209, productId: 0x0001 };
  const OTHER = { vendorId: 0x1234, productId: 0x5678 };

  it('follows the targets made for the device', () => {
    expect(usbProtocolFor([DFUSE, GADGET], ST)).toBe('dfuse');
    expect(usbProtocolFor([DFUSE, GADGET], GADGET_IDS)).toBe('dfu');
  });

  it('then the targets that name no ids', () => {
    expect(usbProtocolFor([DFUSE, ANY_DFU], OTHER)).toBe('dfu');
  });

  it("then the bundle's one USB protocol", () => {
    expect(usbProtocolFor([ESP, DFUSE], OTHER)).toBe('dfuse');
  });

  it("else by vendor: ST's DFU bootloader speaks DfuSe, anything else DFU 1.1", () => {
    const mixed = [DFUSE, GADGET];
    expect(usbProtocolFor(mixed, OTHER)).toBe('dfu');
    expect(usbProtocolFor([{ ...DFUSE, usb: OTHER }, GADGET], ST)).toBe('dfuse');
  });
});

describe('dfuTargetFor', () => {
  it('gives the chip and first slot of the target made for the device', () => {
    expect(dfuTargetFor([DFUSE, GADGET], { vendorId: 0x1209, productId: 0x0001 })).toEqual({
      chip: 'example-gadget',
      alternateSetting: 1,
    });
  });

  it('falls back to a target without ids', () => {
    expect(dfuTargetFor([GADGET, ANY_DFU], { vendorId: 0x1234, productId: 1 })).toEqual({
      chip: 'widget',
      alternateSetting: 0,
    });
  });

  it('gives nothing when no target, or targets for several chips, fit', () => {
    expect(dfuTargetFor([DFUSE], { vendorId: 0x0483, productId: 0xdf11 })).toBeUndefined();
    expect(
      dfuTargetFor([ANY_DFU, { ...ANY_DFU, chip: 'gizmo' }], { vendorId: 1, productId: 2 }),
    ).toBeUndefined();
  });
});

describe('a DFU 1.1 target with its DFU-mode product id (DFU 1.1 §5.1)', () => {
  const RECOVERABLE: UsbTargetShape = {
    ...GADGET,
    usb: { vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 },
  };
  const IN_DFU_MODE = { vendorId: 0x1209, productId: 0x0002 };

  it('the chooser lists the device in either identity', () => {
    expect(usbFiltersFor([DFUSE, RECOVERABLE])).toEqual([
      { vendorId: 0x0483, productId: 0xdf11 },
      { vendorId: 0x1209, productId: 0x0001 },
      { vendorId: 0x1209, productId: 0x0002 },
    ]);
  });

  it('a device in DFU mode gets the target’s protocol and chip', () => {
    expect(usbProtocolFor([DFUSE, RECOVERABLE], IN_DFU_MODE)).toBe('dfu');
    expect(dfuTargetFor([DFUSE, RECOVERABLE], IN_DFU_MODE)).toEqual({
      chip: 'example-gadget',
      alternateSetting: 1,
    });
  });

  it('without dfuProductId the DFU-mode identity is not the target’s', () => {
    expect(usbFiltersFor([GADGET])).toEqual([{ vendorId: 0x1209, productId: 0x0001 }]);
    expect(dfuTargetFor([GADGET], IN_DFU_MODE)).toBeUndefined();
  });

  it('only a dfu target has a DFU-mode identity', () => {
    const dfuse = { ...DFUSE, usb: { ...DFUSE.usb!, dfuProductId: 0xdf12 } };
    expect(usbFiltersFor([dfuse])).toEqual([{ vendorId: 0x0483, productId: 0xdf11 }]);
    expect(dfuTargetFor([dfuse], { vendorId: 0x0483, productId: 0xdf12 })).toBeUndefined();
  });
});
