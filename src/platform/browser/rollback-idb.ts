/**
 * The browser's `RollbackStore`: one IndexedDB object store, `rollback`, keyed by product id.
 * Kept out of src/bundle so the pure layer never sees IndexedDB types; the app (or the worker)
 * creates it and passes it to `verifyBundle` and `recordInstalled`.
 */
import type { RollbackRecord, RollbackStore } from '../../bundle/rollback-store.ts';
import { WebflashError } from '../../core/errors.ts';

const STORE = 'rollback';
/** Key of the trust-root floor; no product id can take it (manifest.ts `ID` starts [a-z0-9]). */
const ROOT_KEY = '#trust-root';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(
        new WebflashError('transport.io', 'The browser refused to store update history.', {
          cause: req.error,
        }),
      );
  });
}

/** A RollbackStore in IndexedDB database `dbName` (default "webflash-rollback"). */
export class IdbRollbackStore implements RollbackStore {
  private db: Promise<IDBDatabase> | undefined;

  constructor(
    private readonly dbName = 'webflash-rollback',
    private readonly factory: IDBFactory = indexedDB,
  ) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(this.dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () =>
        reject(
          new WebflashError('transport.io', 'The browser refused to open update history.', {
            cause: req.error,
          }),
        );
    });
    return this.db;
  }

  private async read(key: string): Promise<unknown> {
    const db = await this.open();
    return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(key));
  }

  private async write(key: string, value: unknown): Promise<void> {
    const db = await this.open();
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(value, key));
  }

  async get(productId: string): Promise<RollbackRecord | undefined> {
    const value = await this.read(productId);
    return isRecord(value) ? value : undefined;
  }

  put(productId: string, record: RollbackRecord): Promise<void> {
    const { securityCounter, version, rootVersion } = record;
    return this.write(productId, { securityCounter, version, rootVersion });
  }

  async getRootVersion(): Promise<number | undefined> {
    const value = await this.read(ROOT_KEY);
    return Number.isSafeInteger(value) ? (value as number) : undefined;
  }

  putRootVersion(version: number): Promise<void> {
    return this.write(ROOT_KEY, version);
  }
}

function isRecord(v: unknown): v is RollbackRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(r['securityCounter']) &&
    typeof r['version'] === 'string' &&
    Number.isSafeInteger(r['rootVersion'])
  );
}
