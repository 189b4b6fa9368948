/**
 * Flash-log slice: the app's tamper-evident flash log (src/audit, docs/flash-log.md). The job
 * slice records every job result through `recordFlash`; the view shows the entry count and the
 * head hash, and exports the log as JSONL for `webflash log verify`. It also tells what the
 * connected board last received (src/audit/board-product.ts), for the product binding.
 */
import { lastRelease, type BoardRelease } from '../../../audit/board-product.ts';
import type { FlashRecord } from '../../../audit/entry.ts';
import { toErrorView } from '../../../app/error-view.ts';
import type { AppServices, ErrorView } from '../../../app/types.ts';
import type { AppSlice } from './slice.ts';
import { storeLogger } from './store-log.ts';

export interface FlashLogState {
  /** False when the app has no flash log (then nothing is recorded). */
  available: boolean;
  /** Entries in the log, the genesis entry included; undefined until read. */
  count: number | undefined;
  /** Hash of the newest entry (the value an auditor compares). */
  head: string | undefined;
  /** Why the last read, append or export failed. */
  error: ErrorView | undefined;
  /** What the connected board last received, by the log (`lookUpBoard`); undefined if unknown. */
  board: BoardRelease | undefined;
}

export interface FlashLogSlice {
  flashLog: FlashLogState;
  /** Reads the count and head hash again. Never rejects. */
  refreshFlashLog: () => Promise<void>;
  /** Appends one flash (called by the job slice). Resolves false when it could not. */
  recordFlash: (record: FlashRecord) => Promise<boolean>;
  /** The log as a JSONL export file, or undefined (and `error` set) when it cannot be made. */
  exportFlashLog: () => Promise<string | undefined>;
  /** Finds what the board with this unique id last received (`flashLog.board`). */
  lookUpBoard: (deviceId: string | undefined) => Promise<BoardRelease | undefined>;
}

export function createFlashLogSlice(services: AppServices): AppSlice<FlashLogSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'flash-log');
    const audit = services.auditLog;
    const fail = (err: unknown, what: string): void => {
      const error = toErrorView(err, 'usage.invalid-argument');
      log.error(`Flash log: ${what}: ${error.message}`);
      set((s) => ({ flashLog: { ...s.flashLog, error } }));
    };
    const lookUpBoard = async (deviceId: string | undefined): Promise<BoardRelease | undefined> => {
      const board = audit && deviceId ? lastRelease(await audit.entries(), deviceId) : undefined;
      set((s) => ({ flashLog: { ...s.flashLog, board } }));
      return board;
    };
    const refresh = async (): Promise<void> => {
      if (!audit) return;
      const entries = await audit.entries();
      const last = entries[entries.length - 1];
      set((s) => ({
        flashLog: { ...s.flashLog, count: entries.length, head: last?.hash, error: undefined },
      }));
    };
    return {
      flashLog: {
        available: audit !== undefined,
        count: undefined,
        head: undefined,
        error: undefined,
        board: undefined,
      },
      lookUpBoard,
      refreshFlashLog: async () => {
        try {
          await refresh();
        } catch (err) {
          fail(err, 'could not be read');
        }
      },
      recordFlash: async (record) => {
        if (!audit) return false;
        try {
          const entry = await audit.append(record);
          log.info(
            `Recorded in the flash log as entry ${entry.seq} (${entry.hash.slice(0, 12)}…).`,
          );
          await refresh();
          if (record.deviceId) await lookUpBoard(record.deviceId);
          return true;
        } catch (err) {
          fail(err, 'the flash could not be recorded');
          return false;
        }
      },
      exportFlashLog: async () => {
        if (!audit) return undefined;
        try {
          const text = await audit.export('jsonl');
          await refresh();
          return text;
        } catch (err) {
          fail(err, 'could not be exported');
          return undefined;
        }
      },
    };
  };
}
