/**
 * The simulated nRF52840 with MCUboot, request by request, against smp_group_0.rst,
 * smp_group_1.rst (Zephyr application) and MCUboot's boot_serial.c (serial recovery): every
 * command, every rc / err path in SMP version 2 and version 1, and what MCUboot does at reset.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { SmpClient } from '../../src/protocols/mcuboot/client.ts';
import { SmpError } from '../../src/protocols/mcuboot/errors.ts';
import { parseMcubootImage } from '../../src/protocols/mcuboot/image.ts';
import { createMcubootBoard, factoryImage } from '../../src/sim/mcuboot/boards.ts';
import type { McubootBoardOptions } from '../../src/sim/mcuboot/board.ts';
import { buildMcubootImage } from '../../src/sim/mcuboot/image-tools.ts';
import { imageInSlot } from '../../src/sim/mcuboot/slot-info.ts';
import { NRF52840_SLOTS } from '../../src/sim/mcuboot/slots.ts';
import { LINK_IDEAL } from '../../src/sim/serial-wire.ts';
import { fixture } from '../mcuboot/fixtures.ts';

const APP = fixture('app-b-ed25519-1.3.0.bin');
const FACTORY_HASH = parseMcubootImage(factoryImage()).hash;

async function board(
  o: {
    recovery?: boolean;
    board?: Partial<McubootBoardOptions>;
    images?: { address: number; data: Uint8Array }[];
  } = {},
) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const b = createMcubootBoard({ clock, link: LINK_IDEAL, ...o });
  await wait(clock, 1000);
  const link = await b.wire.port!.open({ baudRate: 115200 });
  const client = new SmpClient(link, { clock, timeoutMs: 60_000 });
  return { clock, b, client, link };
}
type Rig = Awaited<ReturnType<typeof board>>;

function wait(clock: VirtualClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

/** The rc / err of a refused request, in the client's current SMP version. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SmpError);
    return (err as SmpError).symbol;
  }
  throw new Error('the request was not refused');
}

/** Both versions: [version 2 symbol, version 1 symbol]. */
async function both(r: Rig, send: () => Promise<unknown>): Promise<[string, string]> {
  r.client.version = 1;
  const v2 = await refusal(send());
  r.client.version = 0;
  const v1 = await refusal(send());
  r.client.version = 1;
  return [v2, v1];
}

async function uploadAll(
  r: Rig,
  data: Uint8Array,
  sha?: Uint8Array,
): Promise<{ off: number; match?: boolean }> {
  let off = 0;
  let last: { off: number; match?: boolean } = { off: 0 };
  while (off < data.length) {
    const chunk = data.subarray(off, off + 256);
    last = await r.client.upload(
      off === 0
        ? { off, len: data.length, data: chunk, sha: sha ?? sha256(data) }
        : { off, data: chunk },
    );
    off = last.off;
  }
  return last;
}

describe('application: OS group', () => {
  it('echo, MCUmgr parameters, OS info, bootloader info', async () => {
    const r = await board();
    expect(await r.client.echo('hello')).toBe('hello');
    expect(await r.client.mcumgrParams()).toEqual({ bufSize: 384, bufCount: 4 });
    // os_mgmt_info: fixed field order whatever the letters' order; no format is the kernel name.
    expect(await r.client.osInfo('p')).toBe('cortex-m4');
    expect(await r.client.osInfo('ms')).toBe('Zephyr arm');
    expect(await r.client.osInfo('im')).toBe('arm nrf52840dk');
    expect(await r.client.osInfo('')).toBe('Zephyr');
    expect(await r.client.osInfo('a')).toBe(
      'Zephyr unknown v3.7.0 3.7.0 arm cortex-m4 nrf52840dk Zephyr',
    );
    expect(await r.client.bootloaderInfo()).toEqual({ bootloader: 'MCUboot' });
    expect(await r.client.bootloaderInfo('mode')).toEqual({ mode: 3 });
    expect(await both(r, () => r.client.osInfo('q'))).toEqual([
      'OS_MGMT_ERR_INVALID_FORMAT',
      'MGMT_ERR_EINVAL',
    ]);
    expect(await both(r, () => r.client.osInfo('b'))).toEqual([
      'OS_MGMT_ERR_INVALID_FORMAT',
      'MGMT_ERR_EINVAL',
    ]);
    // os_mgmt_bootloader_info returns its group code as the rc: {"rc": 3} in both versions.
    expect(await both(r, () => r.client.bootloaderInfo('nope'))).toEqual([
      'MGMT_ERR_EINVAL',
      'MGMT_ERR_EINVAL',
    ]);
    expect(await refusal(r.client.request('write', 0, 0, {}))).toBe('MGMT_ERR_EINVAL');
  });

  it('unknown commands and groups, and a read of a write-only command: ENOTSUP', async () => {
    const r = await board();
    expect(await refusal(r.client.request('read', 1, 3, {}))).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.request('read', 9, 0, {}))).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.request('read', 1, 1, {}))).toBe('MGMT_ERR_ENOTSUP');
  });

  it('reset: an empty reply, then the USB port leaves and comes back with the application', async () => {
    const r = await board();
    const first = r.b.wire.port;
    await r.client.reset();
    expect(r.b.wire.port).toBe(first);
    await wait(r.clock, 300);
    expect(r.b.wire.port).toBeUndefined();
    await wait(r.clock, 1000);
    expect(r.b.wire.port).not.toBe(first);
    expect(r.b.device.state).toBe('application');
    expect(r.b.device.resets).toBe(2);
  });
});

describe('application: image group', () => {
  it('state read: the factory image active and confirmed in slot 0', async () => {
    const r = await board();
    expect(await r.client.imageState()).toEqual([
      {
        image: 0,
        slot: 0,
        version: '1.0.0',
        hash: FACTORY_HASH,
        bootable: true,
        pending: false,
        confirmed: true,
        active: true,
        permanent: false,
      },
    ]);
  });

  it('upload into slot 1 with "match", then test, then permanent', async () => {
    const r = await board();
    expect(await uploadAll(r, APP)).toEqual({ off: APP.length, match: true });
    const hash = parseMcubootImage(APP).hash;
    const listed = await r.client.imageState();
    expect(listed[1]).toMatchObject({
      slot: 1,
      version: '1.3.0',
      hash,
      pending: false,
      active: false,
    });
    const tested = await r.client.setImageState({ hash, confirm: false });
    expect(tested[1]).toMatchObject({ slot: 1, pending: true, permanent: false });
    expect(tested[0]).toMatchObject({ slot: 0, active: true, confirmed: true });
    // Marking it again changes nothing; a permanent request for a test-pending image is refused.
    expect((await r.client.setImageState({ hash, confirm: false }))[1]).toMatchObject({
      pending: true,
    });
    expect(await both(r, () => r.client.setImageState({ hash, confirm: true }))).toEqual([
      'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
      'MGMT_ERR_EBADSTATE',
    ]);
  });

  it('upload with a wrong "sha": match false', async () => {
    const r = await board();
    expect(await uploadAll(r, APP, new Uint8Array(32))).toEqual({ off: APP.length, match: false });
  });

  it('an upload resumes from the "sha" of an unfinished one, and a wrong offset is not written', async () => {
    const r = await board();
    const sha = sha256(APP);
    expect(
      await r.client.upload({ off: 0, len: APP.length, sha, data: APP.subarray(0, 200) }),
    ).toEqual({ off: 200 });
    expect(await r.client.upload({ off: 200, data: APP.subarray(200, 400) })).toEqual({ off: 400 });
    expect(
      await r.client.upload({ off: 0, len: APP.length, sha, data: APP.subarray(0, 200) }),
    ).toEqual({ off: 400 });
    const before = r.b.flash.counters.programOps;
    expect(await r.client.upload({ off: 1000, data: APP.subarray(1000, 1100) })).toEqual({
      off: 400,
    });
    expect(r.b.flash.counters.programOps).toBe(before);
  });

  it('upload refusals in SMP version 2 (group errors) and version 1 (translated rc)', async () => {
    const r = await board();
    const head = APP.subarray(0, 100);
    expect(await both(r, () => r.client.request('write', 1, 1, { off: 0, data: head }))).toEqual([
      'IMG_MGMT_ERR_INVALID_LENGTH',
      'MGMT_ERR_EINVAL',
    ]);
    expect(
      await both(r, () => r.client.upload({ off: 0, len: 100, data: head.subarray(0, 20) })),
    ).toEqual(['IMG_MGMT_ERR_INVALID_IMAGE_HEADER', 'MGMT_ERR_EINVAL']);
    expect(
      await both(r, () => r.client.upload({ off: 0, len: 100, data: new Uint8Array(64) })),
    ).toEqual(['IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC', 'MGMT_ERR_EUNKNOWN']);
    expect(await both(r, () => r.client.upload({ off: 0, len: 0x80000, data: head }))).toEqual([
      'IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE',
      'MGMT_ERR_EUNKNOWN',
    ]);
    expect(
      await both(r, () => r.client.upload({ off: 0, len: 100, image: 3, data: head })),
    ).toEqual(['IMG_MGMT_ERR_INVALID_SLOT', 'MGMT_ERR_EINVAL']);
    expect(await both(r, () => r.client.request('write', 1, 1, { off: 0 }))).toEqual([
      'IMG_MGMT_ERR_INVALID_IMAGE_HEADER',
      'MGMT_ERR_EINVAL',
    ]);
    expect(await both(r, () => r.client.request('write', 1, 1, { data: head }))).toEqual([
      'IMG_MGMT_ERR_INVALID_OFFSET',
      'MGMT_ERR_EINVAL',
    ]);
    expect(
      await both(r, () =>
        r.client.upload({ off: 0, len: 100, sha: new Uint8Array(33), data: head }),
      ),
    ).toEqual(['IMG_MGMT_ERR_INVALID_HASH', 'MGMT_ERR_EINVAL']);
    expect(await refusal(r.client.request('write', 1, 1, { off: 0, data: 'text' }))).toBe(
      'MGMT_ERR_EINVAL',
    );
    expect(await r.client.upload({ off: 0, len: 150, data: head })).toEqual({ off: 100 });
    expect(await both(r, () => r.client.upload({ off: 100, data: new Uint8Array(60) }))).toEqual([
      'IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN',
      'MGMT_ERR_EUNKNOWN',
    ]);
  });

  it('no upload while slot 1 is pending; no test of the running image; unknown hashes', async () => {
    const r = await board();
    await uploadAll(r, APP);
    const hash = parseMcubootImage(APP).hash;
    await r.client.setImageState({ hash, confirm: false });
    expect(
      await both(r, () => r.client.upload({ off: 0, len: APP.length, data: APP.subarray(0, 100) })),
    ).toEqual(['IMG_MGMT_ERR_NO_FREE_SLOT', 'MGMT_ERR_EBADSTATE']);
    expect(
      await both(r, () => r.client.setImageState({ hash: FACTORY_HASH, confirm: false })),
    ).toEqual(['IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED', 'MGMT_ERR_EUNKNOWN']);
    expect(
      await both(r, () => r.client.setImageState({ hash: new Uint8Array(32), confirm: false })),
    ).toEqual(['IMG_MGMT_ERR_HASH_NOT_FOUND', 'MGMT_ERR_EUNKNOWN']);
    expect(await both(r, () => r.client.setImageState({ confirm: false }))).toEqual([
      'IMG_MGMT_ERR_INVALID_HASH',
      'MGMT_ERR_EINVAL',
    ]);
    expect(await both(r, () => r.client.erase())).toEqual([
      'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
      'MGMT_ERR_EBADSTATE',
    ]);
  });

  it('state write follows img_mgmt_set_next_boot_slot: permanent, revert and hash rules', async () => {
    const r = await board();
    await uploadAll(r, APP);
    const hash = parseMcubootImage(APP).hash;
    expect(
      await both(r, () => r.client.setImageState({ hash: hash.subarray(0, 31), confirm: true })),
    ).toEqual(['IMG_MGMT_ERR_INVALID_HASH', 'MGMT_ERR_EINVAL']);
    // Permanent: the secondary is next; testing it or confirming the running one is refused.
    expect((await r.client.setImageState({ hash, confirm: true }))[1]).toMatchObject({
      pending: true,
      permanent: true,
    });
    expect((await r.client.setImageState({ hash, confirm: true }))[1]).toMatchObject({
      permanent: true,
    });
    expect(await refusal(r.client.setImageState({ hash, confirm: false }))).toBe(
      'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
    );
    expect(await refusal(r.client.setImageState({ confirm: true }))).toBe(
      'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
    );
    expect((await r.client.request('read', 1, 0, {}))['splitStatus']).toBe(0);
  });

  it('while a test image runs (revert next): tests are refused, confirming it is allowed', async () => {
    const r = await board();
    await uploadAll(r, APP);
    const hash = parseMcubootImage(APP).hash;
    await r.client.setImageState({ hash, confirm: false });
    await r.client.reset();
    await wait(r.clock, 5000);
    const link = await r.b.wire.port!.open({ baudRate: 115200 });
    const c = new SmpClient(link, { clock: r.clock, timeoutMs: 60_000 });
    const running = await c.imageState();
    expect(running[0]).toMatchObject({ slot: 0, hash, active: true, confirmed: false });
    expect(running[1]).toMatchObject({ slot: 1, hash: FACTORY_HASH, confirmed: true });
    expect(await refusal(c.setImageState({ hash: FACTORY_HASH, confirm: false }))).toBe(
      'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
    );
    // The previous image is the next boot slot while the test runs: not erased.
    expect(await refusal(c.erase())).toBe('IMG_MGMT_ERR_IMAGE_ALREADY_PENDING');
    // Confirming the previous image (the next boot slot) changes nothing.
    expect((await c.setImageState({ hash: FACTORY_HASH, confirm: true }))[0]).toMatchObject({
      confirmed: false,
    });
    expect((await c.setImageState({ confirm: true }))[0]).toMatchObject({
      active: true,
      confirmed: true,
    });
  });

  it('erase: slot 1 by default; slot 0 refused', async () => {
    const r = await board();
    await uploadAll(r, APP);
    await r.client.erase();
    expect(imageInSlot(r.b.flash, NRF52840_SLOTS.secondary)).toBeUndefined();
    expect(
      r.b.flash.isErased(NRF52840_SLOTS.secondary.address, NRF52840_SLOTS.secondary.size),
    ).toBe(true);
    expect(await both(r, () => r.client.erase(0))).toEqual([
      'IMG_MGMT_ERR_INVALID_SLOT',
      'MGMT_ERR_EINVAL',
    ]);
  });
});

describe('MCUboot at reset', () => {
  async function testAndReset(r: Rig, image: Uint8Array): Promise<void> {
    await uploadAll(r, image);
    await r.client.setImageState({ hash: parseMcubootImage(image).hash, confirm: false });
    await r.client.reset();
    await wait(r.clock, 30_000);
  }

  it('swaps a test image in, reverts it at the next reset unless confirmed', async () => {
    const r = await board();
    await testAndReset(r, APP);
    expect(imageInSlot(r.b.flash, NRF52840_SLOTS.primary)?.hash).toEqual(
      parseMcubootImage(APP).hash,
    );
    r.b.wire.resetDevice();
    await wait(r.clock, 3000);
    expect(r.b.device.bootLog).toEqual(['image 0: swap test', 'image 0: revert']);
    expect(imageInSlot(r.b.flash, NRF52840_SLOTS.primary)?.hash).toEqual(FACTORY_HASH);
  });

  it('boots an ECDSA P-256 image signed by a trusted key', async () => {
    const r = await board();
    await testAndReset(r, fixture('app-a-ecdsa-p256-2.0.1.bin'));
    expect(r.b.device.bootLog).toEqual(['image 0: swap test']);
  });

  it.each([
    ['unsigned', () => fixture('app-a-unsigned-0.9.0.bin'), 'the image is not signed'],
    [
      'signed by another key',
      () =>
        buildMcubootImage({
          version: { major: 2, minor: 0, revision: 0, build: 0 },
          body: new Uint8Array(100),
          secretKey: new Uint8Array(32).fill(1),
        }),
      'no configured key signed the image',
    ],
    [
      'with a bad signature',
      () => {
        const b = fixture('app-a-ed25519-1.2.3.bin');
        b[b.length - 1]! ^= 1; // last byte of the ED25519 TLV
        return b;
      },
      'the signature does not verify',
    ],
  ])('refuses an image %s and erases it', async (_, make, reason) => {
    const r = await board();
    const image = make();
    await uploadAll(r, image);
    await r.client.setImageState({
      hash: parseMcubootImage(image, { checkHash: false }).hash,
      confirm: false,
    });
    await r.client.reset();
    await wait(r.clock, 30_000);
    expect(r.b.device.bootLog[0]).toBe(`image 0: invalid secondary (${reason}); erased`);
    expect(imageInSlot(r.b.flash, NRF52840_SLOTS.primary)?.hash).toEqual(FACTORY_HASH);
  });

  it('a board whose primary image is broken halts, or waits in serial recovery when built with it', async () => {
    const broken = factoryImage();
    broken[0x300]! ^= 1;
    const images = [{ address: NRF52840_SLOTS.primary.address, data: broken }];
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const halted = createMcubootBoard({ clock, link: LINK_IDEAL, images });
    const rec = createMcubootBoard({
      clock,
      link: LINK_IDEAL,
      images,
      board: { serialRecovery: true },
    });
    await wait(clock, 1000);
    expect(halted.device.state).toBe('halted');
    expect(halted.device.bootLog[0]).toMatch(
      /primary not bootable \(Not a valid MCUboot image: its SHA-256 TLV/,
    );
    expect(rec.device.state).toBe('recovery');
  });
});

describe('serial recovery (boot_serial.c)', () => {
  it('echo, parameters, the image list of the primary slots, and ENOTSUP for the rest', async () => {
    const r = await board({ recovery: true });
    expect(r.b.device.state).toBe('recovery');
    expect(await r.client.echo('hi')).toBe('hi');
    expect(await r.client.mcumgrParams()).toEqual({ bufSize: 512, bufCount: 1 });
    expect(await r.client.imageState()).toEqual([
      {
        image: 0,
        slot: 0,
        version: '1.0.0',
        hash: FACTORY_HASH,
        bootable: false,
        pending: false,
        confirmed: false,
        active: false,
        permanent: false,
      },
    ]);
    expect(await refusal(r.client.setImageState({ confirm: true }))).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.bootloaderInfo())).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.osInfo('p'))).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.erase())).toBe('MGMT_ERR_ENOTSUP');
    expect(await refusal(r.client.request('write', 0, 0, {}))).toBe('MGMT_ERR_EINVAL');
    expect(await refusal(r.client.request('read', 7, 0, {}))).toBe('MGMT_ERR_ENOTSUP');
    // The console echo control command answers rc 0.
    expect(await r.client.request('write', 0, 1, {})).toEqual({ rc: 0 });
  });

  it('upload writes the primary slot: erased first, cut to words, wrong offsets answered with the expected one', async () => {
    const r = await board({ recovery: true });
    const t0 = r.clock.now();
    expect(await r.client.upload({ off: 0, len: APP.length, data: APP.subarray(0, 203) })).toEqual({
      off: 200,
    });
    // The whole 472 KiB slot was erased: 118 pages × 85 ms.
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(118 * 85);
    expect(await r.client.upload({ off: 300, data: APP.subarray(300, 400) })).toEqual({ off: 200 });
    let off = 200;
    while (off < APP.length)
      off = (await r.client.upload({ off, data: APP.subarray(off, off + 301) })).off;
    expect(off).toBe(APP.length);
    expect(imageInSlot(r.b.flash, NRF52840_SLOTS.primary)?.hash).toEqual(
      parseMcubootImage(APP).hash,
    );
    expect(
      await refusal(r.client.upload({ off: 0, len: 0x100000, data: APP.subarray(0, 100) })),
    ).toBe('MGMT_ERR_EINVAL');
    expect(
      await refusal(r.client.upload({ off: 0, len: 100, image: 2, data: APP.subarray(0, 100) })),
    ).toBe('MGMT_ERR_EINVAL');
    // More data than the length announced.
    expect(await r.client.upload({ off: 0, len: 300, data: APP.subarray(0, 200) })).toEqual({
      off: 200,
    });
    expect(await refusal(r.client.upload({ off: 200, data: APP.subarray(200, 320) }))).toBe(
      'MGMT_ERR_EINVAL',
    );
  });

  it('a packet longer than its 512-byte buffer gets no answer', async () => {
    const r = await board({ recovery: true });
    await expect(
      r.client.upload({ off: 0, len: 2000, data: new Uint8Array(600) }, { timeoutMs: 2000 }),
    ).rejects.toThrow(/no answer/);
    expect(r.b.device.server!.dropped).toBeGreaterThan(0);
  });

  it('reset boots the application in the primary slot', async () => {
    const r = await board({ recovery: true });
    expect(await r.client.request('write', 0, 5, {})).toEqual({ rc: 0 });
    await wait(r.clock, 2000);
    expect(r.b.device.state).toBe('application');
  });
});
