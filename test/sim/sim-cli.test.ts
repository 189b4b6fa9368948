/**
 * `npm run sim` end to end: the CLI is started as a child process on a free TCP port (and on a
 * pty through socat), and a small Node client speaks the ESP serial protocol to it: SYNC, then
 * READ_REG of the chip-detect register. When Espressif's esptool is on PATH it is run against
 * the TCP port too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, openSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SlipDecoder, slipEncode } from '../../src/framing/slip.ts';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  EspCommand,
  SYNC_PAYLOAD,
} from '../../src/protocols/esp/constants.ts';
import { decodeResponse, encodeCommand, words } from '../../src/protocols/esp/packet.ts';
import { SOCAT } from '../../src/sim/node/pty.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

/** Starts the CLI and resolves with its output lines once `ready` matches one. */
function startSim(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
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
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited with ${code}: ${out}`)));
  });
}

/** Sends SYNC and READ_REG over a byte stream; returns the magic value. */
async function syncAndDetect(
  send: (b: Uint8Array) => void,
  onBytes: (cb: (b: Uint8Array) => void) => void,
): Promise<number> {
  const decoder = new SlipDecoder();
  const frames: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  onBytes((b) => {
    frames.push(...decoder.push(b));
    wake?.();
  });
  const next = async (): Promise<Uint8Array> => {
    const deadline = Date.now() + 5000;
    while (frames.length === 0) {
      if (Date.now() > deadline) throw new Error('no reply');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return frames.shift()!;
  };
  send(slipEncode(encodeCommand(EspCommand.SYNC, SYNC_PAYLOAD)));
  for (let i = 0; i < 8; i++) {
    const r = decodeResponse(await next(), { statusBytes: 4, expectOp: EspCommand.SYNC });
    expect(r.error).toBeUndefined();
  }
  send(slipEncode(encodeCommand(EspCommand.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR))));
  return decodeResponse(await next(), { statusBytes: 4, expectOp: EspCommand.READ_REG }).value;
}

describe('npm run sim', () => {
  it('prints its help', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', '--help'], {
      cwd: ROOT,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('--listen HOST:PORT');
  });

  it('rejects an unknown board with the list of boards (exit 2)', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/sim/cli.ts', '--board', 'nope', '--listen', '127.0.0.1:0'],
      { cwd: ROOT },
    );
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toMatch(/Unknown simulated board "nope".*esp32s3/);
  });

  it('serves an ESP32 on TCP: SYNC and chip detection, one client after another', async () => {
    const { match } = await startSim(
      ['--board', 'esp32', '--listen', '127.0.0.1:0'],
      /listening on 127\.0\.0\.1:(\d+)/,
    );
    const port = Number(match[1]);
    for (let round = 0; round < 2; round++) {
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const magic = await syncAndDetect(
        (b) => socket.write(b),
        (cb) => socket.on('data', (d: Buffer) => cb(new Uint8Array(d))),
      );
      expect(magic).toBe(0x00f01d83);
      socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);

  it.skipIf(!existsSync(SOCAT))(
    'serves an ESP32-C3 on a pty (socat)',
    async () => {
      const path = join(tmpdir(), `webflash-sim-${process.pid}`);
      await startSim(['--board', 'esp32c3', '--pty', path], /pty at /);
      const fd = openSync(path, 'r+');
      const stream = createReadStream('', { fd }); // closes fd on destroy
      stream.on('error', () => undefined); // EIO once the simulator closes the pty
      try {
        const magic = await syncAndDetect(
          (b) => writeSync(fd, b),
          (cb) => stream.on('data', (d) => cb(new Uint8Array(d as Buffer))),
        );
        expect(magic).toBe(0x6921506f);
      } finally {
        stream.destroy();
      }
    },
    30_000,
  );

  const esptool = ['esptool', 'esptool.py'].find((name) => spawnSync('which', [name]).status === 0);
  it.skipIf(!esptool)(
    `Espressif esptool (${esptool ?? 'not on PATH: skipped'}) reads the chip id and writes flash`,
    async () => {
      const { match } = await startSim(
        ['--board', 'esp32c3', '--listen', '127.0.0.1:0'],
        /listening on 127\.0\.0\.1:(\d+)/,
      );
      const url = `socket://127.0.0.1:${match[1]}`;
      const base = ['--no-stub', '--before', 'no-reset', '--port', url];
      expect(spawnSync(esptool!, [...base, 'chip_id']).status).toBe(0);
      const file = join(ROOT, 'test/fixtures/firmware/bootloader_esp32c3.bin');
      expect(spawnSync(esptool!, [...base, 'write_flash', '0x0', file]).status).toBe(0);
    },
    60_000,
  );
});
