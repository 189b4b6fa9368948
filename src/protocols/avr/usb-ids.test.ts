import { describe, expect, it } from 'vitest';
import { isCaterinaBootloader } from './driver-avr109.ts';
import { avrBoardForUsb } from './usb-ids.ts';

describe('AVR USB identities', () => {
  it('tell the protocol of the genuine boards, and nothing for generic bridges', () => {
    expect(avrBoardForUsb(0x2341, 0x0043)).toMatchObject({
      protocol: 'avr-stk500v1',
      chip: 'atmega328p',
    });
    expect(avrBoardForUsb(0x2341, 0x0042)).toMatchObject({
      protocol: 'avr-stk500v2',
      chip: 'atmega2560',
    });
    expect(avrBoardForUsb(0x2341, 0x8036)?.protocol).toBe('avr109');
    expect(avrBoardForUsb(0x2341, 0x8036)?.bootloader).toBeUndefined();
    expect(avrBoardForUsb(0x0403, 0x6001)).toBeUndefined();
  });

  it("know Caterina's own ports from the sketches'", () => {
    expect(isCaterinaBootloader({ label: 'x', usbVendorId: 0x2341, usbProductId: 0x0036 })).toBe(
      true,
    );
    expect(isCaterinaBootloader({ label: 'x', usbVendorId: 0x2341, usbProductId: 0x8036 })).toBe(
      false,
    );
    expect(isCaterinaBootloader({ label: 'x' })).toBe(false);
  });
});
