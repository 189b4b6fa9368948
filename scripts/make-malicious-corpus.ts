/**
 * Writes the malicious-bundle corpus (test/bundle/corpus.ts) to test/bundle/corpus/: one .fwb
 * file per case, index.json (id, attack class, conditions, expected reason code, SHA-256) and
 * root.json, the trust root the cases are checked against. The generator is deterministic, so
 * rerunning it changes nothing unless the cases change; test/bundle/malicious.test.ts checks
 * that the files match. Run: npx tsx scripts/make-malicious-corpus.ts
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../src/core/bytes.ts';
import { maliciousCases } from '../test/bundle/corpus.ts';
import { pinnedTestRoot } from '../test/bundle/fixtures.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'bundle', 'corpus');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const cases = maliciousCases();
for (const c of cases) await writeFile(join(dir, `${c.id}.fwb`), c.bytes);
const rootJson: unknown = JSON.parse(new TextDecoder().decode(pinnedTestRoot().envelope));
await writeFile(join(dir, 'root.json'), JSON.stringify(rootJson, null, 2) + '\n');
const index = cases.map((c) => ({
  id: c.id,
  attack: c.attack,
  description: c.description,
  file: `${c.id}.fwb`,
  sha256: toHex(sha256(c.bytes)),
  conditions: c.conditions,
  expect: c.expect,
}));
await writeFile(join(dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
console.log(`Wrote ${cases.length} cases to ${dir}`);
