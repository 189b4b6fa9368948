/**
 * Placement policy (src/job/placement.ts): the engine refuses a region beyond the memory the
 * board reported before erasing or writing anything, for every driver that reports it; shown
 * with the fake session and with the real ESP driver against a simulated ESP32-S3 with 1 MiB of
 * flash (which reports its size through the JEDEC flash id).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { WebflashError } from '../../src/core/errors.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { checkPlacement } from '../../src/job/placement.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import type { JobFailure } from '../../src/job/types.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { signedBundle } from './bundle-fixture.ts';
import { harness, pattern } from './harness.ts';

const flash4k = [{ start: 0, end: 0x40000, name: 'SPI flash' }];

describe('checkPlacement', () => {
  it('accepts regions inside a reported range, and anything when nothing is reported', () => {
    const data = new Uint8Array(0x1000);
    expect(() => checkPlacement([{ name: 'app', address: 0x3f000, data }], flash4k)).not.toThrow();
    expect(() =>
      checkPlacement([{ name: 'app', address: 0x3f001, data }], undefined),
    ).not.toThrow();
    expect(() =>
      checkPlacement([{ name: 'fw', address: 0, data: new Uint8Array(1 << 30), slot: 0 }], flash4k),
    ).not.toThrow();
  });

  it('refuses a region that ends past the flash, with the sizes in the message', () => {
    const data = new Uint8Array(0x1000);
    let err: unknown;
    try {
      checkPlacement([{ name: 'app', address: 0x3f001, data }], flash4k);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebflashError);
    expect(err).toMatchObject({ code: 'plan.out-of-flash' });
    expect((err as Error).message).toBe(
      '"app" (4096 bytes at 0x0003f001) ends at 0x00040001, outside the memory the board ' +
        'reported: SPI flash 0x00000000…0x00040000. Nothing was erased or written.',
    );
  });
});

describe('the engine checks placement before erasing anything', () => {
  it('with any driver that reports its memory (fake session)', async () => {
    const h = harness({ session: { flashRanges: [{ start: 0, end: 0x12000, name: 'flash' }] } });
    const r = (await h.job.run()) as JobFailure;
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('plan.out-of-flash');
    expect(r.flashTouched).toBe(false);
    // The bootloader region fits and comes first; it is not written either.
    expect(h.session.writes).toEqual([]);
  });

  it('with the ESP driver, which knew nothing of the flash size before', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const flash = new FlashModel({ size: 1024 * 1024 });
    const device = new EspDevice({
      chip: chipById('esp32s3')!,
      flash,
      mac: new Uint8Array([0x24, 0x6f, 0x28, 0x01, 0x02, 0x03]),
      resetCircuit: 'auto-reset',
    });
    const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed: 1 });
    const bundle = await signedBundle({
      images: { app: pattern(0x2000, 3), storage: pattern(0x20000, 4) },
      targets: [
        {
          chip: 'esp32s3',
          protocol: 'esp-serial',
          images: [
            { name: 'app', address: 0x10000 },
            { name: 'storage', address: 0xf0000 },
          ],
        },
      ],
    });
    const job = new FlashJob({
      port: wire.port!,
      connector: espDriver,
      source: fromVerifiedBundle(bundle, { mode: 'customer' }),
      clock,
      settings: {},
      advise: recoveryAdvice,
    });
    const phases: string[] = [];
    job.on('phase', (e) => phases.push(e.phase));
    const r = (await job.run()) as JobFailure;
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('plan.out-of-flash');
    expect(r.error.message).toMatch(
      /"storage" \(131072 bytes at 0x000f0000\) ends at 0x00110000.*SPI flash 0x00000000…0x00100000/,
    );
    expect(phases).not.toContain('erasing');
    expect(phases).not.toContain('writing');
    expect(flash.snapshot().every((b) => b === 0xff)).toBe(true);
  });
});
