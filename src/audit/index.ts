/**
 * The tamper-evident flash log (docs/flash-log.md): entries, canonical encoding, the hash chain,
 * export files and storage. Pure: no DOM, no Node.
 */
export { canonicalJson, isWellFormed, type CanonicalValue } from './canonical.ts';
export {
  appendEntry,
  ChainWalker,
  createGenesis,
  entryHash,
  verifyChain,
  type ChainBreakReason,
  type ChainVerdict,
  type GenesisOptions,
} from './chain.ts';
export {
  AUDIT_MODES,
  AUDIT_VERSION,
  entryProblem,
  flashRecordProblem,
  isIsoTime,
  MAX_NOTE,
  MAX_TEXT,
  ZERO_HASH,
  type AuditBundle,
  type AuditEntry,
  type AuditMode,
  type AuditResult,
  type FlashEntry,
  type FlashRecord,
  type GenesisEntry,
  type UnhashedEntry,
} from './entry.ts';
export {
  EXPORT_FORMAT_ID,
  EXPORT_VERSION,
  exportLog,
  exportRaw,
  readExport,
  type ExportFormat,
  type ExportHeader,
  type ExportReading,
} from './export.ts';
export {
  AuditConflictError,
  AuditLog,
  MemoryAuditStore,
  type AuditLogOptions,
  type AuditStore,
} from './store.ts';
