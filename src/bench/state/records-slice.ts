/**
 * Bench records slice: every finished flash (the report), the operator note written into each
 * record, and the tamper-evident flash log (src/audit) each flash is appended to, in order.
 */
import { toFlashRecord } from '../../audit/bench-report.ts';
import { MAX_NOTE } from '../../audit/entry.ts';
import { toErrorView } from '../../app/error-view.ts';
import type { ErrorView } from '../../app/types.ts';
import { exportFileName, reportCsv, reportJson } from './report.ts';
import type { BenchSlice } from './slice.ts';
import type { BenchRecord, BenchServices } from './types.ts';

/** A file ready to be saved. */
export interface ExportFile {
  name: string;
  mime: string;
  text: string;
}

export interface AuditStatus {
  /** Flashes written to the log in this session. */
  written: number;
  /** Appends not finished yet. */
  pending: number;
  /** `hash` of the last entry written. */
  head: string | undefined;
  /** Why the last append failed. */
  error: ErrorView | undefined;
}

export interface RecordsSlice {
  records: readonly BenchRecord[];
  /** Operator note added to every following record ("batch 42, line 3"). */
  note: string;
  audit: AuditStatus;
  setNote: (note: string) => void;
  /**
   * Adds a finished flash to the report and appends it to the flash log (appends run one at a
   * time, in order). Used by the boards slice.
   */
  addRecord: (record: BenchRecord) => void;
  /** Resolves once every append so far has finished. */
  flushAudit: () => Promise<void>;
  /** The report as a CSV or JSON file. */
  exportReport: (format: 'csv' | 'json') => ExportFile;
  /**
   * The whole flash log as JSON Lines (src/audit/export.ts), which `webflash log verify` checks.
   * @throws {UsageError} when the stored log is damaged.
   */
  exportFlashLog: () => Promise<ExportFile>;
}

export const idleAudit: AuditStatus = {
  written: 0,
  pending: 0,
  head: undefined,
  error: undefined,
};

export { toFlashRecord } from '../../audit/bench-report.ts';

export function createRecordsSlice(services: BenchServices): BenchSlice<RecordsSlice> {
  return (set, get) => {
    let queue: Promise<void> = Promise.resolve();
    return {
      records: [],
      note: '',
      audit: idleAudit,
      setNote: (note) => set({ note: note.slice(0, MAX_NOTE) }),
      addRecord: (record) => {
        set((s) => ({
          records: [...s.records, record],
          audit: { ...s.audit, pending: s.audit.pending + 1 },
        }));
        queue = queue.then(async () => {
          try {
            const entry = await services.audit.append(toFlashRecord(record));
            set((s) => ({
              audit: {
                ...s.audit,
                written: s.audit.written + 1,
                pending: s.audit.pending - 1,
                head: entry.hash,
              },
            }));
          } catch (err) {
            set((s) => ({
              audit: { ...s.audit, pending: s.audit.pending - 1, error: toErrorView(err) },
            }));
          }
        });
      },
      flushAudit: () => queue,
      exportReport: (format) => {
        const now = services.now();
        const { records, bundle } = get();
        return format === 'csv'
          ? {
              name: exportFileName('report', 'csv', now),
              mime: 'text/csv',
              text: reportCsv(records),
            }
          : {
              name: exportFileName('report', 'json', now),
              mime: 'application/json',
              text: reportJson(records, { exportedAt: now, bundle: bundle.info }),
            };
      },
      exportFlashLog: async () => {
        await queue;
        return {
          name: exportFileName('log', 'jsonl', services.now()),
          mime: 'application/x-ndjson',
          text: await services.audit.export('jsonl'),
        };
      },
    };
  };
}
