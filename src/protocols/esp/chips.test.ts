import { describe, expect, it } from 'vitest';
import {
  ESP_CHIPS,
  ESP_CHIP_LIST,
  chipById,
  chipByImageChipId,
  chipByMagic,
  chipBySecurityInfoId,
  chipsByUsbPid,
  composeFields,
} from './chips.ts';
import {
  ResetSequences,
  defaultResetSequences,
  formatResetSequence,
  parseResetSequence,
} from './reset.ts';

describe('chip table', () => {
  // Values from esptool targets/*.py and esptool-js magic2Chip, as noted in chips.ts.
  it.each([
    [0xfff0c101, 'esp8266'],
    [0x00f01d83, 'esp32'],
    [0x000007c6, 'esp32s2'],
    [0x00000009, 'esp32s3'],
    [0x6921506f, 'esp32c3'],
    [0x1b31506f, 'esp32c3'],
    [0x4881606f, 'esp32c3'],
    [0x4361606f, 'esp32c3'],
    [0x2ce0806f, 'esp32c6'],
    [0xd7b73e80, 'esp32h2'],
  ])('magic 0x%s is %s', (magic, id) => {
    expect(chipByMagic(magic)?.id).toBe(id);
  });

  it('maps security-info and image chip ids, and they agree', () => {
    expect(chipBySecurityInfoId(9)?.id).toBe('esp32s3');
    expect(chipBySecurityInfoId(5)?.id).toBe('esp32c3');
    expect(chipBySecurityInfoId(13)?.id).toBe('esp32c6');
    expect(chipBySecurityInfoId(16)?.id).toBe('esp32h2');
    expect(chipBySecurityInfoId(2)).toBeUndefined(); // the ESP32-S2 reply has no chip id
    expect(chipByImageChipId(0)?.id).toBe('esp32');
    expect(chipByImageChipId(2)?.id).toBe('esp32s2');
    for (const c of ESP_CHIP_LIST) {
      if (c.securityInfoChipId !== undefined) expect(c.securityInfoChipId).toBe(c.imageChipId);
    }
    expect(chipByMagic(0x12345678)).toBeUndefined();
    expect(chipById('esp32c6')).toBe(ESP_CHIPS.esp32c6);
    expect(chipById('toString')).toBeUndefined();
  });

  it('has no magic value claimed by two chips, and sane per-chip facts', () => {
    const all = ESP_CHIP_LIST.flatMap((c) => c.magicValues);
    expect(new Set(all).size).toBe(all.length);
    expect(ESP_CHIPS.esp32.bootloaderOffset).toBe(0x1000);
    expect(ESP_CHIPS.esp32s2.bootloaderOffset).toBe(0x1000);
    for (const id of ['esp32s3', 'esp32c3', 'esp32c6', 'esp32h2', 'esp8266'] as const) {
      expect(ESP_CHIPS[id].bootloaderOffset).toBe(0);
    }
    expect(ESP_CHIPS.esp8266.romStatusBytes).toBe(2);
    expect(ESP_CHIPS.esp32.romStatusBytes).toBe(4);
    expect(ESP_CHIPS.esp8266.romSupportsCompressed).toBe(false);
    expect(chipsByUsbPid(0x1001).map((c) => c.id)).toEqual([
      'esp32s3',
      'esp32c3',
      'esp32c6',
      'esp32h2',
    ]);
    expect(chipsByUsbPid(0x0002).map((c) => c.id)).toEqual(['esp32s2']);
  });

  it('composeFields concatenates fields, first highest', () => {
    const regs = new Map([
      [0x10, 0b1 << 20],
      [0x14, 0b101 << 4],
    ]);
    const read = (a: number) => regs.get(a) ?? 0;
    expect(
      composeFields(
        [
          { addr: 0x10, shift: 20, width: 1 },
          { addr: 0x14, shift: 4, width: 3 },
        ],
        read,
      ),
    ).toBe(0b1101);
  });
});

describe('ESP reset sequences (esptool reset.py)', () => {
  it.each(Object.values(ResetSequences).map((s) => [s.name, s.steps] as const))(
    '%s parses and formats back unchanged',
    (_name, steps) => {
      expect(formatResetSequence(parseResetSequence(steps))).toBe(steps);
    },
  );

  it('classic reset: IO0 high + EN low, then IO0 low + EN high, then release', () => {
    expect(ResetSequences.classic.steps).toBe('D0|R1|W100|D1|R0|W50|D0');
  });

  it('picks the USB-JTAG-serial sequence for 303a:1001, bridge sequences otherwise', () => {
    expect(defaultResetSequences({ vendorId: 0x303a, productId: 0x1001 })).toEqual([
      ResetSequences.usbJtagSerial.steps,
    ]);
    const bridge = defaultResetSequences({ vendorId: 0x10c4, productId: 0xea60 });
    expect(bridge).toContain(ResetSequences.classic.steps);
    expect(bridge).toContain(ResetSequences.tight.steps);
    expect(bridge.length).toBe(4);
  });

  it.each(['', 'X1', 'D2', 'W', 'U1', 'D0||R1'])('rejects "%s"', (bad) => {
    expect(() => parseResetSequence(bad)).toThrow();
  });
});
