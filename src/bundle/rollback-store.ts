/**
 * Where the updater remembers, per product, the highest security counter and trust-root version
 * it has installed, and, for all products together, the newest trust root it has verified a
 * bundle with (TUF v1.0 §5.3: a client never goes back to an older root once it trusts a newer
 * one). The browser keeps it in IndexedDB (src/platform/browser/rollback-idb.ts), one store shared by every
 * face of the app; Node tests and the CLI use `MemoryRollbackStore`.
 */

/** What was installed last for one product. */
export interface RollbackRecord {
  readonly securityCounter: number;
  /** Release version that set the counter, for messages. */
  readonly version: string;
  /** Version of the trust root that release was verified with. */
  readonly rootVersion: number;
}

/** Persistent anti-rollback state: one record per product id, and one trust-root floor. */
export interface RollbackStore {
  get(productId: string): Promise<RollbackRecord | undefined>;
  put(productId: string, record: RollbackRecord): Promise<void>;
  /** Highest trust-root version any accepted bundle was verified with, for any product. */
  getRootVersion(): Promise<number | undefined>;
  /** Stores `version` as the trust-root floor (callers only ever raise it: `recordRootSeen`). */
  putRootVersion(version: number): Promise<void>;
}

/** A RollbackStore in memory: for tests, the CLI and demo mode. */
export class MemoryRollbackStore implements RollbackStore {
  private readonly records = new Map<string, RollbackRecord>();
  private rootVersion: number | undefined;

  get(productId: string): Promise<RollbackRecord | undefined> {
    return Promise.resolve(this.records.get(productId));
  }

  put(productId: string, record: RollbackRecord): Promise<void> {
    this.records.set(productId, Object.freeze({ ...record }));
    return Promise.resolve();
  }

  getRootVersion(): Promise<number | undefined> {
    return Promise.resolve(this.rootVersion);
  }

  putRootVersion(version: number): Promise<void> {
    this.rootVersion = version;
    return Promise.resolve();
  }
}

/** Raises the trust-root floor to `version` (never lowers it). */
export async function recordRootSeen(store: RollbackStore, version: number): Promise<void> {
  const old = await store.getRootVersion();
  if (old === undefined || version > old) await store.putRootVersion(version);
}

/**
 * Records a release after it was written and verified on a board. Counters and root versions
 * only ever rise: an override downgrade does not lower the recorded floor.
 */
export async function recordInstalled(
  store: RollbackStore,
  installed: { product: string; version: string; securityCounter: number; rootVersion: number },
): Promise<RollbackRecord> {
  const old = await store.get(installed.product);
  const raises = old === undefined || installed.securityCounter > old.securityCounter;
  const record: RollbackRecord = {
    securityCounter: raises ? installed.securityCounter : old.securityCounter,
    version: raises ? installed.version : old.version,
    rootVersion: Math.max(installed.rootVersion, old?.rootVersion ?? 0),
  };
  await store.put(installed.product, record);
  await recordRootSeen(store, installed.rootVersion);
  return record;
}
