/**
 * Where the flash log lives, and the log itself. The browser keeps entries in IndexedDB
 * (src/platform/browser/audit-idb.ts); tests, the CLI and demo mode use `MemoryAuditStore`. `AuditLog`
 * adds entries one at a time, so concurrent `append` calls never fork the chain.
 */
import { WebflashError } from '../core/errors.ts';
import { appendEntry, createGenesis, verifyChain, type ChainVerdict } from './chain.ts';
import type { AuditEntry, FlashEntry, FlashRecord } from './entry.ts';
import { exportLog, type ExportFormat } from './export.ts';

/** Thrown by `AuditStore.add` when an entry with that `seq` already exists. */
export class AuditConflictError extends WebflashError {
  constructor(seq: number, options: { cause?: unknown } = {}) {
    super('audit.conflict', `Flash-log entry ${seq} was written by another window first.`, {
      ...options,
      hints: ['Try again: the entry is re-chained onto the newest one.'],
    });
  }
}

/** Persistent storage of log entries, keyed by `seq`. Entries are never changed or removed. */
export interface AuditStore {
  /** Every entry, in `seq` order, as stored (verify them with `verifyChain`). */
  all(): Promise<readonly AuditEntry[]>;
  /** The entry with the highest `seq`, or undefined for an empty log. */
  last(): Promise<AuditEntry | undefined>;
  /**
   * Stores a new entry.
   * @throws {AuditConflictError} when an entry with the same `seq` is already stored.
   */
  add(entry: AuditEntry): Promise<void>;
}

/** An AuditStore in memory: for tests, the CLI and demo mode. */
export class MemoryAuditStore implements AuditStore {
  private readonly entries: AuditEntry[] = [];

  all(): Promise<readonly AuditEntry[]> {
    return Promise.resolve(this.entries.map((e) => structuredCopy(e)));
  }

  last(): Promise<AuditEntry | undefined> {
    const e = this.entries.at(-1);
    return Promise.resolve(e && structuredCopy(e));
  }

  add(entry: AuditEntry): Promise<void> {
    if (entry.seq !== this.entries.length) return Promise.reject(new AuditConflictError(entry.seq));
    this.entries.push(structuredCopy(entry));
    return Promise.resolve();
  }
}

function structuredCopy(e: AuditEntry): AuditEntry {
  return e.kind === 'flash' ? { ...e, bundle: { ...e.bundle } } : { ...e };
}

/** Options for `AuditLog`. */
export interface AuditLogOptions {
  store: AuditStore;
  /** Wall-clock time for entry timestamps; default `new Date()`. */
  now?: () => Date;
  /** Id for a new log's genesis entry (32 hex digits); random by default. */
  logId?: string;
  /** Attempts when another window appends at the same moment. Default 5. */
  maxAttempts?: number;
}

/**
 * The flash log: appends entries to the chain in its store and reads it back.
 * @example
 * const log = new AuditLog({ store: new MemoryAuditStore() });
 * await log.append({ note: '', port: 'COM3', deviceId: '', chip: 'esp32s3',
 *   bundle: { product: 'p', version: '1.0.0', sha256: '…' }, result: 'ok', errorCode: null,
 *   durationMs: 5123, mode: 'technician' });
 */
export class AuditLog {
  private readonly store: AuditStore;
  private readonly now: () => Date;
  private readonly logId: string | undefined;
  private readonly maxAttempts: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: AuditLogOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.logId = options.logId;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /**
   * Records one flash (starting the log with its genesis entry when it is empty).
   * @throws {UsageError} if `record` is invalid (the message names the field).
   * @throws {AuditConflictError} if other windows kept appending through every attempt.
   */
  append(record: FlashRecord): Promise<FlashEntry> {
    const run = this.queue.then(() => this.appendNow(record));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every stored entry, genesis first. */
  entries(): Promise<readonly AuditEntry[]> {
    return this.store.all();
  }

  /** Verifies the stored chain. */
  async verify(): Promise<ChainVerdict> {
    return verifyChain(await this.store.all());
  }

  /**
   * The log as an export file (docs/flash-log.md, "Export formats").
   * @throws {UsageError} when the stored chain is damaged or empty.
   */
  async export(format: ExportFormat = 'jsonl'): Promise<string> {
    await this.ensureGenesis();
    return exportLog(await this.store.all(), format);
  }

  private async ensureGenesis(): Promise<AuditEntry> {
    const last = await this.store.last();
    if (last) return last;
    const genesis = createGenesis({
      time: this.now(),
      ...(this.logId === undefined ? {} : { logId: this.logId }),
    });
    try {
      await this.store.add(genesis);
      return genesis;
    } catch (err) {
      if (!(err instanceof AuditConflictError)) throw err;
      const other = await this.store.last();
      if (!other) throw err;
      return other;
    }
  }

  private async appendNow(record: FlashRecord): Promise<FlashEntry> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.ensureGenesis();
      const entry = appendEntry(previous, record, this.now());
      try {
        await this.store.add(entry);
        return entry;
      } catch (err) {
        if (!(err instanceof AuditConflictError) || attempt >= this.maxAttempts) throw err;
      }
    }
  }
}
