/**
 * The browser's `AuditStore`: IndexedDB database "webflash-flash-log", object store `entries`
 * keyed by `seq`. Entries are only ever added (`IDBObjectStore.add`, which fails on an existing
 * key), so two windows appending at once cannot overwrite each other: the loser gets an
 * `AuditConflictError` and `AuditLog` re-chains its entry onto the winner's.
 * Kept out of src/audit so the pure layer never sees IndexedDB types.
 */
import { AuditConflictError, type AuditStore } from '../../audit/store.ts';
import type { AuditEntry } from '../../audit/entry.ts';
import { WebflashError } from '../../core/errors.ts';

const STORE = 'entries';

function storageError(what: string, cause: unknown): WebflashError {
  return new WebflashError('transport.io', `The browser refused to ${what} the flash log.`, {
    cause,
    hints: ['Check that the site may store data (not a private window with storage blocked).'],
  });
}

function request<T>(req: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storageError(what, req.error));
  });
}

/** Options for `IdbAuditStore`. */
export interface IdbAuditStoreOptions {
  /** Database name; default "webflash-flash-log". */
  dbName?: string;
  /** Default the global `indexedDB`. */
  factory?: IDBFactory;
}

/**
 * An AuditStore in IndexedDB.
 * @example const log = new AuditLog({ store: new IdbAuditStore() });
 */
export class IdbAuditStore implements AuditStore {
  private db: Promise<IDBDatabase> | undefined;
  private readonly dbName: string;
  private readonly factory: IDBFactory;

  constructor(options: IdbAuditStoreOptions = {}) {
    this.dbName = options.dbName ?? 'webflash-flash-log';
    this.factory = options.factory ?? indexedDB;
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(this.dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'seq' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(storageError('open', req.error));
    });
    return this.db;
  }

  async all(): Promise<readonly AuditEntry[]> {
    const db = await this.open();
    const store = db.transaction(STORE, 'readonly').objectStore(STORE);
    // Returned as stored; verifyChain checks every field before anyone relies on them.
    return (await request(store.getAll(), 'read')) as AuditEntry[];
  }

  async last(): Promise<AuditEntry | undefined> {
    const db = await this.open();
    const store = db.transaction(STORE, 'readonly').objectStore(STORE);
    const cursor = await request(store.openCursor(null, 'prev'), 'read');
    return cursor ? (cursor.value as AuditEntry) : undefined;
  }

  async add(entry: AuditEntry): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    const req = tx.objectStore(STORE).add(entry);
    await new Promise<void>((resolve, reject) => {
      req.onerror = (event) => {
        // A ConstraintError means the key exists: another window appended this seq first.
        if (req.error?.name === 'ConstraintError') {
          event.preventDefault();
          reject(new AuditConflictError(entry.seq, { cause: req.error }));
        } else {
          reject(storageError('write to', req.error));
        }
      };
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(storageError('write to', tx.error));
    });
  }
}
