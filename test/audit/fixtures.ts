/** Deterministic flash logs for the flash-log tests: fixed log id, a clock that ticks 1 s per entry. */
import {
  AuditLog,
  MemoryAuditStore,
  type AuditEntry,
  type FlashRecord,
} from '../../src/audit/index.ts';

export const LOG_ID = '00112233445566778899aabbccddeeff';
const BUNDLE_SHA = 'ab'.repeat(32);

/** A valid record; `overrides` replace fields. */
export function record(overrides: Partial<FlashRecord> = {}): FlashRecord {
  return {
    note: 'ticket 4411',
    port: 'USB serial 303a:1001',
    deviceId: '7c:df:a1:00:11:22',
    chip: 'esp32s3',
    bundle: { product: 'webflash-demo', version: '1.0.0', sha256: BUNDLE_SHA },
    result: 'ok',
    errorCode: null,
    durationMs: 5123,
    mode: 'technician',
    ...overrides,
  };
}

/** A log with a genesis entry and `flashes` flash entries (every third one failed). */
export async function buildLog(flashes: number): Promise<AuditEntry[]> {
  let t = Date.UTC(2026, 2, 1, 9, 0, 0);
  const log = new AuditLog({
    store: new MemoryAuditStore(),
    logId: LOG_ID,
    now: () => new Date((t += 1000)),
  });
  for (let i = 0; i < flashes; i++) {
    await log.append(
      i % 3 === 2
        ? record({ result: 'failed', errorCode: 'protocol.no-sync', durationMs: 900 + i, note: '' })
        : record({ durationMs: 5000 + i, note: `board ${i}` }),
    );
  }
  return [...(await log.entries())];
}
