/**
 * Debian's stm32flash against `npm run sim -- --pty` over one simulator session, as a person
 * would use it: write, leave the bootloader (`-R`, or `-g 0x0`), and flash again without
 * restarting the simulator.
 *
 * - `-R` writes stm32flash's reset routine to RAM and GOes to it (stm32.c `stm32_reset_device`);
 *   the simulated chip runs it, resets, and with BOOT0 strapped high is in its bootloader again,
 *   waiting for the next run's autobaud 0x7F: that run gets an ACK, so stm32flash does not warn
 *   "the interface was not closed properly" (what it prints when its 0x7F is NACKed by a
 *   bootloader still synchronised from an earlier run).
 * - `-g 0x0` starts the application: the chip no longer answers. A pty carries no DTR/RTS and
 *   no BREAK (node/control.ts), so the reset goes through the simulator's reset line,
 *   `--control`: after "reset" the next run works.
 *
 * Skipped, with the reason printed, when stm32flash or socat is missing
 * (`sudo apt-get install -y stm32flash socat`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const STM32FLASH = process.env.STM32FLASH ?? '/usr/bin/stm32flash';
const SOCAT = process.env.SOCAT ?? '/usr/bin/socat';
const missing = [STM32FLASH, SOCAT].filter((p) => !existsSync(p));
if (missing.length > 0) {
  console.warn(
    `stm32flash session test skipped: ${missing.join(' and ')} not found ` +
      '(install with: sudo apt-get install -y stm32flash socat)',
  );
}

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const NOT_CLOSED = /the interface was not closed properly/;

interface Sim {
  child: ChildProcess;
  pty: string;
  control: number;
}

/** `npm run sim -- --board stm32f4 --pty PATH --control 127.0.0.1:0`. */
function startSim(pty: string): Promise<Sim> {
  const args = ['--board', 'stm32f4', '--pty', pty, '--control', '127.0.0.1:0'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sim did not start: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const control = /reset line \(control\) on 127\.0\.0\.1:(\d+)/.exec(out);
      if (control && /in its bootloader; Ctrl\+C/.test(out)) {
        clearTimeout(timer);
        resolve({ child, pty, control: Number(control[1]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited with ${code}: ${out}`)));
  });
}

/** Sends one control command and resolves with the reply line. */
function control(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\n`));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      reply += d;
      if (reply.includes('\n')) {
        socket.end();
        resolve(reply.trim());
      }
    });
    socket.on('error', reject);
  });
}

/** stm32flash at 115200 8N1 (a pty has no parity bit); resolves with stdout + stderr. */
async function stm32flash(args: string[]): Promise<string> {
  const { stdout, stderr } = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', ...args], {
    timeout: 60_000,
  });
  return stdout + stderr;
}

function image(n: number): Uint8Array {
  let x = 7;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

describe.skipIf(missing.length > 0)('stm32flash over `npm run sim -- --pty`, one session', () => {
  let dir: string;
  let sim: Sim;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webflash-stm32flash-session-'));
    sim = await startSim(join(dir, 'tty'));
  }, 30_000);

  afterAll(() => {
    sim?.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('write with -R, then a second run finds a freshly reset bootloader', async () => {
    const data = image(4096 + 100);
    const input = join(dir, 'in.bin');
    writeFileSync(input, data);
    const written = await stm32flash(['-w', input, '-v', '-R', sim.pty]);
    expect(written).toMatch(/Wrote and verified address 0x08001064 \(100\.00%\) Done\./);
    expect(written).toMatch(/Resetting device\.\.\. \nReset done\./);
    const output = join(dir, 'out.bin');
    const read = await stm32flash(['-r', output, '-S', `0x08000000:${data.length}`, sim.pty]);
    expect(read).not.toMatch(NOT_CLOSED);
    expect(Buffer.from(readFileSync(output)).equals(Buffer.from(data))).toBe(true);
  }, 60_000);

  it('-g 0x0 starts the application; the reset line brings the bootloader back', async () => {
    const started = await stm32flash(['-g', '0x0', sim.pty]);
    expect(started).toMatch(/Starting execution at address 0x08000000\.\.\. done\./);
    // The application does not speak the bootloader protocol: stm32flash gets no answer.
    await expect(stm32flash([sim.pty])).rejects.toThrow(/Failed to init device/);
    expect(await control(sim.control, 'reset')).toMatch(/^ok stm32f4 restarted in its bootloader/);
    const info = await stm32flash([sim.pty]);
    expect(info).not.toMatch(NOT_CLOSED);
    expect(info).toMatch(/Device ID {4}: 0x0413/);
    // And writing works again in the same session.
    const data = image(2048);
    const input = join(dir, 'again.bin');
    writeFileSync(input, data);
    expect(await stm32flash(['-w', input, '-v', '-R', sim.pty])).toMatch(/Done\./);
  }, 60_000);

  it('the control channel answers unknown commands with an error', async () => {
    expect(await control(sim.control, 'dtr 1')).toMatch(/^error: unknown command "dtr 1"/);
  });
});
