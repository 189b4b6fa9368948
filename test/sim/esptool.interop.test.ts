/**
 * Espressif's esptool (v5.3.1, run from its source with Debian's python3) against
 * `npm run sim -- --listen` over `socket://`, ROM mode and esptool's own stub. esptool is not
 * installable from the package registries this project uses, so the test runs only where its
 * source is present, and is skipped with the reason printed otherwise. To run it:
 *
 *     git clone --branch v5.3.1 https://github.com/espressif/esptool /opt/esptool   # or ESPTOOL_SRC=…
 *     sudo apt-get install -y python3-serial python3-rich-click python3-bitstring \
 *       python3-intelhex python3-yaml python3-cryptography
 *
 * (docs/simulator.md "esptool from source"). Nothing of esptool is copied into this repository.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const PYTHON = process.env.ESPTOOL_PYTHON ?? '/usr/bin/python3';
const SOURCE = [process.env.ESPTOOL_SRC, '/opt/esptool', '/usr/local/src/esptool'].find(
  (d): d is string => d !== undefined && existsSync(join(d, 'esptool', '__init__.py')),
);

/** Why the test cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  if (!SOURCE) return 'esptool source not found (set ESPTOOL_SRC or clone it to /opt/esptool)';
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-m', 'esptool', 'version'], { cwd: SOURCE, encoding: 'utf8' });
  if (r.status !== 0)
    return `esptool does not start: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`;
  return undefined;
}
const why = unavailable();
if (why) console.warn(`esptool interop test skipped: ${why}`);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

/** Starts `npm run sim -- --board NAME --listen 127.0.0.1:0 …`; resolves with its port. */
function startSim(board: string, extra: string[] = []): Promise<number> {
  const args = ['--board', board, '--listen', '127.0.0.1:0', ...extra];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sim did not start: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited with ${code}: ${out}`)));
  });
}

/** Runs esptool against the simulator; resolves with its exit code and output. */
function esptool(port: number, args: string[]): Promise<{ status: number; out: string }> {
  const argv = ['-m', 'esptool', '--port', `socket://127.0.0.1:${port}`, '--before', 'no-reset'];
  const child = spawn(PYTHON, [...argv, ...args], {
    cwd: SOURCE!,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' },
  });
  children.push(child);
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ status: code ?? -1, out }));
  });
}

function bytes(n: number, seed: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

describe.skipIf(why !== undefined)('esptool v5.3.1 (from source) over socket://', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'webflash-esptool-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ESP32-S3 ROM (--no-stub): reads 256 KiB with READ_FLASH_SLOW at 921600 baud', async () => {
    const data = bytes(0x40000, 3);
    const image = join(dir, 's3.bin');
    writeFileSync(image, data);
    const port = await startSim('esp32s3-uart', ['--image', `0x0:${image}`]);
    const out = join(dir, 's3-read.bin');
    const r = await esptool(port, [
      '--no-stub',
      '--baud',
      '921600',
      'read-flash',
      '--no-progress',
      '0',
      '0x40000',
      out,
    ]);
    expect(r.out).toMatch(/Chip type: +ESP32-S3 \(QFN56\) \(revision v0\.2\)/);
    expect(r.out).toMatch(/Changing baud rate to 921600/);
    expect(r.status).toBe(0);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(data))).toBe(true);
  }, 120_000);

  it('ESP32 with the stub: 240MHz in the features, writes and verifies, GET_SECURITY_INFO not implemented', async () => {
    const port = await startSim('esp32');
    const file = join(ROOT, 'test/fixtures/firmware/bootloader_esp32.bin');
    const w = await esptool(port, ['--baud', '921600', 'write-flash', '0x1000', file]);
    expect(w.out).toMatch(/Chip type: +ESP32-D0WD-V3 \(revision v3\.0\)/);
    expect(w.out).toMatch(/Features: +Wi-Fi, BT, Dual Core \+ LP Core, 240MHz/);
    expect(w.out).toMatch(/Stub flasher running/);
    expect(w.out).toMatch(/Hash of data verified/);
    expect(w.status).toBe(0);
    const s = await esptool(port, ['get-security-info']);
    expect(s.out).toMatch(
      /Failed to get security info \(result was FF00: Command not implemented\)/,
    );
  }, 120_000);

  it('ESP8266 ROM (--no-stub): write-flash erases the region and no more', async () => {
    const old = join(dir, 'zeros.bin');
    writeFileSync(old, new Uint8Array(0x30000));
    const port = await startSim('esp8266', ['--image', `0x0:${old}`]);
    const data = bytes(0x10000, 5);
    const file = join(dir, 'region.bin');
    writeFileSync(file, data);
    const w = await esptool(port, ['--no-stub', 'write-flash', '0x10000', file]);
    expect(w.status).toBe(0);
    const out = join(dir, '8266-read.bin');
    // Read back with esptool's stub (the ESP8266 ROM cannot read flash).
    const r = await esptool(port, [
      '--baud',
      '921600',
      'read-flash',
      '--no-progress',
      '0',
      '0x30000',
      out,
    ]);
    expect(r.status).toBe(0);
    const back = readFileSync(out);
    expect(back.subarray(0x10000, 0x20000).equals(Buffer.from(data))).toBe(true);
    expect(back.subarray(0x20000).every((b) => b === 0)).toBe(true);
  }, 120_000);

  it.each([
    ['esp32c6', /Chip type: +ESP32-C6 \(QFN40\) \(revision v0\.1\)/, true],
    ['esp32h2', /Chip type: +ESP32-H2 \(revision v0\.1\)/, true],
    ['esp32s2', /Chip type: +ESP32-S2 \(revision v1\.0\)/, false],
  ] as const)(
    '%s: revision as a production part; MAC_EXT ff:fe where the chip has one',
    async (board, chipType, ext) => {
      const port = await startSim(board);
      const r = await esptool(port, ['--no-stub', 'read-mac']);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(chipType);
      if (ext) expect(r.out).toMatch(/MAC_EXT: +ff:fe/);
    },
    60_000,
  );
});
