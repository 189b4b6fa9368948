/**
 * `npm run sim -- --board nrf52840-mcuboot|nrf52840-recovery`: the CLI as a child process,
 * spoken to with SMP console frames over TCP (`--listen`) and a pty (`--pty`, through socat).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, openSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCborMap, encodeCbor, type CborMap } from '../../src/protocols/mcuboot/cbor.ts';
import {
  encodeSmpConsole,
  SmpConsoleDecoder,
} from '../../src/protocols/mcuboot/console-framing.ts';
import { decodeSmpPacket, encodeSmpPacket } from '../../src/protocols/mcuboot/smp.ts';
import { SOCAT } from '../../src/sim/node/pty.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

/** Starts the CLI; resolves with the first group of `ready` once it is printed. */
function startSim(
  board: string,
  extra: string[] = [],
  ready = /listening on 127\.0\.0\.1:(\d+)/,
): Promise<number> {
  const args = ['--import', 'tsx', 'src/sim/cli.ts', '--board', board, '--listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, [...args, ...extra], {
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
        resolve(Number(m[1] ?? 0));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited with ${code}: ${out}`)));
  });
}

interface Duplex {
  on(event: 'data', cb: (d: Buffer) => void): unknown;
  off(event: 'data', cb: (d: Buffer) => void): unknown;
  write(b: Uint8Array): unknown;
}

/** Sends one SMP request (version 2) and resolves with the reply body. */
function request(
  io: Duplex,
  op: number,
  group: number,
  id: number,
  body: CborMap,
  seq: number,
): Promise<CborMap> {
  const decoder = new SmpConsoleDecoder();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), 5000);
    const onData = (d: Buffer): void => {
      for (const e of decoder.push(new Uint8Array(d))) {
        if (e.kind !== 'packet') continue;
        const { header, body: raw } = decodeSmpPacket(e.packet);
        if (header.seq !== seq) continue;
        clearTimeout(timer);
        io.off('data', onData);
        resolve(decodeCborMap(raw));
      }
    };
    io.on('data', onData);
    io.write(
      encodeSmpConsole(
        encodeSmpPacket({ version: 1, op, flags: 0, group, seq, id }, encodeCbor(body)),
      ),
    );
  });
}

async function open(port: number) {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

describe('npm run sim with MCUboot boards', () => {
  it('nrf52840-mcuboot answers echo and lists its factory image', async () => {
    const port = await startSim('nrf52840-mcuboot');
    await new Promise((r) => setTimeout(r, 800)); // MCUboot and the application start
    const socket = await open(port);
    expect(await request(socket, 2, 0, 0, { d: 'tcp' }, 1)).toEqual({ r: 'tcp' });
    const state = await request(socket, 0, 1, 0, {}, 2);
    expect(state['images']).toMatchObject([
      { slot: 0, version: '1.0.0', active: true, confirmed: true },
    ]);
    socket.destroy();
  }, 30_000);

  it('nrf52840-recovery answers in MCUboot serial recovery', async () => {
    const port = await startSim('nrf52840-recovery');
    const socket = await open(port);
    expect(await request(socket, 0, 0, 6, {}, 3)).toEqual({ buf_size: 512, buf_count: 1 });
    expect(await request(socket, 0, 0, 8, {}, 4)).toEqual({ rc: 8 });
    socket.destroy();
  }, 30_000);

  it.skipIf(!existsSync(SOCAT))(
    'nrf52840-recovery on a pty (socat)',
    async () => {
      const path = join(tmpdir(), `webflash-mcuboot-${process.pid}`);
      await startSim('nrf52840-recovery', ['--pty', path], /pty at /);
      const fd = openSync(path, 'r+');
      const stream = createReadStream('', { fd });
      stream.on('error', () => undefined); // EIO once the simulator closes the pty
      try {
        // No encoding is set, so the stream hands out Buffers.
        const asBuffer = (cb: (d: Buffer) => void) => cb as (chunk: string | Buffer) => void;
        const io: Duplex = {
          on: (e, cb) => stream.on(e, asBuffer(cb)),
          off: (e, cb) => stream.off(e, asBuffer(cb)),
          write: (b) => writeSync(fd, b),
        };
        expect(await request(io, 2, 0, 0, { d: 'pty' }, 5)).toEqual({ r: 'pty' });
      } finally {
        stream.destroy();
      }
    },
    30_000,
  );
});
