import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import { installDemoLab, type DemoLab } from './lab.ts';

let lab: DemoLab | undefined;
afterEach(() => {
  lab?.dispose();
  lab = undefined;
});

function setup(): { lab: DemoLab; nav: { serial?: Serial } } {
  const nav: { serial?: Serial } = {};
  lab = installDemoLab({ clock: new VirtualClock({ yieldToHost: setImmediate }), navigator: nav });
  return { lab, nav };
}

describe('demo lab', () => {
  it('offers the ESP boards and installs the fake navigator.serial', () => {
    const { lab, nav } = setup();
    expect(nav.serial).toBe(lab.serial);
    expect(lab.types.map((t) => t.name)).toContain('esp32s3');
    expect(lab.types.every((t) => t.chip.startsWith('esp'))).toBe(true);
  });

  it('makes the chooser pick the prepared board, one board on the bench at a time', async () => {
    const { lab, nav } = setup();
    expect(lab.prepare({ board: 'esp32s3' })).toMatch(/^Virtual ESP32-S3/);
    const s3 = await nav.serial!.requestPort();
    expect(s3.getInfo()).toEqual({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    lab.prepare({ board: 'esp32' });
    const esp32 = await nav.serial!.requestPort();
    expect(esp32.getInfo()).toEqual({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    expect(s3.connected).toBe(false);
    expect(await nav.serial!.getPorts()).toEqual([esp32]);
  });

  it('pulls and re-plugs the cable, tracking it in its state', async () => {
    const { lab, nav } = setup();
    lab.prepare({ board: 'esp32c3' });
    const first = await nav.serial!.requestPort();
    expect(lab.state.getState()).toEqual({ current: 'esp32c3', plugged: true });
    lab.unplug();
    expect(lab.state.getState().plugged).toBe(false);
    expect(first.connected).toBe(false);
    lab.plug();
    expect(lab.state.getState().plugged).toBe(true);
    const [again] = await nav.serial!.getPorts();
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
  });

  it('refuses an unknown board type', () => {
    const { lab } = setup();
    expect(() => lab.prepare({ board: 'z80' })).toThrow(RangeError);
  });
});
