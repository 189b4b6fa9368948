/**
 * `npm run build:cli` (also run by `npm ci` / `npm install` through `prepare`): bundles the
 * `webflash` CLI (src/cli/main.ts and everything it imports, the ESP flasher stubs included)
 * into one ES module, dist-cli/webflash.mjs, so that the command starts without compiling
 * TypeScript: about 0.2 s instead of 0.7–1.5 s through tsx, which a factory line pays per board.
 * bin/webflash.mjs runs it while it is newer than every source file, and the sources through
 * tsx otherwise. The native modules (serialport, usb) stay outside and load from node_modules.
 *
 * esbuild comes with tsx, which the CLI already needs; its bundler is the one Node tool here
 * that bundles TypeScript for Node in about a second.
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the CLI to `outfile` (default dist-cli/webflash.mjs). */
async function buildCli(outfile = join(root, 'dist-cli/webflash.mjs')) {
  await build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['serialport', '@serialport/*', 'usb'],
    // CommonJS dependencies bundled into an ES module still call require() for Node's own
    // modules: give them one.
    banner: {
      js: "import { createRequire as __webflashRequire } from 'node:module';\nconst require = __webflashRequire(import.meta.url);",
    },
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildCli(process.argv[2]);
  console.log(`webflash CLI: ${out}`);
}
