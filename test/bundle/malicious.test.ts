/**
 * Every malicious bundle is rejected with its reason code, every TUF attack class is covered,
 * and the committed copy in test/bundle/corpus/ matches what the generator produces.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { maliciousCases, runCase, type AttackClass } from './corpus.ts';
import { goodBundle, pinnedTestRoot } from './fixtures.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { NOW } from './fixtures.ts';

const cases = maliciousCases();
const root = pinnedTestRoot();

describe('malicious bundle corpus', () => {
  it('has at least 30 cases with unique ids, covering every attack class', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    const classes: AttackClass[] = [
      'arbitrary-software',
      'key-compromise-below-threshold',
      'rollback',
      'indefinite-freeze',
      'endless-data',
      'mix-and-match',
      'wrong-software',
      'fast-forward-roots',
      'container',
      'json',
    ];
    for (const c of classes)
      expect(cases.filter((x) => x.attack === c).length, c).toBeGreaterThan(0);
  });

  it('the genuine bundle they are derived from verifies', async () => {
    await expect(verifyBundle(goodBundle(), { trustRoot: root, now: NOW })).resolves.toBeDefined();
  });

  it.each(cases.map((c) => [c.attack, c.id, c] as const))('%s / %s', async (_, __, c) => {
    expect(await runCase(c, root), c.description).toBe(c.expect);
  });
});

describe('committed corpus files', () => {
  const dir = join(import.meta.dirname, 'corpus');
  const index = join(dir, 'index.json');
  it.runIf(existsSync(index))('match the generator byte for byte', () => {
    const entries = JSON.parse(readFileSync(index, 'utf8')) as {
      id: string;
      file: string;
      sha256: string;
      expect: string;
    }[];
    expect(entries.map((e) => e.id)).toEqual(cases.map((c) => c.id));
    for (const [i, e] of entries.entries()) {
      const bytes = new Uint8Array(readFileSync(join(dir, e.file)));
      expect(toHex(sha256(bytes)), e.id).toBe(toHex(sha256(cases[i]!.bytes)));
      expect(e.expect).toBe(cases[i]!.expect);
    }
  });
});
