/**
 * The hash chain (docs/flash-log.md, "Hash chain"): every entry carries the SHA-256 of the
 * entry before it (`prev`) and its own SHA-256 (`hash`) over the canonical encoding of all its
 * other fields, so changing, removing or reordering an entry breaks the chain at that entry.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../core/bytes.ts';
import { UsageError, errorMessage } from '../core/errors.ts';
import { canonicalJson, type CanonicalValue } from './canonical.ts';
import {
  AUDIT_VERSION,
  entryProblem,
  flashRecordProblem,
  ZERO_HASH,
  type AuditEntry,
  type FlashEntry,
  type FlashRecord,
  type GenesisEntry,
  type UnhashedEntry,
} from './entry.ts';

const utf8 = new TextEncoder();

/** Why a chain is broken; stable codes for the UI and `webflash log verify --json`. */
export type ChainBreakReason =
  /** Not an entry: bad JSON, a missing or unexpected field, a value out of range. */
  | 'malformed'
  /** The entry's fields do not hash to its `hash`: it was changed. */
  | 'hash-mismatch'
  /** The first entry is not a genesis entry, or a genesis entry appears later. */
  | 'genesis'
  /** The entry's `seq` is not its position: an entry before it is missing, or they were reordered. */
  | 'seq-mismatch'
  /** The entry's `prev` is not the hash of the entry before it. */
  | 'prev-mismatch'
  /** Fewer entries than the export header promises, or the file was cut. */
  | 'truncated'
  /** The export header does not match the entries (count or head hash). */
  | 'header'
  /** A hash the caller expected to find (`expectHash`) is not in the log. */
  | 'missing-anchor'
  /** There are no entries at all. */
  | 'empty';

/** The verdict on a chain. `index` is the 0-based position of the first broken entry. */
export type ChainVerdict =
  | { ok: true; count: number; head: string }
  | { ok: false; index: number; reason: ChainBreakReason; message: string };

/**
 * SHA-256 (hex) of the canonical encoding of `entry` without its `hash` field.
 * @throws {UsageError} if a field cannot be canonically encoded.
 * @example entryHash(genesis) === genesis.hash
 */
export function entryHash(entry: UnhashedEntry | AuditEntry): string {
  const fields: Record<string, unknown> = { ...entry };
  delete fields['hash'];
  return toHex(sha256(utf8.encode(canonicalJson(fields as CanonicalValue))));
}

/** Options for the first entry of a new log. */
export interface GenesisOptions {
  /** When the log was started. */
  time: Date;
  /** 32 hex digits naming the log; random when omitted. */
  logId?: string;
}

/**
 * The genesis entry of a new log.
 * @throws {UsageError} if `logId` is not 32 lower-case hex digits or `time` is invalid.
 * @example const g = createGenesis({ time: new Date() });
 */
export function createGenesis(options: GenesisOptions): GenesisEntry {
  const unhashed: Omit<GenesisEntry, 'hash'> = {
    v: AUDIT_VERSION,
    seq: 0,
    kind: 'genesis',
    time: isoTime(options.time),
    prev: ZERO_HASH,
    logId: options.logId ?? toHex(randomBytes(16)),
  };
  const problem = entryProblem(unhashed, { hashed: false });
  if (problem) throw new UsageError(`createGenesis: ${problem}`);
  return { ...unhashed, hash: entryHash(unhashed) };
}

/**
 * The entry that records `record` after `previous` (the log's last entry).
 * @throws {UsageError} if `record` is not a valid FlashRecord (the message names the field).
 * @example const e = appendEntry(genesis, record, new Date());
 */
export function appendEntry(previous: AuditEntry, record: FlashRecord, time: Date): FlashEntry {
  const problem = flashRecordProblem(record);
  if (problem) throw new UsageError(`flash log: ${problem}`);
  const { note, port, deviceId, chip, result, errorCode, durationMs, mode } = record;
  const { product, version, sha256: bundleSha } = record.bundle;
  const unhashed: Omit<FlashEntry, 'hash'> = {
    v: AUDIT_VERSION,
    seq: previous.seq + 1,
    kind: 'flash',
    time: isoTime(time),
    prev: previous.hash,
    note,
    port,
    deviceId,
    chip,
    bundle: { product, version, sha256: bundleSha },
    result,
    errorCode,
    durationMs,
    mode,
  };
  // Only when present: entries without it hash as before.
  if (record.delta)
    unhashed.delta = { unchanged: record.delta.unchanged, total: record.delta.total };
  return { ...unhashed, hash: entryHash(unhashed) };
}

function isoTime(time: Date): string {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new UsageError('flash log: time must be a valid Date');
  }
  return time.toISOString();
}

/**
 * Checks entries one at a time, in order, and remembers the first break. Used by
 * `verifyChain` (entries in memory) and the export reader (entries from lines of a file).
 */
export class ChainWalker {
  private count = 0;
  private last: AuditEntry | undefined;
  private broken: Extract<ChainVerdict, { ok: false }> | undefined;
  private readonly hashes = new Set<string>();

  /** The first break found so far. */
  get failure(): Extract<ChainVerdict, { ok: false }> | undefined {
    return this.broken;
  }

  /** Entries accepted so far. */
  get accepted(): number {
    return this.count;
  }

  /** The last accepted entry. */
  get head(): AuditEntry | undefined {
    return this.last;
  }

  /** True when an accepted entry has this hash. */
  has(hash: string): boolean {
    return this.hashes.has(hash);
  }

  /** Records a break at `index` unless an earlier one was found; returns false. */
  fail(index: number, reason: ChainBreakReason, message: string): false {
    this.broken ??= { ok: false, index, reason, message };
    return false;
  }

  /** Checks the next entry; returns false (and records why) when the chain breaks here. */
  push(value: unknown): value is AuditEntry {
    if (this.broken) return false;
    const index = this.count;
    const problem = entryProblem(value);
    if (problem) return this.fail(index, 'malformed', problem);
    const entry = value as AuditEntry;
    let hash: string;
    try {
      hash = entryHash(entry);
    } catch (err) {
      return this.fail(index, 'malformed', errorMessage(err));
    }
    if (hash !== entry.hash) {
      return this.fail(
        index,
        'hash-mismatch',
        'its contents do not match its hash: it was changed',
      );
    }
    if (index === 0 && entry.kind !== 'genesis') {
      return this.fail(0, 'genesis', 'the log does not start with its genesis entry');
    }
    if (index > 0 && entry.kind === 'genesis') {
      return this.fail(index, 'genesis', 'a second genesis entry: another log was joined on');
    }
    if (entry.seq !== index) {
      return this.fail(
        index,
        'seq-mismatch',
        `it is entry ${entry.seq} of the log: ${entry.seq > index ? 'entries before it are missing' : 'entries are out of order'}`,
      );
    }
    const prev = this.last?.hash ?? '0'.repeat(64);
    if (entry.prev !== prev) {
      return this.fail(
        index,
        'prev-mismatch',
        index === 0
          ? 'the genesis entry must have 64 zeros as its previous hash'
          : `it does not follow entry ${index - 1}: that entry was replaced`,
      );
    }
    this.last = entry;
    this.hashes.add(entry.hash);
    this.count++;
    return true;
  }

  /** The verdict after the last entry (checks `expectHash` when given). */
  finish(options: { expectHash?: string | undefined } = {}): ChainVerdict {
    if (!this.broken && !this.last) this.fail(0, 'empty', 'the log has no entries');
    const want = options.expectHash?.toLowerCase();
    if (!this.broken && want !== undefined && !this.hashes.has(want)) {
      this.fail(
        this.count,
        'missing-anchor',
        `no entry has hash ${want}: the log was cut short or is not the log that hash came from`,
      );
    }
    if (this.broken || !this.last) return this.broken!;
    return { ok: true, count: this.count, head: this.last.hash };
  }
}

/**
 * Verifies a whole chain held in memory (as read from an `AuditStore`).
 * @example verifyChain(await store.all()) // { ok: true, count: 3, head: '9f…' }
 */
export function verifyChain(
  entries: readonly unknown[],
  options: { expectHash?: string } = {},
): ChainVerdict {
  const walker = new ChainWalker();
  for (const e of entries) if (!walker.push(e)) break;
  return walker.finish(options);
}
