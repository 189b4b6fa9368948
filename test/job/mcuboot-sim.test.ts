/**
 * The engine flashing the simulated nRF52840 with MCUboot (src/sim/mcuboot) through the
 * 'mcuboot-smp' driver, from signed bundles holding imgtool-signed images: upload, test, reset,
 * reconnect, confirm; resumption after faults; an image already on the board; serial recovery.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { JobResult, JobSettings } from '../../src/job/types.ts';
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
): Promise<{ result: JobResult; logs: LogEntry[] }> {
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: r.board.wire.port!,
    connector: createMcubootDriver({ portWatcher: wirePortWatcher(r.board.wire), ...o.driver }),
    source: fromVerifiedBundle(await bundleFor(images, o.confirm), { mode: 'customer' }),
    clock: r.clock,
    logger: createLogger(
      (e) => logs.push(e),
      () => r.clock.now(),
    ),
    settings: { retryBaseDelayMs: 100, timeouts: { reset: 60_000 }, ...o.settings },
  });
  const result = await job.run();
  return { result, logs };
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
    const { result, logs } = await flash(r);
    expect(result.ok).toBe(true);
    expect(uploads(r)).toHaveLength(count);
    expect(
      logs.some((l) => /already running on the board; nothing to upload/.test(l.message)),
    ).toBe(true);
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
