/**
 * Helpers of the headless CLI tests: simulated boards served on real pseudo-terminals exactly as
 * `npm run sim -- --board NAME --pty PATH` serves them (src/sim/node/bridge.ts and pty.ts, here
 * in-process so a test can look at the simulated flash and "unplug" the board by closing the
 * pty), release bundles signed with the public demo key, and the CLI run in-process or as a
 * child process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBundle, type ManifestDraft } from '../../src/bundle/create.ts';
import { realClock } from '../../src/core/clock.ts';
import { parseIntelHex } from '../../src/formats/intel-hex.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { SimBoard } from '../../src/sim/board.ts';
import { serveOnTcp, type RunningBridge } from '../../src/sim/node/bridge.ts';
import { serveOnPty, SOCAT, type RunningPty } from '../../src/sim/node/pty.ts';
import { LINK_BYTE_STREAM, type LinkModel } from '../../src/sim/serial-wire.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const DEMO_ROOT = join(ROOT, 'demo/keys/demo-root.json');
export const hasSocat = existsSync(SOCAT);

/** The demo release key's secret (demo/keys/README.md: public on purpose, demo builds only). */
function demoSecret(): Uint8Array {
  const text = readFileSync(join(ROOT, 'demo/keys/demo-release.key'), 'utf8');
  return new Uint8Array(Buffer.from((JSON.parse(text) as { secret: string }).secret, 'hex'));
}

/** A deterministic test image of `n` bytes. */
export function image(n: number, seed = 99): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

/** The bytes of an Intel HEX fixture, as one image from 0. */
export function hexImage(name: string): Uint8Array {
  const hex = parseIntelHex(readFileSync(join(ROOT, 'test/fixtures/firmware', name)));
  const last = hex.segments[hex.segments.length - 1]!;
  const out = new Uint8Array(last.address + last.data.length).fill(0xff);
  for (const s of hex.segments) out.set(s.data, s.address);
  return out;
}

/** A release with one target of one image, signed with the demo key. */
export function releaseFor(target: {
  chip: string;
  protocol: string;
  /** Where the image goes: a flash address, or an MCUboot image number (`slot`). */
  address?: number;
  slot?: number;
  confirm?: 'host' | 'application';
  data: Uint8Array;
  version?: string;
  securityCounter?: number;
}): Uint8Array {
  const manifest: ManifestDraft = {
    product: 'headless-test',
    version: target.version ?? '1.0.0',
    securityCounter: target.securityCounter ?? 1,
    created: '2026-01-01T00:00:00Z',
    expires: '2031-01-01T00:00:00Z',
    notes: 'Test release for simulated boards.',
    targets: [
      {
        chip: target.chip,
        protocol: target.protocol as never,
        ...(target.confirm ? { confirm: target.confirm } : {}),
        images: [
          target.slot === undefined
            ? { name: 'app', address: target.address ?? 0 }
            : { name: 'app', slot: target.slot },
        ],
      },
    ],
  };
  return createBundle({
    manifest,
    images: new Map([['app', target.data]]),
    signers: [demoSecret()],
  });
}

/** A USB-serial bridge link `factor` times faster than `baud` (keeps pty tests short). */
export function ptyLink(baud: number, factor: number): LinkModel {
  return {
    name: `bridge at ${baud} baud`,
    kind: 'usb-cdc',
    latencyMs: 1,
    chunkSize: 64,
    bytesPerMs: (baud / 10 / 1000) * factor,
  };
}

/** A simulated board on a pty, as `npm run sim -- --board NAME --pty PATH` serves it. */
export class PtyBoard {
  board!: SimBoard;
  private tcp!: RunningBridge;
  private pty: RunningPty | undefined;

  constructor(
    readonly name: string,
    readonly path: string,
    private readonly options: { baud?: number; factor?: number; link?: 'byte-stream' } = {},
  ) {}

  async start(): Promise<this> {
    const baud = this.options.baud ?? 115_200;
    this.board = createBoard(this.name, {
      clock: realClock,
      // The sim CLI's link for TCP and ptys (src/sim/cli.ts) unless a test slows it down.
      link: this.options.factor ? ptyLink(baud, this.options.factor) : LINK_BYTE_STREAM,
      startInBootloader: true,
    });
    this.tcp = await serveOnTcp({ board: this.board, host: '127.0.0.1', port: 0, baud });
    await this.plug();
    return this;
  }

  /** Creates the pty (again). */
  async plug(): Promise<void> {
    this.pty = serveOnPty({ path: this.path, tcpHost: this.tcp.host, tcpPort: this.tcp.port });
    await this.pty.ready;
  }

  /** Closes the pty: the board is unplugged. */
  unplug(): void {
    this.pty?.close();
    this.pty = undefined;
  }

  async stop(): Promise<void> {
    this.unplug();
    // A board that left the bus (MCUboot after its reset) can leave a client half-closed,
    // which server.close() would wait for; cleanup does not wait on it for long.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.tcp.close(), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}

/** Output of a CLI run. */
export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `webflash ARGS` as a child process: the bundled CLI that `npm install` builds and
 * bin/webflash.mjs runs (scripts/build-cli.mjs), built once per test file into test-results/
 * (node-serialport polls its file descriptors from the main thread, so the CLI never runs inside
 * a test worker). `onOutput` sees the output so far after every chunk, with the child to signal.
 */
export async function runCli(
  args: string[],
  options: { cwd: string; onOutput?: (all: string, child: ChildProcess) => void },
): Promise<CliRun> {
  const child = spawnCli(await builtCli(), args, options.cwd);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    options.onOutput?.(out + err, child);
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    options.onOutput?.(out + err, child);
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

let building: Promise<string> | undefined;

/**
 * Builds the CLI bundle for this test file (its own path: test files run in parallel), under
 * the repository so that the native modules it leaves outside resolve from node_modules.
 */
function builtCli(): Promise<string> {
  building ??= (async () => {
    const out = join(ROOT, `test-results/cli-${process.pid}/webflash.mjs`);
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), out]);
    return out;
  })();
  return building;
}

/** Starts the built `webflash ARGS` as a child process. */
function spawnCli(cli: string, args: string[], cwd: string): ChildProcess {
  // Every path in `args` is absolute.
  return spawn(process.execPath, [cli, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WEBFLASH_TRUST_ROOT: '' },
  });
}
