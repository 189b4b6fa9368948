/**
 * The IndexedDB stores against fake-indexeddb (an implementation of the W3C IndexedDB API for
 * Node): what they keep survives a new store object on the same database, two windows appending
 * to the flash log at once stay one chain, and storage failures become specific errors.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { AuditConflictError, AuditLog } from '../../audit/store.ts';
import { recordInstalled } from '../../bundle/rollback-store.ts';
import { WebflashError } from '../../core/errors.ts';
import { record } from '../../../test/audit/fixtures.ts';
import { IdbAuditStore } from './audit-idb.ts';
import { IdbRollbackStore } from './rollback-idb.ts';

/** A factory whose `open` always fails, as in a browser that blocks storage. */
function refusingFactory(): IDBFactory {
  const factory = new IDBFactory();
  factory.open = () => {
    const req = {
      error: new DOMException('storage is blocked', 'SecurityError'),
    } as unknown as IDBOpenDBRequest;
    queueMicrotask(() => {
      req.onerror?.call(req, new Event('error'));
    });
    return req;
  };
  return factory;
}

describe('IdbRollbackStore', () => {
  it('keeps the highest installed release per product across store objects', async () => {
    const factory = new IDBFactory();
    const first = new IdbRollbackStore('rb', factory);
    expect(await first.get('acme')).toBeUndefined();
    await recordInstalled(first, {
      product: 'acme',
      securityCounter: 4,
      version: '2.0.0',
      rootVersion: 1,
    });
    await recordInstalled(first, {
      product: 'acme',
      securityCounter: 3,
      version: '1.9.0',
      rootVersion: 2,
    });
    const second = new IdbRollbackStore('rb', factory);
    expect(await second.get('acme')).toEqual({
      securityCounter: 4,
      version: '2.0.0',
      rootVersion: 2,
    });
    expect(await second.get('other')).toBeUndefined();
  });

  it('ignores a stored value of the wrong shape instead of trusting it', async () => {
    const factory = new IDBFactory();
    const store = new IdbRollbackStore('rb', factory);
    await store.put('acme', { securityCounter: 1, version: '1.0.0', rootVersion: 1 });
    const db = await new Promise<IDBDatabase>((resolve) => {
      const req = factory.open('rb', 1);
      req.onsuccess = () => resolve(req.result);
    });
    await new Promise<void>((resolve) => {
      const tx = db.transaction('rollback', 'readwrite');
      tx.objectStore('rollback').put({ securityCounter: '9', version: 1 }, 'acme');
      tx.oncomplete = () => resolve();
    });
    db.close();
    expect(await new IdbRollbackStore('rb', factory).get('acme')).toBeUndefined();
  });

  it('a browser that refuses storage gives a specific error', async () => {
    const store = new IdbRollbackStore('rb', refusingFactory());
    const err = await store.get('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebflashError);
    expect(err).toMatchObject({ code: 'transport.io' });
    expect((err as Error).message).toMatch(/refused to open update history/);
  });
});

describe('IdbAuditStore', () => {
  it('stores a chain that verifies, read back by a new store object', async () => {
    const factory = new IDBFactory();
    let t = Date.UTC(2026, 5, 1);
    const log = new AuditLog({
      store: new IdbAuditStore({ dbName: 'log', factory }),
      now: () => new Date((t += 1000)),
    });
    await log.append(record({ note: 'first' }));
    await log.append(record({ note: 'second', result: 'failed', errorCode: 'protocol.no-sync' }));
    const again = new IdbAuditStore({ dbName: 'log', factory });
    const entries = await again.all();
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect((await again.last())?.seq).toBe(2);
    expect(await new AuditLog({ store: again }).verify()).toMatchObject({ ok: true });
  });

  it('refuses a second entry with a taken sequence number (another window won)', async () => {
    const factory = new IDBFactory();
    const store = new IdbAuditStore({ dbName: 'log', factory });
    const log = new AuditLog({ store });
    const entry = await log.append(record());
    const err = await store.add(entry).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditConflictError);
    expect((err as Error).message).toContain(`entry ${entry.seq} `);
    expect(await store.all()).toHaveLength(2);
  });

  it('two windows appending at once end with one chain holding both flashes', async () => {
    const factory = new IDBFactory();
    const a = new AuditLog({ store: new IdbAuditStore({ dbName: 'log', factory }) });
    const b = new AuditLog({ store: new IdbAuditStore({ dbName: 'log', factory }) });
    await a.append(record({ note: 'start' }));
    await Promise.all([a.append(record({ note: 'from A' })), b.append(record({ note: 'from B' }))]);
    const entries = await a.entries();
    expect(entries).toHaveLength(4);
    const notes = entries.slice(1).map((e) => ('note' in e ? e.note : ''));
    expect(notes.sort()).toEqual(['from A', 'from B', 'start']);
    expect(await b.verify()).toMatchObject({ ok: true });
  });

  it('a browser that refuses storage gives a specific error with a hint', async () => {
    const store = new IdbAuditStore({ dbName: 'log', factory: refusingFactory() });
    const err = await store.all().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebflashError);
    expect((err as Error).message).toMatch(/refused to open the flash log/);
    expect((err as WebflashError).hints.join(' ')).toMatch(/private window/);
  });
});
