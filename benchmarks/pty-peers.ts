/**
 * Another tool against our headless flasher over the same kind of pty: a simulated board served
 * as `npm run sim -- --board NAME --pty PATH` serves it (src/sim/node/bridge.ts and pty.ts, the
 * sim CLI's byte-stream link, paced at the board's UART rate), a fresh board for each tool.
 * Each tool runs as its own process and writes + verifies the same image; the times are wall
 * clock from start to exit, so both include their program start (ours: Node loading the
 * bundled CLI that `npm install` builds, as bin/webflash.mjs runs it; measured separately as
 * `webflash --help`).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBundle } from '../src/bundle/create.ts';
import { equalBytes } from '../src/core/bytes.ts';
import type { SimBoard } from '../src/sim/board.ts';
import { createBoard } from '../src/sim/boards.ts';
import { serveOnTcp } from '../src/sim/node/bridge.ts';
import { preciseClock } from '../src/sim/node/precise-clock.ts';
import { serveOnPty } from '../src/sim/node/pty.ts';
import { LINK_BYTE_STREAM } from '../src/sim/serial-wire.ts';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

export interface PeerResult {
  /** The other tool, write + verify, wall clock. */
  peerMs: number;
  /** `webflash flash` (verify bundle, connect, write, verify, reset), wall clock. */
  oursMs: number;
  /** `webflash --help`: Node loading the CLI, included in oursMs. */
  oursStartMs: number;
  /** oursMs ÷ peerMs. */
  ratio: number;
}

/** A release bundle of one image signed with the demo key (demo/keys: public on purpose). */
function demoBundle(o: {
  chip: string;
  protocol: string;
  address: number;
  data: Uint8Array;
}): Uint8Array {
  const key = JSON.parse(readFileSync(join(ROOT, 'demo/keys/demo-release.key'), 'utf8')) as {
    secret: string;
  };
  return createBundle({
    manifest: {
      product: 'bench',
      version: '1.0.0',
      securityCounter: 1,
      created: '2026-01-01T00:00:00Z',
      expires: '2031-01-01T00:00:00Z',
      notes: 'Benchmark release for simulated boards.',
      targets: [
        {
          chip: o.chip,
          protocol: o.protocol as never,
          images: [{ name: 'app', address: o.address }],
        },
      ],
    },
    images: new Map([['app', o.data]]),
    signers: [new Uint8Array(Buffer.from(key.secret, 'hex'))],
  });
}

/** Serves a fresh board on a pty, runs `use(path)`, returns its wall time and the board. */
async function onPty(
  o: { board: string; baud: number; dir: string; tag: string },
  use: (path: string) => Promise<void>,
): Promise<{ ms: number; board: SimBoard }> {
  const board = createBoard(o.board, {
    clock: preciseClock(),
    link: LINK_BYTE_STREAM,
    startInBootloader: true,
  });
  const tcp = await serveOnTcp({ board, host: '127.0.0.1', port: 0, baud: o.baud });
  const path = join(o.dir, `tty-${o.board}-${o.tag}`);
  const pty = serveOnPty({ path, tcpHost: tcp.host, tcpPort: tcp.port });
  try {
    await pty.ready;
    const t0 = performance.now();
    await use(path);
    return { ms: performance.now() - t0, board };
  } finally {
    pty.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([tcp.close(), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}

let building: Promise<unknown> | undefined;

/** `webflash ARGS` as a user runs it (bin/webflash.mjs), its build made fresh first. */
async function cli(args: string[], cwd: string): Promise<void> {
  building ??= run(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')]);
  await building;
  await run(process.execPath, [join(ROOT, 'bin/webflash.mjs'), ...args], {
    cwd,
    timeout: 300_000,
    env: { ...process.env, WEBFLASH_TRUST_ROOT: '' },
  });
}

/**
 * `peer(path)` then `webflash flash` on fresh boards of the same kind; checks that each left
 * the image in the flash at `address`.
 */
export async function runPeer(o: {
  board: string;
  baud: number;
  image: Uint8Array;
  address?: number;
  protocol: string;
  chip: string;
  dir: string;
  peer: (path: string) => Promise<void>;
}): Promise<PeerResult> {
  const address = o.address ?? 0;
  const check = (who: string, board: SimBoard): void => {
    if (!equalBytes(board.flash.read(address, o.image.length), o.image))
      throw new Error(`${who} on ${o.board}: the flash does not hold the image`);
  };
  const peer = await onPty({ ...o, tag: 'peer' }, o.peer);
  check('peer', peer.board);
  const bundle = join(o.dir, `${o.board}.fwb`);
  writeFileSync(bundle, demoBundle({ ...o, address, data: o.image }));
  // The same work as the peer: write and verify, no comparison with the board first.
  const args = ['flash', bundle, '--root', join(ROOT, 'demo/keys/demo-root.json'), '--no-delta'];
  const ours = await onPty({ ...o, tag: 'ours' }, (path) =>
    cli([...args, '--port', path, '--baud', String(o.baud)], o.dir),
  );
  check('webflash', ours.board);
  const t0 = performance.now();
  await cli(['--help'], o.dir);
  const oursStartMs = performance.now() - t0;
  return { peerMs: peer.ms, oursMs: ours.ms, oursStartMs, ratio: ours.ms / peer.ms };
}
