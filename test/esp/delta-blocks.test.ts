/**
 * The ESP delta comparison (src/protocols/esp/delta.ts) against the simulated ESP32, through
 * the stub and the ROM loader, on a virtual clock: which sectors it calls unchanged, and which
 * SPI_FLASH_MD5 commands the chip received (read from the simulated loader's command log).
 * Images are seeded patterns.
 */
import { describe, expect, it } from 'vitest';
import { view } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { DeltaUnit } from '../../src/protocols/driver.ts';
import { connectEsp } from '../../src/protocols/esp/driver.ts';
import { MD5_BYTES_PER_MS, md5Rate } from '../../src/protocols/esp/md5-rate.ts';
import {
  chooseBlockSectors,
  expectedCompareMs,
  md5Cost,
  type Md5Cost,
} from '../../src/protocols/esp/delta.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { pattern } from '../job/harness.ts';

const SECTOR = 4096;
const APP = 0x10000;
const MD5_OP = 0x13;

/** A board holding `old` at APP, connected through the stub or the ROM loader. */
async function session(old: Uint8Array, useStub: 'always' | 'never') {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard('esp32', {
    clock,
    seed: 1,
    images: [{ address: APP, data: old }],
  }) as EspSimBoard;
  const s = await connectEsp(board.wire!.port!, {
    clock,
    logger: silentLogger,
    baudRate: 921600,
    useStub,
  });
  const before = board.device.script.log.length;
  /** The [address, size] of every SPI_FLASH_MD5 since the connect, relative to APP. */
  const md5s = () =>
    board.device.script.log
      .slice(before)
      .filter((c) => c.op === MD5_OP)
      .map((c) => [view(c.data).getUint32(0, true) - APP, view(c.data).getUint32(4, true)]);
  return { s, board, md5s };
}

/**
 * Records, in order, each SPI_FLASH_MD5 the host writes ('cmd') and each reply to one that
 * leaves the board ('reply'); `drop` (1-based) loses that reply on the way.
 */
function traceMd5(s: Awaited<ReturnType<typeof session>>, drop?: number) {
  const events: ('cmd' | 'reply')[] = [];
  const link = s.s.loader.link;
  const write = link.write.bind(link);
  link.write = (data: Uint8Array) => {
    if (data[0] === 0xc0 && data[1] === 0x00 && data[2] === MD5_OP) events.push('cmd');
    return write(data);
  };
  let replies = 0;
  s.board.wire!.setReplyTamper((reply) => {
    if (reply[0] !== 0xc0 || reply[1] !== 0x01 || reply[2] !== MD5_OP) return reply;
    events.push('reply');
    return ++replies === drop ? new Uint8Array(0) : reply;
  });
  return events;
}

/** The most commands sent and not yet answered at any point of `events`. */
function maxInFlight(events: readonly ('cmd' | 'reply')[]): number {
  let open = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (open += e === 'cmd' ? 1 : -1));
  return max;
}

/** A copy of `data` with one byte changed in each of the given sectors. */
function changed(data: Uint8Array, sectors: readonly number[]): Uint8Array {
  const out = data.slice();
  for (const s of sectors) out[s * SECTOR + 77] = out[s * SECTOR + 77]! ^ 0xa5;
  return out;
}

/** The indices of the units called changed. */
const changedUnits = (units: DeltaUnit[] | undefined) =>
  (units ?? []).flatMap((u, i) => (u.unchanged ? [] : [i]));

const old = pattern(64 * SECTOR, 11); // 256 KiB: 4 blocks of 64 KiB
const region = (data: Uint8Array) => ({ name: 'app', address: APP, data });

describe('ESP delta comparison: hierarchical SPI_FLASH_MD5 (simulated ESP32)', () => {
  it('an identical image: every sector unchanged, one MD5 per 64 KiB block', async () => {
    const { s, md5s } = await session(old, 'always');
    s.deltaBlockSize = 64 * 1024;
    const units = await s.compareUnits(region(old), {});
    expect(units).toHaveLength(64);
    expect(units!.every((u) => u.unchanged)).toBe(true);
    expect(units!.map((u) => [u.start, u.end])[63]).toEqual([63 * SECTOR, 64 * SECTOR]);
    expect(md5s()).toEqual([0, 1, 2, 3].map((b) => [b * 65536, 65536]));
  });

  it('one changed sector inside a 64 KiB block: only it is changed, found by halving', async () => {
    const { s, md5s } = await session(old, 'always');
    s.deltaBlockSize = 64 * 1024;
    const units = await s.compareUnits(region(changed(old, [21])), {});
    expect(changedUnits(units)).toEqual([21]);
    const calls = md5s();
    // The four blocks first; block 1 (sectors 16–31) differs: its first half [16, 24)
    // differs, [16, 20) matches, so [20, 24) differs; [20, 22) differs, [20, 21) matches, so
    // sector 21 differs (not hashed alone, and written); [22, 24) and [24, 32) match.
    const at = (sector: number, sectors: number) => [sector * SECTOR, sectors * SECTOR];
    expect(calls).toEqual([
      at(0, 16),
      at(16, 16),
      at(32, 16),
      at(48, 16),
      at(16, 8),
      at(16, 4),
      at(20, 2),
      at(20, 1),
      at(22, 2),
      at(24, 8),
    ]);
    // Every sector called unchanged lies in a range whose digest was asked for.
    for (const [i, u] of units!.entries()) {
      if (!u.unchanged) continue;
      expect(calls.some(([a, n]) => a! <= i * SECTOR && (i + 1) * SECTOR <= a! + n!)).toBe(true);
    }
  });

  it('reports progress as answers arrive: half for hashing each sector once, half for its verdict', async () => {
    const rig = await session(old, 'always');
    const events = traceMd5(rig);
    rig.s.deltaBlockSize = 64 * 1024;
    const seen: { kib: number; replies: number }[] = [];
    const units = await rig.s.compareUnits(region(changed(old, [21])), {
      onProgress: (p) => {
        expect(p).toMatchObject({ phase: 'compare', region: 'app', bytesTotal: old.length });
        seen.push({ kib: p.bytesDone / 1024, replies: events.filter((e) => e === 'reply').length });
      },
    });
    expect(changedUnits(units)).toEqual([21]);
    // First pass (pipelined): block 0 equal (64 hashed + 64 settled) / 2 = 64; block 1 differs
    // (128 + 64) / 2 = 96; blocks 2, 3 equal: 160, 224. Then the halving of block 1 settles
    // [16, 20) 16 KiB: 232; sector 20: 234; sector 21 (differs): 236; [22, 24): 240; [24, 32): 256.
    expect(seen.map((e) => e.kib)).toEqual([64, 96, 160, 224, 232, 234, 236, 240, 256]);
    // Each first-pass answer is reported as it arrives, not once the pass is over; in the
    // halving, an answer that settles nothing ([16, 24) and [20, 22) differ) moves nothing.
    expect(seen.map((e) => e.replies)).toEqual([1, 2, 3, 4, 6, 8, 8, 9, 10]);
  });

  it('the ROM loader reports each block as it answers', async () => {
    const rig = await session(old, 'never');
    rig.s.deltaBlockSize = 32 * 1024;
    const done: number[] = [];
    await rig.s.compareUnits(region(old), { onProgress: (p) => done.push(p.bytesDone) });
    expect(done).toEqual(Array.from({ length: 8 }, (_, i) => (i + 1) * 32 * 1024));
  });

  it('changed first and last sectors, 16 KiB blocks', async () => {
    const { s } = await session(old, 'always');
    s.deltaBlockSize = 16 * 1024;
    const units = await s.compareUnits(region(changed(old, [0, 63])), {});
    expect(changedUnits(units)).toEqual([0, 63]);
  });

  it('an image that is not a multiple of the block or the sector: the last sector is compared whole', async () => {
    const image = old.subarray(0, 37 * SECTOR + 1000); // 10 blocks of 16 KiB, the last partial
    const { s, md5s } = await session(old, 'always');
    s.deltaBlockSize = 16 * 1024;
    // The board holds more than the image in the last sector; a write leaves 0xFF there.
    const units = await s.compareUnits(region(image), {});
    expect(units).toHaveLength(38);
    expect(units!.at(-1)).toEqual({ start: 37 * SECTOR, end: image.length, unchanged: false });
    expect(changedUnits(units)).toEqual([37]);
    expect(md5s().every(([a, n]) => a! % SECTOR === 0 && n! % SECTOR === 0)).toBe(true);
    expect(Math.max(...md5s().map(([a, n]) => a! + n!))).toBe(38 * SECTOR);
  });

  it('the board holding 0xFF after an image that ends inside a sector: all unchanged', async () => {
    const image = old.subarray(0, 37 * SECTOR + 1000);
    const onBoard = new Uint8Array(38 * SECTOR).fill(0xff);
    onBoard.set(image);
    const { s } = await session(onBoard, 'always');
    const units = await s.compareUnits(region(image), {});
    expect(changedUnits(units)).toEqual([]);
  });

  it('the ROM loader (no stub, hex digests) finds the same sectors, one command at a time', async () => {
    const rig = await session(old, 'never');
    const { s, md5s } = rig;
    expect(s.loader.isStub).toBe(false);
    const events = traceMd5(rig);
    s.deltaBlockSize = 32 * 1024;
    const units = await s.compareUnits(region(changed(old, [5, 40, 41])), {});
    expect(changedUnits(units)).toEqual([5, 40, 41]);
    expect(md5s().length).toBeGreaterThan(8);
    expect(maxInFlight(events)).toBe(1);
  });

  it('the stub gets the next MD5 of the first pass while it hashes, never two waiting', async () => {
    const rig = await session(old, 'always');
    const events = traceMd5(rig);
    rig.s.deltaBlockSize = 16 * 1024;
    const units = await rig.s.compareUnits(region(changed(old, [9])), {});
    expect(changedUnits(units)).toEqual([9]);
    expect(events.slice(0, 3)).toEqual(['cmd', 'cmd', 'reply']);
    expect(maxInFlight(events)).toBe(2);
    // Then the halving of block 2 (sectors 8–11) waits for each answer: [8, 10) differs,
    // [8, 9) matches (so sector 9 differs), [10, 12) matches.
    const firstPass = events.findIndex(
      (_, i) => events.slice(0, i + 1).filter((e) => e === 'reply').length === 16,
    );
    const halving = events.slice(firstPass + 1);
    expect(halving).toEqual(['cmd', 'reply', 'cmd', 'reply', 'cmd', 'reply']);
  });

  it('a reply lost in the first pass fails the comparison: nothing is called unchanged', async () => {
    const rig = await session(old, 'always');
    traceMd5(rig, 3);
    rig.s.deltaBlockSize = 16 * 1024;
    await expect(rig.s.compareUnits(region(old), {})).rejects.toMatchObject({
      code: 'timeout',
    });
  });

  it('the default block size is the cost model\u2019s choice for the loader and the line (ESP32 stub: raised clocks)', async () => {
    const { s, md5s } = await session(old, 'always');
    const units = await s.compareUnits(region(old), {});
    expect(changedUnits(units)).toEqual([]);
    const block = chooseBlockSectors(64, md5Cost('stubFastClock', 921600));
    expect(md5s()).toHaveLength(Math.ceil(64 / block));
  });

  it('the cost model counts the commands compareBlocks sends', async () => {
    // Every sector changed: each 4-sector block is hashed, halved, and every half split.
    const all = changed(
      old.subarray(0, 8 * SECTOR),
      Array.from({ length: 8 }, (_, i) => i),
    );
    const { s, md5s } = await session(old, 'always');
    s.deltaBlockSize = 4 * SECTOR;
    const units = await s.compareUnits(region(all), {});
    expect(changedUnits(units)).toHaveLength(8);
    const cost: Md5Cost = { commandMs: 1, sectorMs: 0, pipelined: true };
    expect(md5s()).toHaveLength(expectedCompareMs(8, 4, cost, 1));
    const hashed = md5s().reduce((n, [, size]) => n + size! / SECTOR, 0);
    expect(expectedCompareMs(8, 4, { commandMs: 0, sectorMs: 1, pipelined: true }, 1)).toBe(hashed);
  });
});

describe('ESP delta cost model', () => {
  it('adds up by hand: 4 sectors, 2 ms a command, 5 ms a sector', () => {
    const cost = { commandMs: 2, sectorMs: 5, pipelined: false };
    expect(expectedCompareMs(4, 1, cost, 0)).toBe(4 * 7);
    expect(expectedCompareMs(4, 4, cost, 0)).toBe(22);
    // All differ: [0,4) 22, [0,2) 12, [0,1) 7, [1,2) 7, [2,4) 12, [2,3) 7, [3,4) 7.
    expect(expectedCompareMs(4, 4, cost, 1)).toBe(74);
    // Pipelined, the first pass costs the larger of the round trip and the hashing per block.
    expect(expectedCompareMs(4, 1, { ...cost, pipelined: true }, 0)).toBe(4 * 5);
    expect(expectedCompareMs(4, 1, { commandMs: 8, sectorMs: 5, pipelined: true }, 0)).toBe(32);
    // The first pass hashes 4 sectors (20, longer than the round trip); the halving after it
    // is not pipelined: 20 + 12 + 7 + 7 + 12 + 7 + 7.
    expect(expectedCompareMs(4, 4, { ...cost, pipelined: true }, 1)).toBe(72);
  });

  it('chooses larger blocks when a round trip costs more than hashing, never worse than flat or whole', () => {
    const sectors = 256;
    for (const pipelined of [false, true]) {
      const cheap = chooseBlockSectors(sectors, { commandMs: 0.5, sectorMs: 5, pipelined });
      const dear = chooseBlockSectors(sectors, { commandMs: 50, sectorMs: 5, pipelined });
      expect(dear).toBeGreaterThan(cheap);
    }
    for (const cost of [
      md5Cost('stub', 921600),
      md5Cost('rom', 115200),
      md5Cost('stubFastClock', 921600),
      md5Cost('stubShortReads', 921600),
    ]) {
      const best = chooseBlockSectors(sectors, cost);
      const ms = expectedCompareMs(sectors, best, cost, 0.1);
      expect(ms).toBeLessThanOrEqual(expectedCompareMs(sectors, 1, cost, 0.1));
      expect(ms).toBeLessThanOrEqual(expectedCompareMs(sectors, sectors, cost, 0.1));
    }
  });
});

describe('which SPI_FLASH_MD5 rate applies (md5-rate.ts)', () => {
  it.each([
    ['esp32', false, false, 'rom'],
    ['esp32s3', false, true, 'rom'],
    ['esp32', true, false, 'stubFastClock'],
    ['esp32s2', true, false, 'stubFastClock'],
    ['esp32s3', true, true, 'stubShortReads'],
    ['esp32s3', true, false, 'stubShortReads'],
    ['esp32c3', true, false, 'stubShortReads'],
    ['esp32c3', true, true, 'stubFastClock'],
    ['esp32c6', true, true, 'stubFastClock'],
    ['esp8266', true, false, 'stub'],
    [undefined, true, false, 'stubFastClock'],
  ] as const)('%s, stub %s, native USB %s: %s', (chip, stub, nativeUsb, rate) => {
    expect(md5Rate({ chip, stub, nativeUsb })).toBe(rate);
  });

  it('the slower the hashing, the larger the cost of a sector in the model', () => {
    const rates = (['stubFastClock', 'stub', 'stubShortReads', 'rom'] as const).map(
      (r) => md5Cost(r, 921600).sectorMs,
    );
    expect(rates).toEqual([...rates].sort((a, b) => a - b));
    expect(md5Cost('stubShortReads', 921600).sectorMs).toBeCloseTo(
      4096 / MD5_BYTES_PER_MS.stubShortReads,
    );
  });
});
