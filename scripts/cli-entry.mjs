/**
 * Which file `webflash` runs (bin/webflash.mjs): the bundled build dist-cli/webflash.mjs
 * (scripts/build-cli.mjs) while it is at least as new as every file it was built from — the
 * sources in src/ and the installed dependencies (package-lock.json) — and the TypeScript
 * sources through tsx otherwise, so an edited checkout never runs an outdated build.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time (ms) of `path` and, for a folder, everything in it. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/**
 * True when `built` exists and no path in `inputs` (files or folders) changed after it.
 * @param {string} built
 * @param {readonly string[]} inputs
 * @returns {boolean}
 */
export function builtIsFresh(built, inputs) {
  const stat = statSync(built, { throwIfNoEntry: false });
  if (!stat) return false;
  return inputs.every((input) => newest(input) <= stat.mtimeMs);
}
