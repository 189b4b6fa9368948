/** `webflash log verify` / `webflash log show` on exported logs in a temporary directory. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLog, type AuditEntry } from '../../src/audit/index.ts';
import { main } from '../../src/cli/main.ts';
import { buildLog } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'webflash-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir });
  return { code, out, err };
}

let log: AuditEntry[];
beforeAll(async () => {
  log = await buildLog(5);
  const good = exportLog(log, 'jsonl');
  writeFileSync(join(dir, 'good.jsonl'), good);
  writeFileSync(join(dir, 'good.json'), exportLog(log, 'json'));
  const lines = good.split('\n');
  writeFileSync(join(dir, 'deleted.jsonl'), lines.filter((_, i) => i !== 3).join('\n'));
  writeFileSync(join(dir, 'edited.jsonl'), good.replace('"durationMs":5001', '"durationMs":5901'));
});

describe('webflash log verify', () => {
  it('accepts an intact log (exit 0)', async () => {
    for (const file of ['good.jsonl', 'good.json']) {
      const r = await run('log', 'verify', file);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toBe(`OK: 6 entries, head ${log[5]!.hash}\n`);
    }
  });

  it('names the first broken entry (exit 1)', async () => {
    const r = await run('log', 'verify', 'deleted.jsonl');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^BROKEN: entry 2: seq-mismatch: it is entry 3 of the log/);
    const e = await run('log', 'verify', 'edited.jsonl');
    expect(e.code).toBe(1);
    expect(e.out).toMatch(/^BROKEN: entry 2: hash-mismatch/);
  });

  it('prints one JSON object with --json', async () => {
    const ok = await run('log', 'verify', 'good.jsonl', '--json');
    expect(JSON.parse(ok.out)).toEqual({ ok: true, count: 6, head: log[5]!.hash, format: 'jsonl' });
    const bad = await run('log', 'verify', '--json', 'deleted.jsonl');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, index: 2, reason: 'seq-mismatch' });
  });

  it('checks --expect against the entries', async () => {
    expect((await run('log', 'verify', 'good.jsonl', '--expect', log[4]!.hash)).code).toBe(0);
    const r = await run('log', 'verify', 'good.jsonl', '--expect', 'f'.repeat(64));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/entry 6: missing-anchor/);
  });

  it.each([
    [['log', 'verify'], 2, /log file/],
    [['log', 'verify', 'a', 'b'], 2, /log file/],
    [['log', 'verify', 'good.jsonl', '--expect', 'xyz'], 2, /--expect/],
    [['log', 'verify', 'good.jsonl', '--bogus'], 2, /bogus/],
    [['log', 'nope'], 2, /unknown command/],
    [['log', 'verify', 'missing.jsonl'], 3, /ENOENT|no such file/],
  ])('%j → exit %i', async (argv, code, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
  });
});

describe('webflash log show', () => {
  it('lists the entries and the verdict', async () => {
    const r = await run('log', 'show', 'good.json');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {3}0 {2}2026-03-01T09:00:01\.000Z {2}log started \(id 0011/);
    expect(lines[1]).toMatch(
      /technician {2}esp32s3 7c:df:a1:00:11:22 on USB serial 303a:1001 {2}webflash-demo 1\.0\.0 {2}ok {2}5\.0 s {2}"board 0"/,
    );
    expect(lines[3]).toMatch(/FAILED protocol\.no-sync {2}0\.9 s$/);
    expect(lines.at(-1)).toBe(`OK: 6 entries, head ${log[5]!.hash}`);
  });

  it('marks entries after a break as unverified (exit 1)', async () => {
    const r = await run('log', 'show', 'deleted.jsonl');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/UNVERIFIED {2}\{/);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^BROKEN: entry 2: seq-mismatch/);
    const json = JSON.parse((await run('log', 'show', 'good.jsonl', '--json')).out) as {
      entries: unknown[];
    };
    expect(json.entries).toEqual(log);
  });
});
