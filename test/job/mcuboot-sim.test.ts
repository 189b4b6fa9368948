/**
 * The engine flashing the simulated nRF52840 with MCUboot (src/sim/mcuboot) through the
 * 'mcuboot-smp' driver, from signed bundles holding imgtool-signed images: upload, test, reset,
 * reconnect, confirm; resumption after faults; an image already on the board; serial recovery.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { JobResult, JobSettings, ProgressEvent } from '../../src/job/types.ts';
import {
  createMcubootDriver,
  type McubootDriverOptions,
} from '../../src/protocols/mcuboot/driver.ts';
import { parseMcubootImage } from '../../src/protocols/mcuboot/image.ts';
import { createMcubootBoard, type CreateMcubootOptions } from '../../src/sim/mcuboot/boards.ts';
import { imageInSlot } from '../../src/sim/mcuboot/slot-info.ts';
import { NRF52840_SLOTS } from '../../src/sim/mcuboot/slots.ts';
import { wirePortWatcher } from '../../src/sim/port-watcher.ts';
import type { FaultOptions } from '../../src/sim/serial-wire.ts';
import { fixture } from '../mcuboot/fixtures.ts';
import { signedBundle } from './bundle-fixture.ts';

const APP = fixture('app-b-ed25519-1.3.0.bin');
const APP_HASH = parseMcubootImage(APP).hash;

function rig(options: Partial<CreateMcubootOptions> = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createMcubootBoard({ clock, seed: 5, ...options });
  return { clock, board };
}
type Rig = ReturnType<typeof rig>;

async function bundleFor(images: Record<string, Uint8Array>, confirm?: 'host' | 'application') {
  return signedBundle({
    images,
    targets: [
      {
        chip: 'nrf52840',
        protocol: 'mcuboot-smp',
        ...(confirm ? { confirm } : {}),
        images: Object.keys(images).map((name, slot) => ({ name, slot })),
      } as never,
    ],
  });
}

async function flash(
  r: Rig,
  images: Record<string, Uint8Array> = { app: APP },
  o: {
    settings?: JobSettings;
    driver?: McubootDriverOptions;
    confirm?: 'host' | 'application';
  } = {},
): Promise<{ result: JobResult; logs: LogEntry[]; progress: ProgressEvent[] }> {
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: r.board.wire.port!,
    connector: createMcubootDriver({
      portWatcher: wirePortWatcher(r.board.wire),
      chip: 'nrf52840',
      ...o.driver,
    }),
    source: fromVerifiedBundle(await bundleFor(images, o.confirm), { mode: 'customer' }),
    clock: r.clock,
    logger: createLogger(
      (e) => logs.push(e),
      () => r.clock.now(),
    ),
    settings: { retryBaseDelayMs: 100, timeouts: { reset: 60_000 }, ...o.settings },
  });
  const progress: ProgressEvent[] = [];
  job.on('progress', (p) => progress.push(p));
  const result = await job.run();
  return { result, logs, progress };
}

function primary(r: Rig) {
  return imageInSlot(r.board.flash, NRF52840_SLOTS.primary);
}

/** Upload requests the board answered, across resets. */
function uploads(r: Rig) {
  return r.board.device.traffic.filter((t) => t.header.group === 1 && t.header.id === 1);
}

/** Lets virtual time run until `ms` have passed (the board boots, the app runs). */
async function idle(r: Rig, ms: number): Promise<void> {
  const until = r.clock.now() + ms;
  await new Promise<void>((resolve) => r.clock.setTimer(ms, resolve));
  expect(r.clock.now()).toBeGreaterThanOrEqual(until);
}

describe('mcuboot-smp through the engine', () => {
  it('uploads, tests, resets, and confirms the new image, which survives the next reset', async () => {
    const r = rig();
    const { result, logs } = await flash(r);
    expect(result.ok, JSON.stringify(logs.slice(-8))).toBe(true);
    expect(primary(r)?.hash).toEqual(APP_HASH);
    expect(r.board.device.bootLog).toEqual(['image 0: swap test']);
    // Every upload chunk but the first continues where the board said.
    const ups = uploads(r);
    expect(ups[0]!.body['len']).toBe(APP.length);
    expect(ups.filter((u) => u.body['off'] === 0)).toHaveLength(1);
    expect(ups.at(-1)!.reply['match']).toBe(true);
    r.board.wire.resetDevice();
    await idle(r, 2000);
    expect(r.board.device.bootLog).toEqual(['image 0: swap test']); // no revert
    expect(primary(r)?.hash).toEqual(APP_HASH);
    expect(r.board.device.state).toBe('application');
  });

  it('sizes chunks to the buffer the board reports', async () => {
    const r = rig({ board: { bufSize: 1024 } });
    expect((await flash(r)).result.ok).toBe(true);
    const packets = uploads(r).map((u) => (u.body['data'] as Uint8Array).length);
    expect(Math.max(...packets)).toBeGreaterThan(700);
    expect(Math.max(...packets)).toBeLessThanOrEqual(1024 - 8 - 4);
  });

  it('leaves confirmation to the application when the target says so', async () => {
    const r = rig({ board: { selfConfirm: true } });
    const { result, logs } = await flash(r, { app: APP }, { confirm: 'application' });
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(
      r.board.device.traffic.some((t) => t.header.id === 0 && t.body['confirm'] === true),
    ).toBe(false);
    r.board.wire.resetDevice();
    await idle(r, 2000);
    expect(primary(r)?.hash).toEqual(APP_HASH); // the application confirmed itself
  });

  it('an application that never confirms is reverted by MCUboot at the next reset', async () => {
    const r = rig();
    const before = primary(r)!.hash;
    expect((await flash(r, { app: APP }, { confirm: 'application' })).result.ok).toBe(true);
    r.board.wire.resetDevice();
    await idle(r, 2000);
    expect(r.board.device.bootLog).toEqual(['image 0: swap test', 'image 0: revert']);
    expect(primary(r)?.hash).toEqual(before);
  });

  it('an image already running is not uploaded again', async () => {
    const r = rig();
    expect((await flash(r)).result.ok).toBe(true);
    const count = uploads(r).length;
    const { result, logs, progress } = await flash(r);
    expect(result.ok).toBe(true);
    expect(uploads(r)).toHaveLength(count);
    // The hash check is one step: the comparison goes from nothing to all of the image.
    const compared = progress.filter((p) => p.phase === 'comparing');
    expect(compared.map((p) => p.regionBytesDone)).toEqual([APP.length, APP.length]);
    expect(
      logs.some((l) =>
        /already on the device \(running, same hash\); nothing to send/.test(l.message),
      ),
    ).toBe(true);
    // Delta update: the image hash in the state list is the whole comparison.
    expect(result.ok && result.delta).toEqual({ unchanged: 1, total: 1 });
  });

  it('a new image is one changed unit; delta off leaves the comparison to the upload', async () => {
    const r = rig();
    const first = await flash(r);
    expect(first.result.ok && first.result.delta).toEqual({ unchanged: 0, total: 1 });
    const again = await flash(r, { app: APP }, { settings: { delta: false } });
    expect(again.result.ok && again.result.delta).toBeUndefined();
  });

  it('an image already waiting in slot 1 (pending) is started, not uploaded again', async () => {
    const r = rig();
    expect((await flash(r, { app: APP }, { settings: { reset: false } })).result.ok).toBe(true);
    const count = uploads(r).length;
    const link = await r.board.wire.port!.open({ baudRate: 115200 });
    const { SmpClient } = await import('../../src/protocols/mcuboot/client.ts');
    await new SmpClient(link, { clock: r.clock }).setImageState({ hash: APP_HASH, confirm: false });
    await link.close();
    const { result, logs } = await flash(r);
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(uploads(r)).toHaveLength(count);
    expect(
      logs.some((l) =>
        /already on the device \(waiting to be started, same hash\)/.test(l.message),
      ),
    ).toBe(true);
    expect(primary(r)?.hash).toEqual(APP_HASH);
  });

  it('refuses a bundle image that is not an MCUboot image before sending anything', async () => {
    const r = rig();
    const { result } = await flash(r, { app: fixture('app-b.bin') });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error.message).toMatch(/Not a valid MCUboot image: the header magic/);
    expect(uploads(r)).toHaveLength(0);
  });

  it('fails when MCUboot refuses the image (signed with another key)', async () => {
    const { buildMcubootImage } = await import('../../src/sim/mcuboot/image-tools.ts');
    const foreign = buildMcubootImage({
      version: { major: 9, minor: 0, revision: 0, build: 0 },
      body: new Uint8Array(2000).fill(0x42),
      secretKey: new Uint8Array(32).fill(9),
    });
    const r = rig();
    const before = primary(r)!.hash;
    const { result, logs } = await flash(r, { app: foreign });
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('verify.mismatch');
      expect(result.error.message).toMatch(/MCUboot did not start the new image/);
    }
    expect(r.board.device.bootLog[0]).toMatch(
      /invalid secondary \(no configured key signed the image\); erased/,
    );
    expect(primary(r)?.hash).toEqual(before);
  });

  it('flashes a multi-image pair; both swap at one reset', async () => {
    const { NRF52840_TWO_IMAGES } = await import('../../src/sim/mcuboot/boards.ts');
    const pairs = NRF52840_TWO_IMAGES;
    const r = rig({
      board: { pairs },
      images: [
        { address: pairs[0]!.primary.address, data: fixture('app-a-ed25519-1.2.3.bin') },
        { address: pairs[1]!.primary.address, data: fixture('app-b-ed25519-1.3.0.bin') },
      ],
    });
    const app = fixture('multi-app-1.0.0.bin');
    const net = fixture('multi-net-1.0.0.bin');
    const { result, logs } = await flash(r, { app, net });
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(r.board.device.bootLog).toEqual(['image 0: swap test', 'image 1: swap test']);
    expect(imageInSlot(r.board.flash, pairs[0]!.primary)?.hash).toEqual(
      parseMcubootImage(app).hash,
    );
    expect(imageInSlot(r.board.flash, pairs[1]!.primary)?.hash).toEqual(
      parseMcubootImage(net).hash,
    );
    const first = uploads(r).filter((u) => u.body['off'] === 0);
    expect(first.map((u) => u.body['image'])).toEqual([undefined, 1]);
  });
});

describe('mcuboot-smp identity', () => {
  it('names the board and CPU from OS info; the chip from the driver option, else the board', async () => {
    const { silentLogger } = await import('../../src/core/log.ts');
    const r = rig();
    await idle(r, 1000);
    const session = await createMcubootDriver().connect(r.board.wire.port!, {
      clock: r.clock,
      logger: silentLogger,
    });
    expect(session.identity).toMatchObject({
      protocol: 'mcuboot-smp',
      chip: 'nrf52840dk',
      bootloaderVersion: 'MCUboot',
      details: { Board: 'nrf52840dk', Processor: 'cortex-m4', 'SMP version': '2' },
    });
    expect(session.identity.details!['Image 0 slot 0']).toMatch(
      /^1\.0\.0 \(active, confirmed\) [0-9a-f]{16}…$/,
    );
    expect(await session.readInstalledFirmware()).toEqual({ version: '1.0.0' });
    await session.close();
    const s = rig({ recovery: true });
    await idle(s, 1000);
    const rec = await createMcubootDriver().connect(s.board.wire.port!, {
      clock: s.clock,
      logger: silentLogger,
    });
    expect(rec.identity.chip).toBe('mcuboot');
    expect(rec.identity.name).toBe('mcuboot (MCUboot serial recovery)');
    await rec.close();
  });
});

describe('mcuboot-smp faults (seeded)', () => {
  /** Bytes of image data the host sent in upload chunks. */
  const sentData = (r: Rig): number =>
    uploads(r).reduce((n, u) => n + (u.body['data'] as Uint8Array).length, 0);

  it.each([
    { seed: 11, dropRate: 0.0005 },
    { seed: 12, corruptRate: 0.0005 },
    { seed: 13, dropRate: 0.0003, corruptRate: 0.0003, delayRate: 0.02, delayMs: 400 },
  ] satisfies FaultOptions[])('lost and damaged bytes: %o', async (faults) => {
    const r = rig();
    r.board.wire.setFaults(faults);
    const { result, logs } = await flash(
      r,
      { app: APP },
      { settings: { maxAttempts: 6, maxAttemptsTotal: 30 } },
    );
    expect(result.ok, `seed ${faults.seed}: ${logs.map((l) => l.message).join('\n')}`).toBe(true);
    expect(primary(r)?.hash).toEqual(APP_HASH);
    // Resumed, never restarted: each byte sent at most a few times, the first chunk once.
    expect(uploads(r).filter((u) => u.body['off'] === 0).length).toBe(1);
    expect(sentData(r)).toBeLessThan(APP.length * 1.5);
  });

  it('any seed: the image ends up running, and the upload never goes back (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const r = rig();
        r.board.wire.setFaults({ seed, dropRate: 0.0003, corruptRate: 0.0003 });
        const { result, logs } = await flash(
          r,
          { app: APP },
          {
            settings: { maxAttempts: 8, maxAttemptsTotal: 40 },
          },
        );
        const log = `seed ${seed}: ${logs.map((l) => l.message).join('\n')} ${r.board.device.bootLog.join('; ')}`;
        expect(result.ok, log).toBe(true);
        expect(primary(r)?.hash, log).toEqual(APP_HASH);
        // Never started over: a first chunk sent again (its reply was lost) resumes by "sha",
        // and a lost reply to the last chunk is found out from the state list.
        expect(
          logs.some((l) => /starting it again/.test(l.message)),
          `seed ${seed}`,
        ).toBe(false);
        expect(sentData(r)).toBeLessThan(APP.length * 1.6);
      }),
      { numRuns: 16, seed: 2026 },
    );
  });

  it('replies damaged after the board wrote the chunk: it names the offset to go on from', async () => {
    const r = rig();
    r.board.wire.setFaults({ seed: 21, corruptRate: 0.002, direction: 'to-host' });
    const { result, logs } = await flash(
      r,
      { app: APP },
      { settings: { maxAttempts: 6, maxAttemptsTotal: 30 } },
    );
    expect(result.ok, `seed 21: ${logs.map((l) => l.message).join('\n')}`).toBe(true);
    // A chunk sent again after its reply was lost is not written twice: the board answers
    // with the offset it already reached, and no flash word is programmed over.
    const offs = uploads(r).map((u) => u.body['off']);
    expect(new Set(offs).size).toBeLessThan(offs.length);
    expect(r.board.flash.counters.programsOverNonErased).toBe(0);
    expect(primary(r)?.hash).toEqual(APP_HASH);
  });

  it('console text between and before frames is skipped', async () => {
    const r = rig();
    r.board.device.consoleNoise('[00:00:01.000,000] <inf> app: tick\r\n', 3);
    const first = await flash(r);
    expect(first.result.ok).toBe(true);
    const s = rig();
    s.board.device.consoleNoise('<dbg> partial line without end ', 5);
    const second = await flash(s);
    expect(second.result.ok, second.logs.map((l) => l.message).join('\n')).toBe(true);
  });

  it('a board reset in the middle of the upload: it comes back, says it lost the upload, which starts again', async () => {
    const r = rig();
    let armed = true;
    const reset = (): void => {
      if (armed && uploads(r).length === 6) {
        armed = false;
        r.board.wire.resetDevice();
      }
    };
    const wrapped = r.board.device.receive.bind(r.board.device);
    r.board.device.receive = (d: Uint8Array) => {
      wrapped(d);
      reset();
    };
    const { result, logs } = await flash(r);
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(logs.some((l) => /no upload of app in progress/.test(l.message))).toBe(true);
    expect(r.board.device.bootLog[0]).toBe('image 0: swap test');
    expect(primary(r)?.hash).toEqual(APP_HASH);
  });

  it('unplugged in the middle of the upload and plugged back: the upload goes on', async () => {
    const r = rig();
    r.board.wire.unplugAfter(3000, 'to-device');
    let replugged = false;
    r.board.wire.onPortChange((c) => {
      if (c.type === 'disconnect' && !replugged) {
        replugged = true;
        r.clock.setTimer(1500, () => r.board.wire.plug());
      }
    });
    const { result, logs } = await flash(r);
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(logs.some((l) => /went away at byte/.test(l.message))).toBe(true);
    expect(primary(r)?.hash).toEqual(APP_HASH);
  });
});

describe('mcuboot-smp in MCUboot serial recovery', () => {
  it('uploads into the primary slot and resets into the new image', async () => {
    const r = rig({ recovery: true });
    const { result, logs } = await flash(r, { app: APP }, { driver: { chip: 'nrf52840' } });
    expect(result.ok, logs.map((l) => l.message).join('\n')).toBe(true);
    expect(logs.some((l) => /MCUboot serial recovery/.test(l.message))).toBe(true);
    expect(primary(r)?.hash).toEqual(APP_HASH);
    await idle(r, 2000);
    expect(r.board.device.state).toBe('application');
    expect(r.board.device.bootLog).toEqual(['recovery button held']);
    // Recovery asks again for bytes past the last 4-byte boundary; nothing goes twice otherwise.
    expect(uploads(r).filter((u) => u.body['off'] === 0)).toHaveLength(1);
  });

  it('an image the bootloader does not accept is not listed after the upload: the job fails', async () => {
    const { buildMcubootImage } = await import('../../src/sim/mcuboot/image-tools.ts');
    const foreign = buildMcubootImage({
      version: { major: 3, minor: 0, revision: 0, build: 0 },
      body: new Uint8Array(1500).fill(7),
      secretKey: new Uint8Array(32).fill(5),
    });
    const r = rig({ recovery: true });
    const { result } = await flash(r, { app: foreign }, { driver: { chip: 'nrf52840' } });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('verify.mismatch');
      expect(result.phase).toBe('verifying');
    }
    // Written twice (the engine rewrites a region that failed verification once), then given up.
    expect(uploads(r).filter((u) => u.body['off'] === 0)).toHaveLength(2);
  });

  it('any seed: the image ends up in the primary slot and the board runs it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const r = rig({ recovery: true });
        r.board.wire.setFaults({ seed, dropRate: 0.0003, corruptRate: 0.0003 });
        const { result, logs } = await flash(
          r,
          { app: APP },
          {
            driver: { chip: 'nrf52840' },
            settings: { maxAttempts: 8, maxAttemptsTotal: 40 },
          },
        );
        await idle(r, 2000);
        const log = `seed ${seed}: ${logs.map((l) => l.message).join('\n')}`;
        expect(result.ok, log).toBe(true);
        expect(primary(r)?.hash, log).toEqual(APP_HASH);
        expect(r.board.device.state, log).toBe('application');
      }),
      { numRuns: 8, seed: 2026 },
    );
  });
});
