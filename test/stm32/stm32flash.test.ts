/**
 * Proof against an independent implementation: Debian's stm32flash (0.7) talks to the STM32
 * simulator through a pseudo-terminal. socat makes the pty and connects it to a TCP port where
 * this test serves the simulated board (realClock, ideal link); stm32flash opens the pty like a
 * USB-UART. A pty has no parity bits, so stm32flash runs with `-m 8n1` (the simulated wire
 * carries bytes, not bits; the board still believes it runs 8E1).
 *
 * Skipped, with the reason printed, when stm32flash or socat is missing
 * (`sudo apt-get install -y stm32flash socat`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/core/clock.ts';
import { chipById, flashSize, type Stm32Chip } from '../../src/protocols/stm32/chips.ts';
import { Command } from '../../src/protocols/stm32/commands.ts';
import { stm32Crc } from '../../src/protocols/stm32/crc.ts';
import { LINK_IDEAL, SerialWire } from '../../src/sim/serial-wire.ts';
import type { HostConnection } from '../../src/sim/sim-link.ts';
import { Stm32SimBoard } from '../../src/sim/stm32/board.ts';

const STM32FLASH = process.env.STM32FLASH ?? '/usr/bin/stm32flash';
const SOCAT = process.env.SOCAT ?? '/usr/bin/socat';
const missing = [STM32FLASH, SOCAT].filter((p) => !existsSync(p));
if (missing.length > 0) {
  console.warn(
    `stm32flash interop test skipped: ${missing.join(' and ')} not found ` +
      '(install with: sudo apt-get install -y stm32flash socat)',
  );
}

const run = promisify(execFile);

type BoardExtras = { checksumCommand?: boolean; readProtected?: boolean };

/** A simulated board served on TCP, one client at a time, bridged to a pty by socat. */
class PtyBoard {
  readonly board: Stm32SimBoard;
  readonly pty: string;
  private readonly wire: SerialWire;
  private server: Server | undefined;
  private socat: ChildProcess | undefined;
  private conn: HostConnection | undefined;
  private socket: Socket | undefined;

  constructor(chip: string, dir: string, options: BoardExtras = {}) {
    this.board = new Stm32SimBoard({ chip, boot0: 'high', ...options });
    this.wire = new SerialWire({ clock: realClock, device: this.board, link: LINK_IDEAL, seed: 1 });
    this.pty = join(dir, `tty-${chip}`);
  }

  async start(): Promise<void> {
    this.server = createServer((socket) => this.attach(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as { port: number }).port;
    this.socat = spawn(
      SOCAT,
      [`pty,raw,echo=0,link=${this.pty}`, `tcp:127.0.0.1:${port},nodelay,forever,interval=0.1`],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100 && !(existsSync(this.pty) && this.socket); i++) await delay(50);
    if (!existsSync(this.pty)) throw new Error(`socat did not create ${this.pty}`);
  }

  private attach(socket: Socket): void {
    this.socket?.destroy();
    this.conn?.close();
    this.socket = socket;
    socket.setNoDelay(true);
    const conn = this.wire.port!.connect(
      { baudRate: 115200, parity: 'even' },
      { data: (chunk) => socket.write(chunk), lost: () => socket.destroy() },
    );
    this.conn = conn;
    socket.on('data', (data: Buffer) => void conn.write(new Uint8Array(data)));
    socket.on('close', () => conn.close());
  }

  async stop(): Promise<void> {
    this.socat?.kill();
    this.socket?.destroy();
    this.conn?.close();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stm32flash(args: string[]): Promise<string> {
  const { stdout, stderr } = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', ...args], {
    timeout: 60_000,
  });
  return stdout + stderr;
}

function image(n: number): Uint8Array {
  let x = 99;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

/** What stm32flash 0.7 prints for a device (main.c), computed from our chip table. */
function expectedInfo(chip: Stm32Chip): RegExp[] {
  // "size first sector" is stm32flash's own write-protection grouping, not in our table.
  const lines = [
    `Version      : 0x${chip.protocolVersion.toString(16)}`,
    'Option 1     : 0x00',
    'Option 2     : 0x00',
    `Device ID    : 0x${chip.productId.toString(16).padStart(4, '0')} (${chip.name})`,
    `- RAM        : Up to ${(chip.ram.end - 0x20000000) / 1024}KiB  (${chip.ram.start - 0x20000000}b reserved by bootloader)`,
    `- Flash      : Up to ${flashSize(chip) / 1024}KiB (size first sector: `,
    `- System RAM : ${Math.floor((chip.systemMemory.end - chip.systemMemory.start) / 1024)}KiB`,
  ];
  return lines.map((l) => new RegExp(l.replace(/[()[\]\\.*+?^$|{}]/g, '\\$&')));
}

describe.skipIf(missing.length > 0)(
  'stm32flash (Debian) against the STM32 simulator over a pty',
  () => {
    let dir: string;
    const boards: PtyBoard[] = [];

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'webflash-stm32flash-'));
    });
    afterAll(async () => {
      for (const b of boards) await b.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    async function boardFor(chip: string, options: BoardExtras = {}): Promise<PtyBoard> {
      const b = new PtyBoard(chip, dir, options);
      boards.push(b);
      await b.start();
      return b;
    }

    it.each(['stm32f0', 'stm32f1', 'stm32f4', 'stm32g0', 'stm32l4', 'stm32h7'])(
      'device info of %s matches the chip table',
      async (id) => {
        const b = await boardFor(id);
        const out = await stm32flash([b.pty]);
        for (const re of expectedInfo(chipById(id)!)) expect(out).toMatch(re);
      },
      30_000,
    );

    it.each(['stm32f4', 'stm32f1'])(
      'writes (-w -v) and reads back (-r) an image on %s',
      async (id) => {
        const b = await boardFor(id);
        const data = image(5000 + 123);
        const input = join(dir, `${id}-in.bin`);
        const output = join(dir, `${id}-out.bin`);
        writeFileSync(input, data);
        const written = await stm32flash(['-w', input, '-v', b.pty]);
        expect(written).toMatch(/Wrote and verified address 0x08001403 \(100\.00%\) Done\./);
        expect(
          Buffer.from(b.board.memory.flash.read(0x08000000, data.length)).equals(Buffer.from(data)),
        ).toBe(true);
        // A second run finds the bootloader already synchronised (its 0x7F is taken as a command).
        const read = await stm32flash(['-r', output, '-S', `0x08000000:${data.length}`, b.pty]);
        expect(read).toMatch(/Done\./);
        expect(Buffer.from(readFileSync(output)).equals(Buffer.from(data))).toBe(true);
      },
      60_000,
    );

    it.each([false, true])(
      'CRC (-C) agrees with our STM32 CRC; GET_CHECKSUM offered: %s',
      async (checksumCommand) => {
        const b = await boardFor('stm32g0', { checksumCommand });
        const data = image(4096);
        b.board.memory.flash.load(0x08000000, data);
        const out = await stm32flash(['-C', '-S', '0x08000000:4096', b.pty]);
        const crc = stm32Crc(data).toString(16).padStart(8, '0');
        expect(out).toMatch(new RegExp(`CRC\\(0x08000000-0x08001000\\) = 0x${crc}`));
        expect(b.board.commandLog.includes(Command.GET_CHECKSUM)).toBe(checksumCommand);
      },
      30_000,
    );

    it('read protection: reads refused; -k unprotects (mass erase, reset) and reads work again', async () => {
      const b = await boardFor('stm32f1', { readProtected: true });
      b.board.memory.flash.load(0x08000000, image(1024));
      const output = join(dir, 'rdp.bin');
      await expect(stm32flash(['-r', output, '-S', '0x08000000:256', b.pty])).rejects.toThrow(
        /Failed to read memory at address 0x08000000/,
      );
      const out = await stm32flash(['-k', b.pty]);
      expect(out).toMatch(/Read-UnProtecting flash/);
      expect(b.board.memory.readProtected).toBe(false);
      await stm32flash(['-r', output, '-S', '0x08000000:256', b.pty]);
      expect(readFileSync(output).every((x) => x === 0xff)).toBe(true);
    }, 30_000);

    it('reads the whole flash of an stm32f0 (-r without a range)', async () => {
      const b = await boardFor('stm32f0');
      const data = image(3000);
      b.board.memory.flash.load(0x08000000, data);
      const output = join(dir, 'f0-all.bin');
      await stm32flash(['-r', output, b.pty]);
      const all = readFileSync(output);
      expect(all.length).toBe(64 * 1024);
      expect(all.subarray(0, data.length).equals(Buffer.from(data))).toBe(true);
      expect(all.subarray(data.length).every((x) => x === 0xff)).toBe(true);
    }, 60_000);
  },
);
