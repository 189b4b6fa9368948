/**
 * Command-line options of `npm run sim` (src/sim/cli.ts), parsed strictly: unknown flags and
 * malformed values are usage errors with a message that says what is wrong.
 */
import { UsageError } from '../../core/errors.ts';
import type { FaultOptions } from '../serial-wire.ts';

export interface SimCliOptions {
  board: string;
  /** host:port for TCP, when given. */
  listen?: { host: string; port: number };
  /** Path of the pty symlink, when given. */
  pty?: string;
  /** host:port of the reset-line control channel (node/control.ts), when given. */
  control?: { host: string; port: number };
  /** host:port for a USB board's bus (src/sim/node/usb-server.ts), when given. */
  usbListen?: { host: string; port: number };
  baud: number;
  seed: number;
  faults: FaultOptions;
  images: { address: number; file: string }[];
  /** Fire the board's timers on time by polling before each is due (preciseClock). */
  preciseTimers: boolean;
  help: boolean;
  list: boolean;
}

export const SIM_USAGE = `Usage: npm run sim -- --board NAME (--listen HOST:PORT | --pty PATH) [options]

Serves a simulated board's serial port, already in its bootloader, to native tools.

  --board NAME          board preset (see --list), e.g. esp32, esp32s3, esp32c3
  --listen HOST:PORT    serve the raw serial byte stream on TCP (one client at a time)
  --pty PATH            serve it on a pseudo-terminal linked at PATH (needs socat)
  --control HOST:PORT   reset line: a line "reset" on this TCP port restarts the board
                          in its bootloader (a pty carries no DTR/RTS/BREAK)
  --usb-listen HOST:PORT
                        USB boards: serve the board's USB bus to libusb programs
                        (npm run -s sim:usb-run -- HOST:PORT -- COMMAND ARGS…)
  --baud N              the host's line speed at connect (default 115200); bytes then
                        go at the chip's UART rate, which CHANGE_BAUDRATE changes
  --seed N              seed for the MAC address and fault injection (default 1)
  --fault SPEC          inject faults; SPEC is a comma list of
                          drop:P          lose each byte with probability P
                          corrupt:P       flip bits in each byte with probability P
                          delay:P:MS      hold a chunk back MS ms with probability P
  --image ADDR:FILE     put FILE in flash at ADDR (hex 0x… or decimal) before starting
  --precise-timers      answer on time: poll the last 1.5 ms before each of the board's
                          timers instead of waiting on Node's whole-millisecond timers
                          (costs CPU; the benchmarks serve their boards this way)
  --list                list the board presets
  --help                this text
`;

function parseNumber(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : Number(text);
  if (!Number.isFinite(n) || text.trim() === '')
    throw new UsageError(`${what}: "${text}" is not a number`);
  return n;
}

function parseFaults(spec: string, into: FaultOptions): void {
  for (const part of spec.split(',')) {
    const [kind, a, b] = part.split(':');
    const p = parseNumber(a ?? '', `--fault ${kind}`);
    if (p < 0 || p > 1)
      throw new UsageError(`--fault ${kind}: probability must be between 0 and 1`);
    if (kind === 'drop') into.dropRate = p;
    else if (kind === 'corrupt') into.corruptRate = p;
    else if (kind === 'delay') {
      into.delayRate = p;
      into.delayMs = parseNumber(b ?? '100', '--fault delay ms');
    } else throw new UsageError(`--fault: unknown fault "${kind}" (use drop, corrupt or delay)`);
  }
}

function hostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, got "${v}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`${flag}: port ${port} is out of range`);
  return { host: m[1] || '127.0.0.1', port };
}

/**
 * Parses argv (without node and script).
 * @throws {UsageError} with a plain message for anything malformed.
 */
export function parseSimArgs(argv: readonly string[]): SimCliOptions {
  const o: SimCliOptions = {
    board: '',
    baud: 115200,
    seed: 1,
    faults: {},
    images: [],
    preciseTimers: false,
    help: false,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        o.help = true;
        break;
      case '--list':
        o.list = true;
        break;
      case '--board':
        o.board = value();
        break;
      case '--listen':
        o.listen = hostPort(flag, value());
        break;
      case '--control':
        o.control = hostPort(flag, value());
        break;
      case '--pty':
        o.pty = value();
        break;
      case '--usb-listen': {
        const v = value();
        const m = /^(.*):(\d+)$/.exec(v);
        if (!m || Number(m[2]) > 65535)
          throw new UsageError(`--usb-listen: expected HOST:PORT, got "${v}"`);
        o.usbListen = { host: m[1] || '127.0.0.1', port: Number(m[2]) };
        break;
      }
      case '--baud':
        o.baud = parseNumber(value(), '--baud');
        if (o.baud <= 0) throw new UsageError('--baud must be positive');
        break;
      case '--precise-timers':
        o.preciseTimers = true;
        break;
      case '--seed':
        o.seed = parseNumber(value(), '--seed');
        break;
      case '--fault':
        parseFaults(value(), o.faults);
        break;
      case '--image': {
        const v = value();
        const at = v.indexOf(':');
        if (at <= 0) throw new UsageError(`--image: expected ADDR:FILE, got "${v}"`);
        o.images.push({
          address: parseNumber(v.slice(0, at), '--image address'),
          file: v.slice(at + 1),
        });
        break;
      }
      default:
        throw new UsageError(`Unknown option "${flag}". Try --help.`);
    }
  }
  if (!o.help && !o.list) {
    if (!o.board) throw new UsageError('--board is required. Try --list.');
    if (!o.listen && !o.pty && !o.usbListen)
      throw new UsageError('Give --listen HOST:PORT, --pty PATH or --usb-listen HOST:PORT.');
  }
  return o;
}
