/**
 * Which file `webflash` runs (scripts/cli-entry.mjs): the bundled build while no source changed
 * after it, the TypeScript sources otherwise.
 */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtIsFresh } from '../../scripts/cli-entry.mjs';

function tree() {
  const dir = mkdtempSync(join(tmpdir(), 'webflash-entry-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'cli'), { recursive: true });
  const files = {
    built: join(dir, 'webflash.mjs'),
    source: join(src, 'cli', 'main.ts'),
    lock: join(dir, 'package-lock.json'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const at = (path: string, seconds: number): void => utimesSync(path, seconds, seconds);
  at(join(src, 'cli'), 1000);
  at(src, 1000);
  return { dir, src, files, at };
}

describe('builtIsFresh', () => {
  it('is true when the build is newer than every source and the lock file', () => {
    const t = tree();
    t.at(t.files.source, 1000);
    t.at(t.files.lock, 1000);
    t.at(t.files.built, 2000);
    expect(builtIsFresh(t.files.built, [t.src, t.files.lock])).toBe(true);
  });

  it('is false when a source file deep in a folder changed after the build', () => {
    const t = tree();
    t.at(t.files.lock, 1000);
    t.at(t.files.built, 2000);
    t.at(t.files.source, 3000);
    expect(builtIsFresh(t.files.built, [t.src, t.files.lock])).toBe(false);
  });

  it('is false when the dependencies changed after the build', () => {
    const t = tree();
    t.at(t.files.source, 1000);
    t.at(t.files.built, 2000);
    t.at(t.files.lock, 3000);
    expect(builtIsFresh(t.files.built, [t.src, t.files.lock])).toBe(false);
  });

  it('is false when there is no build', () => {
    const t = tree();
    expect(builtIsFresh(join(t.dir, 'missing.mjs'), [t.src])).toBe(false);
  });
});
