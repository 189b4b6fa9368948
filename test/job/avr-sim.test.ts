/**
 * The engine (src/job) with the AVR drivers against the simulated Arduino boards, in virtual
 * time: a signed bundle of a real sketch on each board, seeded wire faults, an image over the
 * boot section refused before anything is written, a sketch in two pieces with a gap, and the
 * Leonardo followed through its 1200-baud touch to the bootloader's port and back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { parseIntelHex } from '../../src/formats/intel-hex.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import type { FlashSource } from '../../src/job/source.ts';
import type { JobResult } from '../../src/job/types.ts';
import type { ProtocolId } from '../../src/protocols/driver.ts';
import { createAvr109Driver } from '../../src/protocols/avr/driver-avr109.ts';
import { createAvrStk500v1Driver } from '../../src/protocols/avr/driver-stk500v1.ts';
import { createAvrStk500v2Driver } from '../../src/protocols/avr/driver-stk500v2.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { SimPortWatcher } from '../../src/sim/port-watcher.ts';
import type { FaultOptions } from '../../src/sim/serial-wire.ts';
import { signedBundle } from './bundle-fixture.ts';
import { loadDrivers } from '../../src/protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

/** A sketch's Intel HEX as one image from address 0 (these sketches have no gaps). */
function sketch(name: string): Uint8Array {
  const hex = parseIntelHex(readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url)));
  expect(hex.segments).toHaveLength(1);
  expect(hex.segments[0]!.address).toBe(0);
  return hex.segments[0]!.data;
}

interface BoardCase {
  board: string;
  chip: string;
  protocol: ProtocolId;
  firmware: string;
}

const CASES: BoardCase[] = [
  {
    board: 'uno',
    chip: 'atmega328p',
    protocol: 'avr-stk500v1',
    firmware: 'avr-uno-StandardFirmata.hex',
  },
  {
    board: 'nano-old',
    chip: 'atmega328p',
    protocol: 'avr-stk500v1',
    firmware: 'avr-uno-Blink.hex',
  },
  {
    board: 'diecimila',
    chip: 'atmega168',
    protocol: 'avr-stk500v1',
    firmware: 'avr-m168-blink.hex',
  },
  {
    board: 'mega2560',
    chip: 'atmega2560',
    protocol: 'avr-stk500v2',
    firmware: 'avr-mega2560-blink-big.hex',
  },
  { board: 'leonardo', chip: 'atmega32u4', protocol: 'avr109', firmware: 'avr-leonardo-blink.hex' },
];

function rig(name: string, seed = 1) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard(name, { clock, seed }) as AvrSimBoardHandle;
  return { clock, board, wire: board.wire! };
}

type Rig = ReturnType<typeof rig>;

function driverFor(r: Rig) {
  const baudRate = r.board.baudRate;
  switch (r.board.protocol) {
    case 'avr-stk500v1':
      return createAvrStk500v1Driver({ baudRate });
    case 'avr-stk500v2':
      return createAvrStk500v2Driver({ baudRate });
    default:
      return createAvr109Driver({ baudRate, portWatcher: new SimPortWatcher(r.wire) });
  }
}

async function flash(r: Rig, source: FlashSource) {
  const logs: LogEntry[] = [];
  const job = new FlashJob({
    port: r.wire.port!,
    connector: driverFor(r),
    source,
    clock: r.clock,
    allowUnverified: true,
    logger: createLogger(
      (e) => logs.push(e),
      () => r.clock.now(),
    ),
    settings: { maxAttempts: 8, retryBaseDelayMs: 50 },
    advise: recoveryAdvice,
  });
  const result: JobResult = await job.run();
  const why = `${result.ok ? 'ok' : `${result.error.code}: ${result.error.message}`}\n${logs
    .map((l) => `${l.time.toFixed(0)} ${l.source} ${l.level} ${l.message}`)
    .join('\n')}`;
  return { result, why };
}

async function bundleSource(c: BoardCase, data: Uint8Array) {
  const bundle = await signedBundle({
    images: { sketch: data },
    targets: [{ chip: c.chip, protocol: c.protocol, images: [{ name: 'sketch', address: 0 }] }],
  });
  return fromVerifiedBundle(bundle, { mode: 'customer' });
}

describe('FlashJob + AVR drivers + simulated Arduino boards', () => {
  it.each(CASES)(
    '$board: a signed bundle of $firmware is written, verified and started',
    async (c) => {
      const r = rig(c.board);
      const data = sketch(c.firmware);
      const t0 = r.clock.now();
      const run = await flash(r, await bundleSource(c, data));
      expect(run.result.ok, run.why).toBe(true);
      expect(equalBytes(r.board.flash.read(0, data.length), data), run.why).toBe(true);
      // optiboot's 16 ms watchdog, stk500boot's 100 ms, Caterina's 500 ms after 'E'.
      await new Promise<void>((done) => r.clock.setTimer(1000, done));
      expect(r.board.device.state).toBe('application');
      expect(r.board.flash.counters.programsOverNonErased).toBe(0);
      if (run.result.ok) {
        expect(run.result.identity).toMatchObject({ chip: c.chip, protocol: c.protocol });
        expect(run.result.regions[0]).toMatchObject({ verified: true, attempts: 1 });
        console.log(
          `${c.board}: ${data.length} bytes in ${Math.round(r.clock.now() - t0)} ms of virtual time`,
        );
      }
    },
  );

  it('leonardo: follows the board from 2341:8036 through the touch to 2341:0036 and back', async () => {
    const r = rig('leonardo');
    // The board was created without a sketch: Caterina runs, on the bootloader's port. Put one
    // in flash and let Caterina time out (8 s): the sketch's port appears.
    r.board.flash.load(0, Uint8Array.of(0x0c, 0x94));
    await new Promise<void>((done) => r.clock.setTimer(9000, done));
    expect(r.wire.port?.info.usbProductId).toBe(0x8036);
    const ids: number[] = [];
    r.wire.onPortChange((ch) => {
      if (ch.type === 'connect') ids.push(ch.port.info.usbProductId ?? 0);
    });
    const data = sketch('avr-leonardo-blink.hex');
    const run = await flash(r, { kind: 'unverified', name: 'sketch', address: 0, data });
    expect(run.result.ok, run.why).toBe(true);
    // Let Caterina leave ('E': 500 ms) and the sketch enumerate again.
    await new Promise<void>((done) => r.clock.setTimer(2000, done));
    expect(ids).toEqual([0x0036, 0x8036]);
    expect(r.wire.port?.info.usbProductId).toBe(0x8036);
  });

  it.each(['uno', 'mega2560'])(
    '%s: an image reaching into the boot section is refused before anything is written',
    async (name) => {
      const r = rig(name);
      const c = CASES.find((x) => x.board === name)!;
      const size = r.board.device.bootStart + 2;
      const run = await flash(r, await bundleSource(c, new Uint8Array(size).fill(0x5a)));
      expect(run.result.ok).toBe(false);
      if (!run.result.ok) expect(run.result.error.code).toBe('plan.bootloader-overlap');
      expect(r.board.flash.counters.programOps).toBe(0);
    },
  );

  it('mega2560: two pieces with a gap keep what lies between them (erase-pointer order)', async () => {
    const r = rig('mega2560');
    const between = new Uint8Array(256).fill(0x77);
    r.board.flash.load(0x1000, between); // an older page the bundle does not touch
    r.board.flash.load(0x3000, new Uint8Array(256).fill(0x11)); // old content under piece B
    const a = sketch('avr-leonardo-blink.hex');
    const b = new Uint8Array(300).map((_, i) => i & 0xff);
    const bundle = await signedBundle({
      images: { a, b },
      targets: [
        {
          chip: 'atmega2560',
          protocol: 'avr-stk500v2',
          images: [
            { name: 'a', address: 0 },
            { name: 'b', address: 0x3000 },
          ],
        },
      ],
    });
    const run = await flash(r, fromVerifiedBundle(bundle, { mode: 'customer' }));
    expect(run.result.ok, run.why).toBe(true);
    expect(equalBytes(r.board.flash.read(0, a.length), a)).toBe(true);
    expect(equalBytes(r.board.flash.read(0x3000, b.length), b)).toBe(true);
    expect(equalBytes(r.board.flash.read(0x1000, 256), between)).toBe(true);
  });

  it('uno: a piece that starts inside a page keeps the rest of that page', async () => {
    const r = rig('uno');
    r.board.flash.load(0x100, new Uint8Array(128).fill(0x33));
    const data = new Uint8Array(40).fill(0x44);
    const run = await flash(r, { kind: 'unverified', name: 'patch', address: 0x110, data });
    expect(run.result.ok, run.why).toBe(true);
    const page = r.board.flash.read(0x100, 128);
    expect(page.subarray(0, 16).every((x) => x === 0x33)).toBe(true);
    expect(page.subarray(16, 56).every((x) => x === 0x44)).toBe(true);
    expect(page.subarray(56).every((x) => x === 0x33)).toBe(true);
  });

  const faults: [string, FaultOptions, [string, number][]][] = [
    [
      'dropped bytes',
      { dropRate: 1e-4 },
      [
        ['uno', 3],
        ['uno', 5],
        ['mega2560', 3],
        ['nano-old', 4],
      ],
    ],
    // STK500v1 and AVR109 carry no checksum: a damaged byte is programmed as it arrives, and a
    // damaged LOAD_ADDRESS programs a page elsewhere; the verification reads every page once and
    // writes again the pages that differ.
    [
      'corrupted bytes',
      { corruptRate: 3e-5 },
      [
        ['uno', 2],
        ['uno', 4],
        ['uno', 8],
        ['uno', 10],
        ['leonardo', 6],
        ['mega2560', 7],
        ['mega2560', 10],
        ['nano-old', 2],
        ['nano-old', 10],
      ],
    ],
  ];
  for (const [what, f, cases] of faults) {
    it.each(cases)(`%s recovers from ${what} (seed %i)`, async (name, seed) => {
      const r = rig(name, seed);
      const data = sketch('avr-uno-StandardFirmata.hex');
      r.wire.setFaults({ seed, ...f });
      const run = await flash(r, { kind: 'unverified', name: 'sketch', address: 0, data });
      expect(
        r.wire.stats.dropped + r.wire.stats.corrupted,
        `seed ${seed}: no fault`,
      ).toBeGreaterThan(0);
      expect(run.result.ok, `seed ${seed}: ${run.why}`).toBe(true);
      expect(equalBytes(r.board.flash.read(0, data.length), data), `seed ${seed}`).toBe(true);
    });
  }
});
