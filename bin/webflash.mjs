#!/usr/bin/env node
// The `webflash` CLI. Runs the bundled build (dist-cli/webflash.mjs: `npm run build:cli`, also
// made on install) while it is newer than the sources, which starts in about 0.2 s; otherwise
// registers tsx's ESM loader so Node runs the TypeScript sources directly.
// WEBFLASH_FROM_SOURCE=1 always runs the sources.
import { fileURLToPath } from 'node:url';
import { builtIsFresh } from '../scripts/cli-entry.mjs';

const at = (path) => fileURLToPath(new URL(path, import.meta.url));
const built = at('../dist-cli/webflash.mjs');
const fresh =
  process.env.WEBFLASH_FROM_SOURCE !== '1' &&
  builtIsFresh(built, [at('../src'), at('../package-lock.json')]);

let main;
if (fresh) {
  ({ main } = await import(new URL('../dist-cli/webflash.mjs', import.meta.url).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
