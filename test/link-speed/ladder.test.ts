/**
 * The adapter table and the rate ladder (src/protocols/link-speed.ts, esp/link-speed.ts): which
 * rates a port's USB ids allow for each protocol, and the safe fallback for ids nobody listed.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { ESP_CHIPS } from '../../src/protocols/esp/chips.ts';
import { espLadder, LinkCeiling } from '../../src/protocols/esp/link-speed.ts';
import {
  adapterFor,
  linkPlan,
  parseBaudSetting,
  SAFE_BAUD,
} from '../../src/protocols/link-speed.ts';
import { createBoard, listBoards } from '../../src/sim/boards.ts';

const ESP_STUB = { rungs: [1_500_000, 921_600, 460_800, 230_400], chipMax: 1_500_000 };
const ids = (vendorId: number, productId: number) => ({ vendorId, productId });

describe('linkPlan: the ladder per adapter', () => {
  it.each([
    [
      'CP210x 10c4:ea60 (AN205 fixed rates up to 921600)',
      ids(0x10c4, 0xea60),
      [921_600, 460_800, 230_400, 115_200],
    ],
    [
      'CH340 1a86:7523 (2 Mbaud)',
      ids(0x1a86, 0x7523),
      [1_500_000, 921_600, 460_800, 230_400, 115_200],
    ],
    [
      'CH343 1a86:55d3 (6 Mbaud)',
      ids(0x1a86, 0x55d3),
      [1_500_000, 921_600, 460_800, 230_400, 115_200],
    ],
    [
      'CH9102 1a86:55d4 (4 Mbaud)',
      ids(0x1a86, 0x55d4),
      [1_500_000, 921_600, 460_800, 230_400, 115_200],
    ],
    [
      'FT232R 0403:6001 (3 Mbaud)',
      ids(0x0403, 0x6001),
      [1_500_000, 921_600, 460_800, 230_400, 115_200],
    ],
    [
      'FT231X 0403:6015 (3 Mbaud)',
      ids(0x0403, 0x6015),
      [1_500_000, 921_600, 460_800, 230_400, 115_200],
    ],
  ])('%s', (_name, portIds, ladder) => {
    const plan = linkPlan({ ids: portIds, ...ESP_STUB, chip: 'the ESP32 flasher stub' });
    expect(plan.native).toBe(false);
    expect(plan.ladder).toEqual(ladder);
    expect(plan.why).toContain(plan.adapter!.name);
  });

  it('keeps only the rates a fixed-rate bridge makes (CP2102: no 1000000)', () => {
    const plan = linkPlan({
      ids: ids(0x10c4, 0xea60),
      rungs: [1_000_000, 921_600, 500_000],
      chipMax: 2_000_000,
      chip: 'a chip',
    });
    expect(plan.ladder).toEqual([921_600, 500_000, 115_200]);
  });

  it('is limited by the chip where the chip is slower than the adapter', () => {
    const plan = linkPlan({
      ids: ids(0x1a86, 0x55d3),
      ...ESP_STUB,
      chipMax: 921_600,
      chip: 'the ESP32 ROM loader',
    });
    expect(plan.ladder).toEqual([921_600, 460_800, 230_400, 115_200]);
    expect(plan.why).toMatch(/ESP32 ROM loader takes up to 921600/);
  });

  it('says the rate does not matter on Espressif native USB', () => {
    const plan = linkPlan({ ids: ids(0x303a, 0x1001), ...ESP_STUB, chip: 'the stub' });
    expect(plan.native).toBe(true);
    expect(plan.ladder).toEqual([]);
  });

  it.each([
    ['an unknown adapter', ids(0x067b, 0x2303)],
    ['an unknown product of a known vendor', ids(0x1a86, 0x1234)],
    ['a port without USB ids', {}],
  ])('falls back to the safe rate for %s', (_name, portIds) => {
    const plan = linkPlan({ ids: portIds, ...ESP_STUB, chip: 'the stub' });
    expect(plan.adapter).toBeUndefined();
    expect(plan.ladder).toEqual([SAFE_BAUD]);
    expect(plan.why).toMatch(/not one webflash knows/);
  });

  it('rejects a safe rate above the chip maximum', () => {
    expect(() => linkPlan({ ids: {}, rungs: [], chipMax: 57_600, chip: 'x' })).toThrow(RangeError);
  });

  it('finds adapters by exact ids before whole vendors', () => {
    expect(adapterFor(ids(0x303a, 0x0002))?.maxBaudRate).toBeUndefined();
    expect(adapterFor(ids(0x1a86, 0x7523))?.name).toBe('CH340');
  });
});

describe('the simulated bridges and the adapter table', () => {
  // Every serial preset behind a USB-UART bridge: the table, found by the port's USB ids, never
  // promises more than the bridge carries (the CP2102N shares the CP2102's id and carries more).
  const bridged = listBoards()
    .filter((p) => (p.transport ?? 'serial') === 'serial')
    .map((p) => createBoard(p.name, { clock: new VirtualClock(), seed: 1 }))
    .filter((b) => b.wire?.link.kind === 'uart');
  const known = bridged.flatMap((b) => {
    const info = b.wire!.port!.info;
    const adapter = adapterFor({ vendorId: info.usbVendorId, productId: info.usbProductId });
    return adapter ? [[b.name, adapter.maxBaudRate, b.wire!.link.maxBaudRate] as const] : [];
  });

  it('covers every bridge in the table that a preset uses', () => {
    const names = known.map(([name]) => name);
    for (const n of ['esp32', 'esp32-ch340', 'esp32c3-ch343', 'esp32-thing', 'stm32g0']) {
      expect(names).toContain(n);
    }
  });

  it.each(known)('%s: the table says %d, the bridge carries %d', (_name, table, carries) => {
    expect(table).toBeDefined();
    expect(carries).toBeDefined();
    expect(table!).toBeLessThanOrEqual(carries!);
  });

  it('the FT231X board is among them, with the FT-X series id and 3 Mbaud', () => {
    const thing = bridged.find((b) => b.name === 'esp32-thing')!;
    const info = thing.wire!.port!.info;
    expect([info.usbVendorId, info.usbProductId]).toEqual([0x0403, 0x6015]);
    expect(adapterFor({ vendorId: 0x0403, productId: 0x6015 })?.name).toMatch(/FT231X/);
    expect(thing.wire!.link.maxBaudRate).toBe(3_000_000);
  });
});

describe('espLadder', () => {
  const ch340 = { label: 'CH340', usbVendorId: 0x1a86, usbProductId: 0x7523 };

  it('auto: the stub goes to 1500000 behind a CH340, the ROM to its own maximum', () => {
    const chip = ESP_CHIPS.esp32;
    expect(espLadder({ requested: 'auto', port: ch340, chip, isStub: true }).ladder).toEqual([
      1_500_000, 921_600, 460_800, 230_400,
    ]);
    expect(espLadder({ requested: 'auto', port: ch340, chip, isStub: false }).ladder).toEqual([
      921_600, 460_800, 230_400,
    ]);
  });

  it('auto: an unknown adapter stays at 115200', () => {
    const port = { label: 'PL2303', usbVendorId: 0x067b, usbProductId: 0x2303 };
    const r = espLadder({ requested: 'auto', port, chip: ESP_CHIPS.esp32, isStub: true });
    expect(r.ladder).toEqual([]);
  });

  it('auto: leaves out rates that failed earlier in the job', () => {
    const ceiling = new LinkCeiling();
    ceiling.failedAt(1_500_000);
    const r = espLadder({
      requested: 'auto',
      port: ch340,
      chip: ESP_CHIPS.esp32,
      isStub: true,
      ceiling,
    });
    expect(r.ladder).toEqual([921_600, 460_800, 230_400]);
    expect(r.why).toMatch(/1500000 baud and above failed earlier/);
  });

  it('an explicit rate wins over the adapter table', () => {
    const port = { label: 'PL2303', usbVendorId: 0x067b, usbProductId: 0x2303 };
    const r = espLadder({ requested: 460_800, port, chip: ESP_CHIPS.esp32, isStub: true });
    expect(r.ladder).toEqual([460_800, 230_400]);
  });
});

describe('parseBaudSetting', () => {
  it('takes auto and whole rates, and refuses the rest', () => {
    expect(parseBaudSetting('auto')).toBe('auto');
    expect(parseBaudSetting(' AUTO ')).toBe('auto');
    expect(parseBaudSetting('921600')).toBe(921_600);
    for (const bad of ['', 'fast', '-1', '0', '1e6', '115200.5']) {
      expect(() => parseBaudSetting(bad)).toThrow(RangeError);
    }
  });
});
