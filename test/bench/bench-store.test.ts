/**
 * The bench store end to end in Node: simulated ESP32-S3 boards (native USB and UART bridge)
 * plugged in at different moments are provisioned hands-off, in parallel; a board that restarts
 * and re-enumerates is followed, not flashed again; a board plugged in again is recognised by
 * its MAC; a faulty board is reported without disturbing the others; every flash lands in the
 * report and in the hash-chained flash log, whose export verifies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readExport } from '../../src/audit/export.ts';
import { tally } from '../../src/bench/state/report.ts';
import type { BenchState } from '../../src/bench/state/slice.ts';
import { createBench, type Bench } from './harness.ts';

const benches: Bench[] = [];
afterEach(() => {
  for (const b of benches.splice(0)) b.dispose();
});

async function bench(): Promise<Bench> {
  const b = await createBench();
  benches.push(b);
  expect(
    await b.store
      .getState()
      .loadBundle({ kind: 'bytes', name: 'blink.fwb', bytes: new Uint8Array() }),
  ).toBe(true);
  return b;
}

const settled = (s: BenchState) =>
  s.tiles.length > 0 && s.tiles.every((t) => t.state !== 'running');

describe('bench store with simulated boards', () => {
  it('provisions boards plugged in at different moments, follows re-enumeration, logs every flash', async () => {
    const b = await bench();
    const boards = [b.board('esp32s3', 11), b.board('esp32s3-uart', 12), b.board('esp32s3', 13)];
    expect(b.store.getState().startHandsOff()).toBe(true);
    boards[0]!.wire!.plug();
    await b.until('board 1 writing', (s) => s.tiles[0]?.phase === 'writing');
    boards[1]!.wire!.plug();
    await b.wait(300);
    boards[2]!.wire!.plug();
    await b.until(
      'three boards running at once',
      (s) => s.tiles.filter((t) => t.state === 'running').length === 3,
    );
    await b.until(
      'all done',
      (s) => s.tiles.length === 3 && s.tiles.every((t) => t.state === 'done'),
    );
    // Native-USB boards restart into the app and re-enumerate; give them time to come back.
    await b.wait(8000);
    const s = b.store.getState();
    expect(s.tiles).toHaveLength(3);
    expect(s.records).toHaveLength(3);
    expect(s.tiles.map((t) => t.followed)).toEqual([1, 0, 1]);
    expect(s.tiles.every((t) => t.connected)).toBe(true);
    const macs = s.tiles.map((t) => t.uniqueId);
    expect(new Set(macs).size).toBe(3);
    for (const t of s.tiles) {
      expect(t.chip).toBe('esp32s3');
      expect(t.uniqueId).toMatch(/^f4:12:fa(:[0-9a-f]{2}){3}$/);
      expect(t.durationMs).toBeGreaterThan(0);
    }
    expect(tally(s.tiles, s.records)).toMatchObject({ boards: 3, ok: 3, failed: 0, flashes: 3 });
    const info = s.bundle.info!;
    expect(s.records.map((r) => [r.result, r.product, r.version, r.bundleSha256])).toEqual(
      Array(3).fill(['ok', 'blink', '1.2.0', info.sha256]),
    );
    for (const board of boards) expect(board.flash.read(0x10000, 1)[0]).toBe(0xe9);

    await s.flushAudit();
    expect(b.store.getState().audit).toMatchObject({ written: 3, pending: 0, error: undefined });
    const file = await s.exportFlashLog();
    const reading = readExport(new TextEncoder().encode(file.text));
    expect(reading.verdict).toMatchObject({ ok: true, count: 4 });
    const flashes = reading.entries.filter((e) => e.kind === 'flash');
    expect(flashes.map((e) => e.kind === 'flash' && [e.mode, e.result, e.deviceId])).toEqual(
      s.records.map((r) => ['bench', 'ok', r.uniqueId]),
    );
  });

  it('reports a board unplugged mid-write; the others are not disturbed', async () => {
    const b = await bench();
    const good = [b.board('esp32s3', 21), b.board('esp32s3', 22)];
    const faulty = b.board('esp32s3', 23);
    faulty.wire!.unplugAfter(30_000);
    b.store.getState().setNote('batch 7');
    b.store.getState().startHandsOff();
    for (const w of [good[0]!, faulty, good[1]!]) w.wire!.plug();
    await b.until('all finished', (s) => s.tiles.length === 3 && settled(s));
    const s = b.store.getState();
    const bad = s.tiles[1]!;
    expect(bad.state).toBe('failed');
    expect(bad.error?.code).toBe('transport.device-lost');
    expect(bad.recovery).toMatch(/plug/i);
    expect(bad.connected).toBe(false);
    expect([s.tiles[0]!.state, s.tiles[2]!.state]).toEqual(['done', 'done']);
    expect(s.records.map((r) => [r.tileId, r.result, r.errorCode, r.note])).toEqual(
      expect.arrayContaining([
        ['board-2', 'failed', 'transport.device-lost', 'batch 7'],
        ['board-1', 'ok', null, 'batch 7'],
        ['board-3', 'ok', null, 'batch 7'],
      ]),
    );
    const csv = s.exportReport('csv').text;
    expect(csv).toContain(',failed,transport.device-lost,');

    // Plugged back in: the same board (same MAC) is flashed again on the same tile.
    faulty.wire!.plug();
    await b.until('retry done', (x) => x.records.length === 4 && settled(x));
    const after = b.store.getState();
    expect(after.tiles).toHaveLength(3);
    const again = after.tiles.find((t) => t.uniqueId === bad.uniqueId)!;
    expect(again).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('leaves alone a board that already has this release when it is plugged in again', async () => {
    const b = await bench();
    const uart = b.board('esp32s3-uart', 31);
    b.store.getState().startHandsOff();
    uart.wire!.plug();
    await b.until('done', (s) => s.tiles[0]?.state === 'done');
    const programmed = uart.flash.counters.programOps;
    uart.wire!.unplug();
    await b.wait(10_000);
    uart.wire!.plug();
    await b.until(
      'recognised',
      (s) => s.tiles[0]?.notice?.includes('Already has this release') === true,
    );
    await b.until('settled', settled);
    const s = b.store.getState();
    expect(s.tiles).toHaveLength(1);
    expect(s.tiles[0]).toMatchObject({ state: 'done', connected: true });
    expect(s.records).toHaveLength(1);
    expect(uart.flash.counters.programOps).toBe(programmed);
  });

  it('corrects a port followed by mistake: a new board plugged in while another re-enumerates', async () => {
    const b = await bench();
    const a = b.board('esp32s3', 41);
    const late = b.board('esp32s3', 42);
    b.store.getState().startHandsOff();
    // The moment A drops off the bus to restart into its new firmware, another board of the
    // same kind is plugged in: it looks exactly like A coming back.
    const off = a.wire!.onPortChange((c) => {
      if (c.type !== 'disconnect') return;
      off();
      late.wire!.plug();
    });
    a.wire!.plug();
    await b.until('both provisioned', (s) => s.records.length === 2 && settled(s), 60_000);
    await b.wait(8000);
    const s = b.store.getState();
    expect(s.records.map((r) => r.result)).toEqual(['ok', 'ok']);
    expect(new Set(s.records.map((r) => r.uniqueId)).size).toBe(2);
    expect(s.tiles.map((t) => t.state)).toEqual(['done', 'done']);
    expect(late.flash.read(0x10000, 1)[0]).toBe(0xe9);
  });

  it('records a cancelled board and waits for a press when hands-off is off', async () => {
    const b = await bench();
    const board = b.board('esp32s3-uart', 51);
    board.wire!.plug();
    await b.until('waiting tile', (s) => s.tiles[0]?.state === 'waiting');
    await b.wait(2000);
    expect(b.store.getState().tiles[0]!.state).toBe('waiting');
    expect(b.store.getState().provision('board-1')).toBe(true);
    expect(b.store.getState().provision('board-1')).toBe(false);
    await b.until('writing', (s) => s.tiles[0]?.phase === 'writing');
    b.store.getState().cancel('board-1');
    await b.until('cancelled', settled);
    const s = b.store.getState();
    expect(s.tiles[0]!.state).toBe('cancelled');
    expect(s.records[0]).toMatchObject({ result: 'cancelled', errorCode: 'aborted' });
    await s.flushAudit();
    const reading = readExport(new TextEncoder().encode((await s.exportFlashLog()).text));
    expect(reading.entries.at(-1)).toMatchObject({ result: 'failed', errorCode: 'aborted' });
  });

  it('refuses hands-off mode without a verified release', async () => {
    const b = await createBench();
    benches.push(b);
    expect(b.store.getState().startHandsOff()).toBe(false);
    expect(b.store.getState().handsOff).toBe(false);
  });
});
