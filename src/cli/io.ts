/**
 * Shared plumbing for `webflash` subcommands: the command shape, argument parsing on
 * `node:util` parseArgs, output streams that tests can capture, and exit codes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BundleError } from '../bundle/errors.ts';
import { WebflashError, errorMessage } from '../core/errors.ts';

/**
 * Exit codes shared by every subcommand (docs/headless.md, "Exit codes"). `flash` and `bench`
 * use the last four for the outcome of a flash; a scripted factory line can branch on them.
 */
export const EXIT = {
  ok: 0,
  /** A bundle, root or signature was rejected; the reason code is printed. */
  rejected: 1,
  /** Wrong command line. */
  usage: 2,
  /** Anything else: a file, port or device could not be read, written or opened. */
  failure: 3,
  /** The board is not one the bundle is for (another chip or board, or the images do not fit). */
  wrongBoard: 4,
  /** The board went away during the flash (unplugged, reset, cable). */
  deviceLost: 5,
  /** The bootloader did not answer, answered wrongly, or the written image did not verify. */
  protocol: 6,
  /** Cancelled (Ctrl-C, SIGINT or SIGTERM): 128 + SIGINT, as shells report it. */
  cancelled: 130,
} as const;

/** Where a command writes; tests pass collectors, the binary passes the process streams. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** True when `out` is a terminal (live progress bars); default false: plain lines. */
  isTTY?: boolean | undefined;
  /** Terminal width, for progress bars. */
  columns?: number | undefined;
  /**
   * Calls `handler` on Ctrl-C / SIGINT or SIGTERM while a command runs; returns `off`. Absent:
   * the command cannot be interrupted (tests pass their own).
   */
  onInterrupt?: ((handler: () => void) => () => void) | undefined;
  /** Environment variables (`WEBFLASH_TRUST_ROOT`); default none. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** One `webflash` subcommand (or a group of them, which dispatches on its first argument). */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  run: (args: string[], io: CliIo) => Promise<number>;
}

/** A command-line mistake: printed with the command's help hint, exit code 2. */
export class CliUsageError extends Error {}

/**
 * Parses `args` strictly (unknown options are errors).
 * @throws {CliUsageError} on unknown or malformed options.
 */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  allowPositionals = false,
): {
  values: ReturnType<
    typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true; args: string[] }>
  >['values'];
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values, positionals };
  } catch (err) {
    throw new CliUsageError(errorMessage(err));
  }
}

/** Returns a required string option or throws a usage error naming it. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new CliUsageError(`${flag} is required`);
  return value;
}

/** Builds a group command ("root", "bundle") that dispatches to its subcommands. */
export function group(name: string, summary: string, subcommands: readonly Command[]): Command {
  const help = [
    `webflash ${name} <command> [options]`,
    '',
    summary,
    '',
    'Commands:',
    ...subcommands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    `Run 'webflash ${name} <command> --help' for details.`,
  ].join('\n');
  return {
    name,
    summary,
    help,
    run: async (args, io) => {
      const [sub, ...rest] = args;
      if (sub === undefined || sub === '--help' || sub === '-h') {
        (sub === undefined ? io.err : io.out)(help + '\n');
        return sub === undefined ? EXIT.usage : EXIT.ok;
      }
      const cmd = subcommands.find((c) => c.name === sub);
      if (!cmd) {
        io.err(`webflash ${name}: unknown command "${sub}"\n\n${help}\n`);
        return EXIT.usage;
      }
      return runCommand(cmd, rest, io, `webflash ${name} ${sub}`);
    },
  };
}

/** Runs one command: `--help`, usage errors and rejections become text and exit codes. */
export async function runCommand(
  cmd: Command,
  args: string[],
  io: CliIo,
  label: string,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(cmd.help + '\n');
    return EXIT.ok;
  }
  try {
    return await cmd.run(args, io);
  } catch (err) {
    if (err instanceof CliUsageError) {
      io.err(`${label}: ${err.message}\nRun '${label} --help' for usage.\n`);
      return EXIT.usage;
    }
    if (err instanceof BundleError) {
      io.err(`${label}: rejected [${err.reason}]: ${err.message}\n`);
      return EXIT.rejected;
    }
    if (err instanceof WebflashError) {
      io.err(
        `${label}: ${err.message} [${err.code}]\n${err.hints.map((h) => `  ${h}\n`).join('')}`,
      );
      return EXIT.failure;
    }
    io.err(`${label}: ${errorMessage(err)}\n`);
    return EXIT.failure;
  }
}
