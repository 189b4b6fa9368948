/**
 * Where the updater remembers, per product, the highest security counter and trust-root version
 * it has installed. The browser keeps it in IndexedDB (src/worker/rollback-idb.ts); Node tests
 * and the CLI use `MemoryRollbackStore`.
 */

/** What was installed last for one product. */
export interface RollbackRecord {
  readonly securityCounter: number;
  /** Release version that set the counter, for messages. */
  readonly version: string;
  /** Version of the trust root that release was verified with. */
  readonly rootVersion: number;
}

/** Persistent anti-rollback state, one record per product id. */
export interface RollbackStore {
  get(productId: string): Promise<RollbackRecord | undefined>;
  put(productId: string, record: RollbackRecord): Promise<void>;
}

/** A RollbackStore in memory: for tests, the CLI and demo mode. */
export class MemoryRollbackStore implements RollbackStore {
  private readonly records = new Map<string, RollbackRecord>();

  get(productId: string): Promise<RollbackRecord | undefined> {
    return Promise.resolve(this.records.get(productId));
  }

  put(productId: string, record: RollbackRecord): Promise<void> {
    this.records.set(productId, Object.freeze({ ...record }));
    return Promise.resolve();
  }
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
  return record;
}
