/**
 * `npm run sim -- --board nrf52840-mcuboot|nrf52840-recovery --listen`: the CLI as a child
 * process, spoken to over TCP with SMP console frames (echo and the image state list).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCborMap, encodeCbor, type CborMap } from '../../src/protocols/mcuboot/cbor.ts';
import {
  encodeSmpConsole,
  SmpConsoleDecoder,
} from '../../src/protocols/mcuboot/console-framing.ts';
import { decodeSmpPacket, encodeSmpPacket } from '../../src/protocols/mcuboot/smp.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

function startSim(board: string): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/sim/cli.ts', '--board', board, '--listen', '127.0.0.1:0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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

/** Sends one SMP request over the socket and resolves with the reply body. */
function request(
  socket: Socket,
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
        socket.off('data', onData);
        resolve(decodeCborMap(raw));
      }
    };
    socket.on('data', onData);
    socket.write(
      encodeSmpConsole(
        encodeSmpPacket({ version: 1, op, flags: 0, group, seq, id }, encodeCbor(body)),
      ),
    );
  });
}

async function open(port: number): Promise<Socket> {
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
  });

  it('nrf52840-recovery answers in MCUboot serial recovery', async () => {
    const port = await startSim('nrf52840-recovery');
    const socket = await open(port);
    expect(await request(socket, 0, 0, 6, {}, 3)).toEqual({ buf_size: 512, buf_count: 1 });
    expect(await request(socket, 0, 0, 8, {}, 4)).toEqual({ rc: 8 });
    socket.destroy();
  });
});
