import { describe, expect, it } from 'vitest';
import {
  appendEntry,
  AuditConflictError,
  AuditLog,
  createGenesis,
  entryHash,
  MemoryAuditStore,
  verifyChain,
  ZERO_HASH,
  type AuditEntry,
  type FlashRecord,
} from '../../src/audit/index.ts';
import { UsageError } from '../../src/core/errors.ts';
import { buildLog, LOG_ID, record } from './fixtures.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const T0 = new Date(Date.UTC(2026, 2, 1, 9, 0, 0));

describe('entries and hashes', () => {
  it('hashes the canonical encoding of every field except hash', () => {
    const g = createGenesis({ time: T0, logId: LOG_ID });
    expect(g).toMatchObject({ v: 1, seq: 0, kind: 'genesis', prev: ZERO_HASH, logId: LOG_ID });
    expect(g.time).toBe('2026-03-01T09:00:00.000Z');
    const text = `{"kind":"genesis","logId":"${LOG_ID}","prev":"${ZERO_HASH}","seq":0,"time":"2026-03-01T09:00:00.000Z","v":1}`;
    expect(g.hash).toBe(bytesToHex(sha256(new TextEncoder().encode(text))));
    expect(entryHash(g)).toBe(g.hash);
  });

  it('chains each entry to the one before', () => {
    const g = createGenesis({ time: T0, logId: LOG_ID });
    const e1 = appendEntry(g, record(), new Date(T0.getTime() + 1));
    const e2 = appendEntry(e1, record({ mode: 'bench' }), new Date(T0.getTime() + 2));
    expect([e1.seq, e1.prev, e2.seq, e2.prev]).toEqual([1, g.hash, 2, e1.hash]);
    expect(verifyChain([g, e1, e2])).toEqual({ ok: true, count: 3, head: e2.hash });
  });

  it('does not keep references to the caller’s record', () => {
    const g = createGenesis({ time: T0, logId: LOG_ID });
    const r = record();
    const e = appendEntry(g, r, T0);
    r.bundle.version = '9.9.9';
    expect(e.bundle.version).toBe('1.0.0');
    expect(verifyChain([g, e]).ok).toBe(true);
  });

  const bad: [string, Partial<FlashRecord> | Record<string, unknown>, RegExp][] = [
    ['an unknown mode', { mode: 'factory' }, /"mode"/],
    ['a failure without a code', { result: 'failed', errorCode: null }, /"errorCode"/],
    ['a success with a code', { errorCode: 'timeout' }, /"errorCode"/],
    ['a malformed error code', { result: 'failed', errorCode: 'Not A Code' }, /"errorCode"/],
    ['a negative duration', { durationMs: -1 }, /"durationMs"/],
    ['a fractional duration', { durationMs: 1.5 }, /"durationMs"/],
    ['a short bundle hash', { bundle: { product: 'p', version: '1', sha256: 'ab' } }, /sha256/],
    [
      'an upper-case bundle hash',
      { bundle: { product: 'p', version: '1', sha256: 'AB'.repeat(32) } },
      /sha256/,
    ],
    [
      'an extra bundle field',
      { bundle: { product: 'p', version: '1', sha256: 'ab'.repeat(32), x: 1 } },
      /bundle\.x/,
    ],
    ['a note that is too long', { note: 'x'.repeat(2001) }, /"note"/],
    ['a lone surrogate', { chip: '\ud800' }, /"chip"/],
    ['a number as port', { port: 3 }, /"port"/],
    ['a missing field', { chip: undefined }, /"chip"/],
  ];
  it.each(bad)('refuses a record with %s', (_name, overrides, message) => {
    const g = createGenesis({ time: T0, logId: LOG_ID });
    const r = { ...record(), ...overrides } as Record<string, unknown>;
    for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
    expect(() => appendEntry(g, r as unknown as FlashRecord, T0)).toThrow(UsageError);
    expect(() => appendEntry(g, r as unknown as FlashRecord, T0)).toThrow(message);
  });

  it('refuses an invalid time and log id', () => {
    expect(() => createGenesis({ time: new Date(Number.NaN) })).toThrow(UsageError);
    expect(() => createGenesis({ time: T0, logId: 'xyz' })).toThrow(/logId/);
  });
});

describe('verifyChain names the first broken entry', () => {
  const mutate = (
    entries: AuditEntry[],
    i: number,
    f: (e: Record<string, unknown>) => void,
  ): AuditEntry[] =>
    entries.map((e, j) => {
      if (j !== i) return e;
      const copy = structuredClone(e) as unknown as Record<string, unknown>;
      f(copy);
      return copy as unknown as AuditEntry;
    });
  const rehash = (e: Record<string, unknown>): void => {
    e['hash'] = entryHash(e as unknown as AuditEntry);
  };

  const cases: [string, (l: AuditEntry[]) => unknown[], number, string][] = [
    ['an edited field', (l) => mutate(l, 3, (e) => (e['result'] = 'ok')), 3, 'malformed'],
    ['an edited note', (l) => mutate(l, 4, (e) => (e['note'] = 'all fine')), 4, 'hash-mismatch'],
    [
      'an edited bundle hash',
      (l) =>
        mutate(l, 2, (e) => ((e['bundle'] as Record<string, string>)['sha256'] = 'cd'.repeat(32))),
      2,
      'hash-mismatch',
    ],
    [
      'an edited entry with a recomputed hash',
      (l) =>
        mutate(l, 2, (e) => {
          e['durationMs'] = 1;
          rehash(e);
        }),
      3,
      'prev-mismatch',
    ],
    ['a deleted entry', (l) => l.filter((_, i) => i !== 3), 3, 'seq-mismatch'],
    [
      'a deleted entry, later ones renumbered and rehashed',
      (l) => {
        const out = l
          .filter((_, i) => i !== 3)
          .map((e) => structuredClone(e) as unknown as Record<string, unknown>);
        for (let i = 3; i < out.length; i++) {
          out[i]!['seq'] = i;
          rehash(out[i]!);
        }
        return out;
      },
      3,
      'prev-mismatch',
    ],
    ['two swapped entries', (l) => [l[0], l[1], l[3], l[2], l[4], l[5]], 2, 'seq-mismatch'],
    ['a duplicated entry', (l) => [l[0], l[1], l[1], l[2]], 2, 'seq-mismatch'],
    ['a missing genesis', (l) => l.slice(1), 0, 'genesis'],
    ['a second genesis', (l) => [l[0], l[0]], 1, 'genesis'],
    [
      'a genesis with a non-zero prev',
      (l) =>
        mutate(l, 0, (e) => {
          e['prev'] = 'ab'.repeat(32);
          rehash(e);
        }),
      0,
      'prev-mismatch',
    ],
    ['an unknown field', (l) => mutate(l, 1, (e) => (e['extra'] = 1)), 1, 'malformed'],
    [
      'a wrong version',
      (l) =>
        mutate(l, 1, (e) => {
          e['v'] = 2;
          rehash(e);
        }),
      1,
      'malformed',
    ],
    [
      'a bad time',
      (l) =>
        mutate(l, 1, (e) => {
          e['time'] = '2026-02-30T00:00:00.000Z';
        }),
      1,
      'malformed',
    ],
    ['a non-object', (l) => [l[0], 'entry'], 1, 'malformed'],
    ['nothing', () => [], 0, 'empty'],
  ];
  it.each(cases)('%s', async (_name, tamper, index, reason) => {
    const log = await buildLog(5);
    expect(verifyChain(log).ok).toBe(true);
    expect(verifyChain(tamper(log))).toMatchObject({ ok: false, index, reason });
  });

  it('checks an expected hash (truncation at the end)', async () => {
    const log = await buildLog(5);
    expect(verifyChain(log.slice(0, 4), { expectHash: log[5]!.hash })).toMatchObject({
      ok: false,
      index: 4,
      reason: 'missing-anchor',
    });
    expect(verifyChain(log, { expectHash: log[5]!.hash }).ok).toBe(true);
  });
});

describe('AuditLog', () => {
  it('starts with a genesis entry and serialises concurrent appends', async () => {
    const store = new MemoryAuditStore();
    const log = new AuditLog({ store, logId: LOG_ID, now: () => T0 });
    const entries = await Promise.all(
      [1, 2, 3, 4].map((d) => log.append(record({ durationMs: d }))),
    );
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const all = await store.all();
    expect(all[0]).toMatchObject({ kind: 'genesis', logId: LOG_ID });
    expect(await log.verify()).toMatchObject({ ok: true, count: 5 });
  });

  it('re-chains onto an entry another window wrote first', async () => {
    const store = new MemoryAuditStore();
    const a = new AuditLog({ store, now: () => T0 });
    const b = new AuditLog({ store, now: () => T0 });
    await a.append(record());
    // b read the head before a's second append landed: simulate by racing both.
    const [x, y] = await Promise.all([
      a.append(record({ note: 'a' })),
      b.append(record({ note: 'b' })),
    ]);
    expect(new Set([x.seq, y.seq])).toEqual(new Set([2, 3]));
    expect(verifyChain(await store.all()).ok).toBe(true);
  });

  it('gives up after maxAttempts conflicts', async () => {
    const store = new MemoryAuditStore();
    const stubborn = {
      all: () => store.all(),
      last: () => store.last(),
      add: async (e: AuditEntry) => {
        if (e.kind === 'genesis') return store.add(e);
        throw new AuditConflictError(e.seq);
      },
    };
    const log = new AuditLog({ store: stubborn, maxAttempts: 3, now: () => T0 });
    await expect(log.append(record())).rejects.toMatchObject({ code: 'audit.conflict' });
    // The queue keeps working after a failure.
    await expect(log.append(record({ mode: 'x' as never }))).rejects.toThrow(UsageError);
  });

  it('exports an empty log as just its genesis entry', async () => {
    const log = new AuditLog({ store: new MemoryAuditStore(), logId: LOG_ID, now: () => T0 });
    const text = await log.export('jsonl');
    expect(text.split('\n')).toHaveLength(3);
  });
});
