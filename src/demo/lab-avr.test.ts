/**
 * The technician app flashing the demo lab's Arduino boards, end to end in Node on a
 * VirtualClock: the demo bundle's AVR targets (scripts/avr-demo-release.ts, real HEX sketches),
 * the browser services' connectors over the fake Web Serial, the registry's AVR drivers and the
 * store — the Uno over optiboot, the old Nano found at 57600, the Mega over STK500v2 and the
 * Leonardo through its 1200-baud touch, followed to its bootloader's port and back.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avrDemoRelease } from '../../scripts/avr-demo-release.ts';
import { createBundle } from '../bundle/create.ts';
import { sleep } from '../core/clock.ts';
import { loadDrivers } from '../protocols/registry.ts';
import type { AvrSimBoardHandle } from '../sim/avr/boards.ts';
import { deviceFacts } from '../technician/state/index.ts';
import { CREATED, EXPIRES, key } from '../../test/bundle/fixtures.ts';
import type { DemoLab } from './lab.ts';
import { labStoreOpener, type LabStore } from '../../test/demo/lab-store.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

const avr = avrDemoRelease(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'firmware'));

function bundle(): Uint8Array {
  return createBundle({
    manifest: {
      product: 'lab-test',
      version: '1.0.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      notes: 'AVR store tests.',
      targets: avr.targets,
    },
    images: avr.images,
    signers: [key(1), key(2)],
  });
}

const open = labStoreOpener();
const setup = (): Promise<LabStore> => open(bundle());

/** The sketch image of the target for `chip`, and what the board's flash holds there. */
function written(lab: DemoLab, board: string, chip: string): { want: Uint8Array; got: Uint8Array } {
  const target = avr.targets.find((t) => t.chip === chip)!;
  const image = target.images[0]!;
  const want = avr.images[image.name]!;
  const sim = lab.board(board) as AvrSimBoardHandle;
  return { want, got: sim.flash.read(image.address!, want.length) };
}

const cases = [
  { board: 'uno', chip: 'atmega328p', protocol: 'avr-stk500v1', bootloader: /optiboot 4\.4/ },
  {
    board: 'nano-old',
    chip: 'atmega328p',
    protocol: 'avr-stk500v1',
    bootloader: /ATmegaBOOT 1\.16/,
  },
  { board: 'mega2560', chip: 'atmega2560', protocol: 'avr-stk500v2', bootloader: /STK500v2/ },
  { board: 'leonardo', chip: 'atmega32u4', protocol: 'avr109', bootloader: /CATERIN/ },
] as const;

describe('Arduino boards in the demo lab', () => {
  for (const c of cases) {
    it(`flashes and verifies a virtual ${c.board} (${c.protocol})`, async () => {
      const { lab, store, clock } = await setup();
      expect(await store.getState().choosePort({ board: c.board })).toBe(true);
      expect(store.getState().port?.protocolHint).toBe(c.protocol);
      const outcome = await store.getState().startFlash();
      expect(outcome).toMatchObject({ ok: true });
      const s = store.getState();
      expect(s.job.protocol).toBe(c.protocol);
      expect(s.device).toMatchObject({ protocol: c.protocol, chip: c.chip });
      expect(outcome?.ok && outcome.regions.every((r) => r.verified)).toBe(true);
      const facts = Object.fromEntries(deviceFacts(s.device!).map((f) => [f.key, f.value]));
      expect(JSON.stringify(facts)).toMatch(c.bootloader);
      const { want, got } = written(lab, c.board, c.chip);
      expect(got).toEqual(want);
      // The sketch runs once the job has left the bootloader; the serial monitor opening the
      // port afterwards resets the board (DTR), and its bootloader times out into the sketch.
      await sleep(clock, 10_000);
      expect((lab.board(c.board) as AvrSimBoardHandle).device.state).toBe('application');
    });
  }

  it('says at which speed the old Nano behind its FT232 answered', async () => {
    const { store } = await setup();
    await store.getState().choosePort({ board: 'nano-old' });
    expect(store.getState().port?.bootloaderBaud).toBeUndefined();
    expect((await store.getState().startFlash())?.ok).toBe(true);
    const messages = store.getState().log.entries.map((e) => e.message);
    expect(messages).toContain('The bootloader answered at 57600 baud.');
  });

  it('follows the Leonardo from its sketch port to its bootloader port and back', async () => {
    const { lab, store, clock } = await setup();
    // Blank, the board runs Caterina from power-on: the first port is the bootloader's.
    await store.getState().choosePort({ board: 'leonardo' });
    expect(store.getState().port!.handle.info.usbProductId).toBe(0x0036);
    expect((await store.getState().startFlash())?.ok).toBe(true);
    await sleep(clock, 10_000);
    const sim = lab.board('leonardo') as AvrSimBoardHandle;
    expect(sim.wire!.port?.info.usbProductId).toBe(0x8036);
    expect(lab.state.getState().plugged).toBe(true);
    // Now with a sketch: the next flash touches the sketch's port at 1200 baud and follows the
    // board to Caterina's port (2341:0036), then back.
    const resets = sim.device.resets;
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(sim.device.resets).toBeGreaterThan(resets);
    expect(store.getState().log.entries.some((e) => /1200/.test(e.message))).toBe(true);
    await sleep(clock, 10_000);
    expect(sim.wire!.port?.info.usbProductId).toBe(0x8036);
  });
});
