/**
 * Work done once per image for many boards (src/protocols/esp/once-per-image.ts): the memo
 * recognises an image by its content in any copy, the shared digests equal the ones computed
 * per board, and a bench of simulated ESP32-S3 boards (engine, ESP driver, virtual clock)
 * flashed with one shared memo computes each digest and compresses each image once, every board
 * still verified against its own flash.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { compressInline, type CompressFn } from '../../src/protocols/esp/compress.ts';
import { plainDigests, type ImageDigests } from '../../src/protocols/esp/digests.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import {
  compressOnce,
  digestsOnce,
  ImageMemo,
  sameBytes,
} from '../../src/protocols/esp/once-per-image.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import { pattern } from '../job/harness.ts';

const md5 = (b: Uint8Array) => new Uint8Array(createHash('md5').update(b).digest());

/** Digests that count how often each is computed. */
function counting(): { digests: ImageDigests; md5: () => number; blocks: () => number } {
  let m = 0;
  let b = 0;
  return {
    digests: {
      md5: (d) => (m++, plainDigests.md5(d)),
      sectors(d) {
        const of = plainDigests.sectors(d);
        return { md5: (from, to) => (b++, of.md5(from, to)) };
      },
    },
    md5: () => m,
    blocks: () => b,
  };
}

describe('sameBytes', () => {
  it('tells any difference, aligned or not, in the words or in the tail', () => {
    const buffer = pattern(1000, 2).buffer;
    for (const offset of [0, 1, 2, 4]) {
      for (const length of [0, 3, 4, 9, 500]) {
        const a = new Uint8Array(buffer, offset, length);
        const b = a.slice();
        expect(sameBytes(a, b), `${offset}+${length}`).toBe(true);
        for (let i = 0; i < length; i++) {
          b[i]! ^= 0x80;
          expect(sameBytes(a, b), `${offset}+${length}, byte ${i}`).toBe(false);
          b[i]! ^= 0x80;
        }
      }
    }
    expect(sameBytes(new Uint8Array(4), new Uint8Array(5))).toBe(false);
  });
});

describe('ImageMemo', () => {
  const image = pattern(10_000, 1);

  it('computes once for equal bytes, whichever copy holds them', () => {
    const memo = new ImageMemo();
    let n = 0;
    const values = [image.slice(), image.slice(), image].map((copy) =>
      memo.get(copy, 'k', () => ++n),
    );
    expect(values).toEqual([1, 1, 1]);
  });

  it('computes again for other bytes, another key, or bytes changed after the first use', () => {
    const memo = new ImageMemo();
    let n = 0;
    const mine = image.slice();
    memo.get(mine, 'k', () => ++n);
    const other = image.slice();
    other[9999]! ^= 1;
    expect(memo.get(other, 'k', () => ++n)).toBe(2);
    expect(memo.get(image, 'j', () => ++n)).toBe(3);
    // The memo keeps its own copy: changing the caller's array does not change what it knows.
    mine[0]! ^= 0xff;
    expect(memo.get(mine, 'k', () => ++n)).toBe(4);
    expect(memo.get(image, 'k', () => ++n)).toBe(1);
  });

  it('keeps the most recently used images only, and forgets on request', () => {
    const memo = new ImageMemo(2);
    const imgs = [1, 2, 3].map((k) => pattern(100, k));
    let n = 0;
    for (const im of imgs) memo.get(im, 'k', () => ++n);
    expect(memo.get(imgs[2]!, 'k', () => ++n)).toBe(3); // kept
    expect(memo.get(imgs[0]!, 'k', () => ++n)).toBe(4); // dropped when the third came
    memo.forget(imgs[0]!, 'k');
    expect(memo.get(imgs[0]!, 'k', () => ++n)).toBe(5);
  });
});

describe('digests', () => {
  it('MD5 of runs of sectors, the last padded with 0xFF to a whole 4 KiB sector', () => {
    const data = pattern(4096 * 2 + 100, 7);
    const padded = new Uint8Array(4096 * 3).fill(0xff);
    padded.set(data);
    const sectors = plainDigests.sectors(data);
    for (const [from, to] of [
      [0, 1],
      [0, 2],
      [1, 2],
      [0, 3],
      [1, 3],
      [2, 3],
    ] as const) {
      expect(sectors.md5(from, to), `${from}-${to}`).toEqual(
        md5(padded.subarray(from * 4096, to * 4096)),
      );
    }
    const exact = pattern(4096 * 2, 8);
    expect(plainDigests.sectors(exact).md5(0, 2)).toEqual(md5(exact));
    expect(plainDigests.md5(data)).toEqual(md5(data));
  });

  it('shared digests equal the plain ones, computed once for many copies', () => {
    const c = counting();
    const shared = digestsOnce(new ImageMemo(), c.digests);
    const data = pattern(50_000, 3);
    const plain = plainDigests.sectors(data);
    for (let i = 0; i < 5; i++) {
      expect(shared.md5(data.slice())).toEqual(md5(data));
      const sectors = shared.sectors(data.slice());
      expect(sectors.md5(0, 13)).toEqual(plain.md5(0, 13));
      expect(sectors.md5(4, 6)).toEqual(plain.md5(4, 6));
    }
    expect([c.md5(), c.blocks()]).toEqual([1, 2]);
    // A caller that changes what it got does not change what the next one gets.
    shared.md5(data)[0]! ^= 1;
    expect(shared.md5(data)).toEqual(md5(data));
    shared.sectors(data).md5(0, 13)[0]! ^= 1;
    expect(shared.sectors(data).md5(0, 13)).toEqual(plain.md5(0, 13));
  });
});

function board(seed: number) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const flash = new FlashModel({ size: 4 * 1024 * 1024 });
  const device = new EspDevice({
    chip: chipById('esp32s3')!,
    flash,
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0x01, 0x02, seed]),
    resetCircuit: 'auto-reset',
  });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed, usbVendorId: 0x10c4 });
  return { clock, flash, wire };
}

describe('one memo for a bench of ESP boards', () => {
  it('compresses and digests the image once; every board is written and verified', async () => {
    const image = pattern(64 * 1024 + 123, 11);
    const c = counting();
    let compressions = 0;
    const counted: CompressFn = (d, o) => (compressions++, compressInline(d, o));
    const memo = new ImageMemo();
    const shared = { digests: digestsOnce(memo, c.digests), compress: compressOnce(counted, memo) };
    const APP = 0x10000;
    let firstBoard = 0;
    for (const seed of [1, 2, 3]) {
      const b = board(seed);
      const result = await new FlashJob({
        port: b.wire.port!,
        connector: {
          id: 'esp-serial',
          connect: (port, o) => connectEsp(port, { ...o, ...shared }),
        },
        // Each job its own copy, as a verified bundle hands them out.
        source: { kind: 'unverified', name: 'app', address: APP, data: image.slice() },
        allowUnverified: true,
        clock: b.clock,
        settings: { baudRate: 921600 },
      }).run();
      expect(result.ok, `board ${seed}`).toBe(true);
      expect(b.flash.read(APP, image.length), `board ${seed}`).toEqual(image);
      if (seed === 1) firstBoard = c.blocks();
    }
    // Delta comparison (sector-run MD5s: as many as the first board needed, none for the
    // others), the check after writing (MD5), compression: once each.
    expect(firstBoard).toBeGreaterThan(0);
    expect([c.blocks(), c.md5(), compressions]).toEqual([firstBoard, 1, 1]);
  });

  it('a board whose flash differs from the image still fails its check', async () => {
    const image = pattern(8192, 5);
    const memo = new ImageMemo();
    const digests = digestsOnce(memo);
    // Another board already had the digests computed.
    digests.md5(image.slice());
    const b = board(9);
    const result = await new FlashJob({
      port: b.wire.port!,
      connector: {
        id: 'esp-serial',
        connect: async (port, o) => {
          const session = await connectEsp(port, { ...o, digests });
          const write = session.write.bind(session);
          // The board ends up holding something else than the image: a bit flipped after writing.
          session.write = async (region, options) => {
            await write(region, options);
            const at = region.address + 100;
            b.flash.load(at, Uint8Array.of(b.flash.read(at, 1)[0]! ^ 0xff));
          };
          return session;
        },
      },
      source: { kind: 'unverified', name: 'app', address: 0x10000, data: image.slice() },
      allowUnverified: true,
      clock: b.clock,
      settings: { baudRate: 921600, delta: false },
    }).run();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('verify.mismatch');
  });
});
