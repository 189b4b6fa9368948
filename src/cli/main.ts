/**
 * The `webflash` command line: publishing (docs/publishing.md) and headless flashing
 * (docs/headless.md). Each group of subcommands lives
 * in its own file and is listed once in `COMMANDS`; add a new group by appending to it.
 *
 * Run through the package binary (bin/webflash.mjs) or `npx tsx src/cli/main.ts`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchCommand } from './bench-cmd.ts';
import { bundleCommand } from './bundle-cmd.ts';
import { dfuCommand } from './dfu-cmd.ts';
import { flashCommand } from './flash-cmd.ts';
import { type CliIo, type Command, EXIT, runCommand } from './io.ts';
import { keygenCommand } from './keys-cmd.ts';
import { listCommand } from './list-cmd.ts';
import { logCommand } from './log-cmd.ts';
import { rootCommand } from './root-cmd.ts';
import { inspectCommand, verifyCommand } from './verify-cmd.ts';

/** Every top-level command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  keygenCommand,
  rootCommand,
  bundleCommand,
  verifyCommand,
  inspectCommand,
  dfuCommand,
  logCommand,
  listCommand,
  flashCommand,
  benchCommand,
];

function usage(): string {
  return [
    'webflash <command> [options]',
    '',
    'Publish signed firmware bundles, and flash them onto boards without a browser.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    "Run 'webflash <command> --help' for details. Guides: docs/publishing.md, docs/headless.md",
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit code.
 * @example await main(['verify', 'x.fwb', '--root', 'root.json', '--json'], io)
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage() + '\n');
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`webflash: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  return runCommand(cmd, rest, io, `webflash ${name}`);
}

/** Output to the process streams, paths relative to the current directory. */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    cwd: process.cwd(),
    isTTY: process.stdout.isTTY,
    columns: process.stdout.columns,
    onInterrupt: (handler) => {
      // The first signal asks the command to stop at a safe point; a second one exits at once.
      let signals = 0;
      const on = (): void => {
        if (++signals > 1) process.exit(EXIT.cancelled);
        handler();
      };
      process.on('SIGINT', on);
      process.on('SIGTERM', on);
      return () => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
      };
    },
    env: process.env,
  };
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
