#!/usr/bin/env node
/**
 * npm run -s sim:usb-run -- HOST:PORT[,HOST:PORT…] -- COMMAND ARGS…
 *
 * Runs a native libusb-1.0 program with its libusb calls answered by the simulated USB devices
 * that `npm run sim -- --board NAME --usb-listen HOST:PORT` serves: the stand-in library
 * (libusb-bridge.c) is built with gcc when missing or older than its sources, then preloaded.
 * Exits with the program's exit code (or 127 when it cannot be started).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCES = [
  'libusb-bridge.c',
  'bridge-wire.c',
  'bridge-config.c',
  'bridge-misc.c',
  'bridge.h',
];
const LIBRARY = join(here, 'build', 'libusb-bridge.so');
const GCC = process.env.CC ?? 'gcc';

/** Builds the library if it is missing or older than a source; returns its path. */
function buildBridge() {
  const newest = Math.max(...SOURCES.map((s) => statSync(join(here, s)).mtimeMs));
  if (existsSync(LIBRARY) && statSync(LIBRARY).mtimeMs >= newest) return LIBRARY;
  mkdirSync(dirname(LIBRARY), { recursive: true });
  // Built under a temporary name and renamed: concurrent runs never load a half-written file.
  const tmp = `${LIBRARY}.${process.pid}.tmp`;
  const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-I/usr/include/libusb-1.0'];
  const c = SOURCES.filter((s) => s.endsWith('.c')).map((s) => join(here, s));
  const r = spawnSync(GCC, [...args, '-o', tmp, ...c], { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit code ${r.status}`;
    throw new Error(
      `building ${LIBRARY} failed (${why}); needs gcc and libusb-1.0-0-dev (sudo apt-get install gcc libusb-1.0-0-dev)`,
    );
  }
  renameSync(tmp, LIBRARY);
  return LIBRARY;
}

function usage() {
  process.stderr.write(
    'Usage: npm run -s sim:usb-run -- HOST:PORT[,HOST:PORT…] -- COMMAND ARGS…\n' +
      '  e.g. npm run -s sim:usb-run -- 127.0.0.1:5560 -- dfu-util -l\n',
  );
  process.exit(2);
}

function main(argv) {
  const sep = argv.indexOf('--');
  const servers = argv[0];
  if (!servers || sep !== 1 || argv.length < 3) usage();
  const [command, ...args] = argv.slice(2);
  let library;
  try {
    library = buildBridge();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(127);
  }
  const preload = [library, process.env.LD_PRELOAD].filter(Boolean).join(':');
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, LD_PRELOAD: preload, WEBFLASH_USB_SIM: servers },
  });
  child.on('error', (err) => {
    process.stderr.write(`cannot run ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

main(process.argv.slice(2));
