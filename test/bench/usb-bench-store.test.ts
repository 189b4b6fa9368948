/**
 * The bench store with USB DFU boards, end to end in Node on the virtual clock: simulated
 * STM32F405 DfuSe bootloaders and DFU 1.1 gadgets behind the fake `navigator.usb`, side by side
 * with a simulated ESP32-S3 behind the fake `navigator.serial`, provisioned hands-off with one
 * release whose targets say which protocol each board speaks. Boards that re-enumerate during
 * the update (DFU_DETACH, manifestation) are followed, never counted twice; a board plugged in
 * again is recognised by its USB serial number; every flash is in the report and the flash log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readExport } from '../../src/audit/export.ts';
import { tally } from '../../src/bench/state/report.ts';
import {
  createMixedBench,
  GADGET_IMAGE,
  MIXED_TARGETS,
  settled,
  type MixedBench,
} from './mixed-harness.ts';

const benches: MixedBench[] = [];
afterEach(() => {
  for (const b of benches.splice(0)) b.dispose();
});

async function bench(options: Parameters<typeof createMixedBench>[0] = {}): Promise<MixedBench> {
  const b = await createMixedBench(options);
  benches.push(b);
  return b;
}

describe('bench store with USB DFU boards', () => {
  it('provisions two DfuSe boards and a serial board plugged at different times, unattended', async () => {
    const b = await bench();
    b.store.getState().setNote('line 2');
    expect(b.store.getState().startHandsOff()).toBe(true);
    const first = b.lab.add({ type: 'stm32f405-dfu' });
    await b.until('first STM32 writing', (s) => s.tiles[0]?.phase === 'writing');
    const esp = b.lab.add({ type: 'esp32s3-uart' });
    await b.until('ESP identified', (s) => s.tiles[1]?.chip === 'esp32s3');
    const second = b.lab.add({ type: 'stm32f405-dfu' });
    await b.until(
      'three boards, all finished',
      (s) => s.tiles.length === 3 && s.tiles.every((t) => t.state === 'done'),
    );
    await b.wait(6000);

    const s = b.store.getState();
    expect(s.tiles).toHaveLength(3);
    expect(s.tiles.map((t) => [t.transport, t.protocol, t.chip])).toEqual([
      ['usb', 'dfuse', 'stm32f4'],
      ['serial', 'esp-serial', 'esp32s3'],
      ['usb', 'dfuse', 'stm32f4'],
    ]);
    const [stmA, espTile, stmB] = s.tiles;
    // DfuSe boards are known by the serial number string their bootloader reports.
    expect(stmA!.uniqueId).toMatch(/^336F3867[0-9A-F]{4}$/);
    expect(stmB!.uniqueId).toMatch(/^336F3867[0-9A-F]{4}$/);
    expect(stmA!.uniqueId).not.toBe(stmB!.uniqueId);
    expect(stmA!.uniqueId).toBe(stmA!.usbSerialNumber);
    expect(espTile!.uniqueId).toMatch(/^f4:12:fa(:[0-9a-f]{2}){3}$/);
    expect(stmA!.portLabel).toBe('Virtual STM32F405 in DFU mode (DfuSe) #1');
    expect(stmA!.chipName).toMatch(/STM32F40/);
    for (const t of s.tiles) expect(t.durationMs).toBeGreaterThan(0);
    // "Leave DFU" starts the application: the chip leaves the bus and is not flashed again.
    expect([stmA!.connected, stmB!.connected]).toEqual([false, false]);
    expect(tally(s.tiles, s.records)).toMatchObject({ boards: 3, ok: 3, failed: 0, flashes: 3 });

    for (const id of [first, second]) {
      expect(b.lab.flashCounters(id)!.programOps).toBeGreaterThan(0);
    }
    expect(b.lab.flashCounters(esp)!.programOps).toBeGreaterThan(0);

    const info = s.bundle.info!;
    expect(
      s.records.map((r) => [r.port, r.uniqueId, r.chip, r.result, r.bundleSha256, r.note]),
    ).toEqual(
      expect.arrayContaining([
        [stmA!.portLabel, stmA!.uniqueId, 'stm32f4', 'ok', info.sha256, 'line 2'],
        [stmB!.portLabel, stmB!.uniqueId, 'stm32f4', 'ok', info.sha256, 'line 2'],
        [espTile!.portLabel, espTile!.uniqueId, 'esp32s3', 'ok', info.sha256, 'line 2'],
      ]),
    );
    const csv = s.exportReport('csv').text.split('\r\n');
    expect(csv.filter((l) => l.includes(',stm32f4,mixed,2.0.0,'))).toHaveLength(2);
    const json = JSON.parse(s.exportReport('json').text) as { summary: { boardsOk: number } };
    expect(json.summary.boardsOk).toBe(3);

    await s.flushAudit();
    const log = readExport(new TextEncoder().encode((await s.exportFlashLog()).text));
    expect(log.verdict).toMatchObject({ ok: true, count: 4 });
    const flashes = log.entries.filter((e) => e.kind === 'flash');
    expect(
      flashes.map((e) => e.kind === 'flash' && [e.mode, e.result, e.deviceId, e.chip]),
    ).toEqual(s.records.map((r) => ['bench', 'ok', r.uniqueId, r.chip]));
  });

  it('follows a DFU 1.1 gadget through DFU_DETACH and manifestation: one tile, one flash', async () => {
    const b = await bench();
    b.store.getState().startHandsOff();
    const id = b.lab.add({ type: 'generic-dfu' });
    await b.until('re-enumerated in DFU mode', (s) => s.tiles[0]?.usbProductId === 0x0002);
    expect(b.store.getState().tiles[0]).toMatchObject({ state: 'running', followed: 1 });
    await b.until('done', (s) => s.tiles[0]?.state === 'done');
    await b.until('back in its application', (s) => s.tiles[0]?.usbProductId === 0x0001);
    await b.wait(6000);

    const s = b.store.getState();
    expect(s.tiles).toHaveLength(1);
    expect(s.tiles[0]).toMatchObject({
      state: 'done',
      connected: true,
      followed: 2,
      protocol: 'dfu',
      chip: 'example-gadget',
      uniqueId: 'GADGET0001',
    });
    expect(s.records).toHaveLength(1);
    expect(s.records[0]).toMatchObject({ result: 'ok', uniqueId: 'GADGET0001' });
    expect(b.lab.flashCounters(id)!.programOps).toBeGreaterThan(0);
  });

  it('follows a DFU gadget without a serial number by its vendor id', async () => {
    const b = await bench();
    b.store.getState().startHandsOff();
    // The lab's gadget with an empty serial number string: WebUSB reports none.
    const { GenericDfuBoard } = await import('../../src/sim/dfu/generic-dfu-sim.ts');
    const gadget = new GenericDfuBoard({ clock: b.clock, bus: b.bus, serialNumber: '' });
    b.bus.detach(gadget.current);
    b.fake.allow(0x1209, 0x0001);
    b.fake.allow(0x1209, 0x0002);
    b.bus.attach(gadget.current);
    await b.until('done', (s) => s.tiles[0]?.state === 'done');
    await b.wait(6000);
    const s = b.store.getState();
    expect(s.tiles).toHaveLength(1);
    expect(s.tiles[0]).toMatchObject({
      state: 'done',
      connected: true,
      followed: 2,
      uniqueId: undefined,
    });
    expect(s.records).toHaveLength(1);
    expect(gadget.image()).toEqual(GADGET_IMAGE);
  });

  it('leaves alone a DfuSe board plugged in again with the release it already has', async () => {
    const b = await bench();
    b.store.getState().startHandsOff();
    const id = b.lab.add({ type: 'stm32f405-dfu' });
    await b.until('done', (s) => s.tiles[0]?.state === 'done');
    const programmed = b.lab.flashCounters(id)!.programOps;
    await b.wait(30_000);
    b.lab.plug(id); // BOOT0 still held: back in the system bootloader
    await b.until(
      'recognised',
      (s) => s.tiles[0]?.notice?.includes('Already has this release') === true,
    );
    await b.until('settled', settled);
    const s = b.store.getState();
    expect(s.tiles).toHaveLength(1);
    expect(s.tiles[0]).toMatchObject({ state: 'done' });
    expect(s.records).toHaveLength(1);
    expect(b.lab.flashCounters(id)!.programOps).toBe(programmed);
  });

  it('flashes again a DfuSe board that failed, on the same tile, once it is back', async () => {
    const b = await bench();
    b.store.getState().startHandsOff();
    const id = b.lab.add({ type: 'stm32f405-dfu' });
    await b.until('writing', (s) => s.tiles[0]?.phase === 'writing');
    b.lab.unplug(id);
    await b.until('failed', (s) => s.tiles[0]?.state === 'failed');
    const failed = b.store.getState();
    expect(failed.tiles[0]!.error?.code).toMatch(/^transport\./);
    expect(failed.records[0]).toMatchObject({
      result: 'failed',
      uniqueId: failed.tiles[0]!.usbSerialNumber,
    });
    b.lab.plug(id);
    await b.until('done', (s) => s.records.length === 2 && settled(s));
    const s = b.store.getState();
    expect(s.tiles).toHaveLength(1);
    expect(s.tiles[0]).toMatchObject({ state: 'done', attempts: 2 });
    expect(s.records.map((r) => r.result)).toEqual(['failed', 'ok']);
  });

  it('reports a USB board the release has no target for, with nothing written', async () => {
    const b = await bench({ targets: MIXED_TARGETS.filter((t) => t.protocol === 'esp-serial') });
    b.store.getState().startHandsOff();
    const id = b.lab.add({ type: 'stm32f405-dfu' });
    await b.until('failed', (s) => s.tiles[0]?.state === 'failed');
    const s = b.store.getState();
    expect(s.tiles[0]!.error?.code).toBe('usage.invalid-argument');
    expect(s.tiles[0]!.error?.message).toMatch(/no image for a USB DFU device/);
    expect(s.records[0]).toMatchObject({ result: 'failed', errorCode: 'usage.invalid-argument' });
    expect(b.lab.flashCounters(id)!.programOps).toBe(0);
    expect(b.lab.flashCounters(id)!.sectorErases.every((n) => n === 0)).toBe(true);
  });
});
