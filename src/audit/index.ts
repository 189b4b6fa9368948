/**
 * The tamper-evident flash log (docs/flash-log.md): entries, canonical encoding, the hash chain,
 * export files and storage. Pure: no DOM, no Node.
 */
export { appendEntry, createGenesis, entryHash, verifyChain, type ChainVerdict } from './chain.ts';
export { ZERO_HASH, type AuditEntry, type FlashRecord } from './entry.ts';
export {
  exportLog,
  exportRaw,
  readExport,
  type ExportFormat,
  type ExportReading,
} from './export.ts';
export { AuditConflictError, AuditLog, MemoryAuditStore } from './store.ts';
