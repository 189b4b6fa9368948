/**
 * Proof against an independent implementation: Debian's avrdude (7.1) programs the simulated
 * Arduino boards through a pseudo-terminal, as `npm run sim -- --board X --pty PATH` serves them
 * (the same bridge: src/sim/node/bridge.ts and pty.ts; here in-process, so the test can look at
 * the simulated flash). Real sketches: the Uno's Blink and StandardFirmata (Arduino 1.0.6), and
 * avr-gcc builds for the Mega 2560 (an image past 128 KiB) and the Leonardo
 * (test/fixtures/firmware/avr-src/build.sh).
 *
 * A pty has no modem lines: avrdude's DTR/RTS ioctls fail ("Inappropriate ioctl for device")
 * and the board cannot be reset through them. The bridged boards therefore wait in their
 * bootloader from the start, and a byte that reaches a board running its application stands for
 * the auto-reset the next avrdude run would cause (docs/simulator.md, "AVR boards").
 *
 * Skipped, with the reason printed, when avrdude or socat is missing
 * (`sudo apt-get install -y avrdude socat`).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/core/clock.ts';
import { parseIntelHex } from '../../src/formats/intel-hex.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { serveOnTcp, type RunningBridge } from '../../src/sim/node/bridge.ts';
import { serveOnPty, type RunningPty } from '../../src/sim/node/pty.ts';
import { ptyLink } from '../cli/headless-rig.ts';

const AVRDUDE = process.env.AVRDUDE ?? '/usr/bin/avrdude';
const SOCAT = process.env.SOCAT ?? '/usr/bin/socat';
const missing = [AVRDUDE, SOCAT].filter((p) => !existsSync(p));
if (missing.length > 0) {
  console.warn(
    `avrdude interop test skipped: ${missing.join(' and ')} not found ` +
      '(install with: sudo apt-get install -y avrdude socat)',
  );
}

const run = promisify(execFile);
const fixture = (name: string): string =>
  new URL(`../fixtures/firmware/${name}`, import.meta.url).pathname;

/** The bytes of an Intel HEX file, as one image from 0 (gaps read as erased flash). */
function hexImage(name: string): Uint8Array {
  const hex = parseIntelHex(readFileSync(fixture(name)));
  const last = hex.segments[hex.segments.length - 1]!;
  const out = new Uint8Array(last.address + last.data.length).fill(0xff);
  for (const s of hex.segments) out.set(s.data, s.address);
  return out;
}

class PtyBoard {
  board!: AvrSimBoardHandle;
  tcp!: RunningBridge;
  pty!: RunningPty;
  constructor(
    readonly name: string,
    readonly path: string,
    readonly baud: number,
    readonly factor = 1,
  ) {}

  async start(): Promise<void> {
    this.board = createBoard(this.name, {
      clock: realClock,
      link: ptyLink(this.baud, this.factor),
      startInBootloader: true,
    }) as AvrSimBoardHandle;
    this.tcp = await serveOnTcp({ board: this.board, host: '127.0.0.1', port: 0, baud: this.baud });
    this.pty = serveOnPty({ path: this.path, tcpHost: this.tcp.host, tcpPort: this.tcp.port });
    await this.pty.ready;
  }

  async stop(): Promise<void> {
    this.pty.close();
    await this.tcp.close();
  }
}

async function avrdude(args: string[]): Promise<{ out: string; values: string[]; ms: number }> {
  const t0 = performance.now();
  const { stdout, stderr } = await run(AVRDUDE, args, { timeout: 120_000 });
  // `-U mem:r:-:h` prints each value on stdout; the log goes to stderr.
  return { out: stderr, values: stdout.trim().split('\n'), ms: performance.now() - t0 };
}

/** Fuses, lock and signature as avrdude prints them with `-U x:r:-:h`, one per line, in this order. */
function fuseArgs(): string[] {
  return ['lfuse', 'hfuse', 'efuse', 'lock', 'signature'].flatMap((m) => ['-U', `${m}:r:-:h`]);
}

describe.skipIf(missing.length > 0)(
  'avrdude (Debian) against the AVR simulators over a pty',
  () => {
    let dir: string;
    const boards: PtyBoard[] = [];
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'webflash-avrdude-'));
    });
    afterAll(async () => {
      for (const b of boards) await b.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    async function serve(name: string, baud: number, factor = 1): Promise<PtyBoard> {
      const b = new PtyBoard(name, join(dir, `tty-${name}`), baud, factor);
      boards.push(b);
      await b.start();
      return b;
    }

    it.each([
      ['uno', 115_200],
      ['nano-old', 57_600],
    ] as const)(
      '%s: -c arduino writes and verifies StandardFirmata, reads it back, the signature and fuses',
      async (name, baud) => {
        const b = await serve(name, baud);
        const firmata = fixture('avr-uno-StandardFirmata.hex');
        const readBack = join(dir, `${name}-read.hex`);
        const base = ['-c', 'arduino', '-p', 'm328p', '-b', String(baud), '-P', b.path];
        const w = await avrdude([...base, '-U', `flash:w:${firmata}:i`]);
        expect(w.out).toMatch(/device signature = 0x1e950f \(probably m328p\)/);
        expect(w.out).toMatch(/11968 bytes of flash verified/);
        console.log(
          `avrdude ${name}: StandardFirmata (11968 bytes) written and verified in ${Math.round(w.ms)} ms`,
        );
        const image = hexImage('avr-uno-StandardFirmata.hex');
        expect(Buffer.from(b.board.flash.read(0, image.length)).equals(Buffer.from(image))).toBe(
          true,
        );
        // A second run right after: the board is running the sketch; avrdude's first bytes reset it.
        const r = await avrdude([...base, '-U', `flash:r:${readBack}:i`, ...fuseArgs()]);
        const back = parseIntelHex(readFileSync(readBack));
        const all = new Uint8Array(32 * 1024).fill(0xff);
        for (const s of back.segments) all.set(s.data, s.address);
        expect(Buffer.from(all.subarray(0, image.length)).equals(Buffer.from(image))).toBe(true);
        // The boot section holds the bootloader, as on a real board.
        const bootStart = 32 * 1024 - (name === 'uno' ? 512 : 2048);
        expect(all.subarray(bootStart).some((x) => x !== 0xff)).toBe(true);
        // Neither optiboot nor ATmegaBOOT reads fuses: UNIVERSAL answers 0 (optiboot.c, ATmegaBOOT_168.c).
        expect(r.values).toEqual(['0x0', '0x0', '0x0', '0x0', '0x1e,0x95,0xf']);
      },
      120_000,
    );

    it('`npm run sim -- --board uno --pty PATH` serves avrdude (the CLI path)', async () => {
      const path = join(dir, 'tty-cli-uno');
      const root = new URL('../..', import.meta.url).pathname;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/sim/cli.ts', '--board', 'uno', '--pty', path],
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('in its bootloader')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`sim exited with ${code}: ${out}`)));
        });
        const w = await avrdude([
          '-c',
          'arduino',
          '-p',
          'm328p',
          '-b',
          '115200',
          '-P',
          path,
          '-U',
          `flash:w:${fixture('avr-uno-Blink.hex')}:i`,
        ]);
        expect(w.out).toMatch(/1082 bytes of flash verified/);
      } finally {
        child.kill('SIGTERM');
      }
    }, 60_000);

    it('uno: Blink, then a second upload over it (page erase on every write)', async () => {
      const b = await serve('uno', 115_200);
      const base = ['-c', 'arduino', '-p', 'm328p', '-b', '115200', '-P', b.path];
      await avrdude([...base, '-U', `flash:w:${fixture('avr-uno-StandardFirmata.hex')}:i`]);
      const w = await avrdude([...base, '-U', `flash:w:${fixture('avr-uno-Blink.hex')}:i`]);
      expect(w.out).toMatch(/1082 bytes of flash verified/);
      const blink = hexImage('avr-uno-Blink.hex');
      expect(Buffer.from(b.board.flash.read(0, blink.length)).equals(Buffer.from(blink))).toBe(
        true,
      );
      expect(b.board.flash.counters.programsOverNonErased).toBe(0);
    }, 120_000);

    it('mega2560: -c wiring writes and verifies an image past 128 KiB, reads fuses and lock', async () => {
      const b = await serve('mega2560', 115_200, 8);
      const hex = fixture('avr-mega2560-blink-big.hex');
      const base = ['-c', 'wiring', '-p', 'm2560', '-b', '115200', '-D', '-P', b.path];
      const w = await avrdude([...base, '-U', `flash:w:${hex}:i`]);
      expect(w.out).toMatch(/device signature = 0x1e9801 \(probably m2560\)/);
      expect(w.out).toMatch(/140288 bytes of flash verified/);
      console.log(
        `avrdude mega2560: 140288 bytes written and verified in ${Math.round(w.ms)} ms (link 8x 115200)`,
      );
      const image = hexImage('avr-mega2560-blink-big.hex');
      expect(Buffer.from(b.board.flash.read(0, image.length)).equals(Buffer.from(image))).toBe(
        true,
      );
      const r = await avrdude([...base, ...fuseArgs()]);
      // stk500boot.c reads the real fuse and lock bytes (boot_lock_fuse_bits_get).
      expect(r.values).toEqual(['0xff', '0xd8', '0xfd', '0xcf', '0x1e,0x98,0x1']);
    }, 120_000);

    it('leonardo: -c avr109 erases, writes and verifies, reads back, the signature and fuses', async () => {
      const b = await serve('leonardo', 57_600);
      const hex = fixture('avr-leonardo-blink.hex');
      const readBack = join(dir, 'leonardo-read.hex');
      const base = ['-c', 'avr109', '-p', 'm32u4', '-b', '57600', '-P', b.path];
      b.board.flash.load(0x1000, new Uint8Array(64).fill(0x42)); // an older sketch, erased by 'e'
      const w = await avrdude([...base, '-U', `flash:w:${hex}:i`]);
      expect(w.out).toMatch(/device signature = 0x1e9587 \(probably m32u4\)/);
      expect(w.out).toMatch(/erasing chip/);
      expect(w.out).toMatch(/228 bytes of flash verified/);
      expect(b.board.flash.isErased(0x1000, 64)).toBe(true);
      const r = await avrdude([...base, '-U', `flash:r:${readBack}:i`, ...fuseArgs()]);
      const image = hexImage('avr-leonardo-blink.hex');
      const back = parseIntelHex(readFileSync(readBack));
      expect(
        Buffer.from(back.segments[0]!.data.subarray(0, image.length)).equals(Buffer.from(image)),
      ).toBe(true);
      expect(r.values).toEqual(['0xff', '0xd8', '0xcb', '0xef', '0x1e,0x95,0x87']);
    }, 120_000);
  },
);
