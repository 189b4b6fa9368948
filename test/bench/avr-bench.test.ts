/**
 * The bench provisioning Arduino boards in Node on a VirtualClock: an Uno, a Mega 2560 and a
 * Leonardo from demo mode's bench lab behind the fake `navigator.serial`, flashed hands-off with
 * the registry's AVR drivers from a release of real HEX sketches (scripts/avr-demo-release.ts).
 * The Leonardo re-enumerates twice — as Caterina after the 1200-baud touch, and as its sketch
 * after the update — and is followed both times: one tile per board, nothing flashed twice.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { avrDemoRelease } from '../../scripts/avr-demo-release.ts';
import { AuditLog, MemoryAuditStore } from '../../src/audit/store.ts';
import { createBundle } from '../../src/bundle/create.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { createBenchLab, type BenchLab } from '../../src/demo/bench-lab.ts';
import {
  changesUsbIdentity,
  driverFor,
  loadDrivers,
  sameBoardIds,
} from '../../src/protocols/registry.ts';
import type { AvrSimBoardHandle } from '../../src/sim/avr/boards.ts';
import { installFakeWebSerial } from '../../src/sim/web/fake-web-serial.ts';
import {
  createBenchStore,
  resetBenchStore,
  type BenchStore,
} from '../../src/bench/state/bench-store.ts';
import type { BenchServices } from '../../src/bench/state/types.ts';
import { webSerialPorts } from '../../src/bench/browser/web-serial-ports.ts';
import { WebSerialPortWatcher } from '../../src/transport/webserial.ts';
import { CREATED, EXPIRES, key, NOW, pinnedTestRoot } from '../bundle/fixtures.ts';
import { waitForState } from './harness.ts';

await loadDrivers();

const avr = avrDemoRelease(join(import.meta.dirname, '..', 'fixtures', 'firmware'));

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

async function avrBench(): Promise<{
  clock: VirtualClock;
  lab: BenchLab;
  store: BenchStore;
  until: ReturnType<typeof waitForState>;
}> {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const { serial, uninstall } = installFakeWebSerial({ navigator: {} });
  const lab = createBenchLab({ serial, clock, seed: 401 });
  const bytes = createBundle({
    manifest: {
      product: 'avr-bench',
      version: '1.0.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      notes: '',
      targets: avr.targets,
    },
    images: avr.images,
    signers: [key(1), key(2)],
  });
  const verified = await verifyBundle(bytes, { trustRoot: pinnedTestRoot(), now: NOW });
  const portWatcher = new WebSerialPortWatcher({ clock, serial });
  const now = () => new Date(Date.UTC(2026, 5, 1) + clock.now());
  const services: BenchServices = {
    clock,
    now,
    connector: driverFor('esp-serial', {}),
    serialConnectors: (protocol, context) =>
      driverFor(protocol, { portWatcher, bootloaderBaud: context.bootloaderBaud }),
    verifyBundle: () => Promise.resolve(verified),
    ports: webSerialPorts({ serial, clock, labelFor: (p) => lab.labelFor(p) }),
    audit: new AuditLog({ store: new MemoryAuditStore(), now, logId: 'a'.repeat(32) }),
  };
  const store = createBenchStore(services);
  await store.getState().attachPorts();
  await store.getState().loadBundle({ kind: 'bytes', name: 'avr.fwb', bytes: new Uint8Array() });
  cleanup = () => {
    resetBenchStore(store);
    lab.dispose();
    uninstall();
  };
  return { clock, lab, store, until: waitForState(store, clock) };
}

describe('bench: Arduino boards', () => {
  it('only AVR109 boards show their bootloader under another USB identity, which is the same board', () => {
    expect(changesUsbIdentity('avr109')).toBe(true);
    expect(changesUsbIdentity('avr-stk500v1')).toBe(false);
    expect(changesUsbIdentity('esp-serial')).toBe(false);
    const ids = (pid: number, vid = 0x2341) => ({ usbVendorId: vid, usbProductId: pid });
    expect(sameBoardIds(ids(0x8036), ids(0x0036))).toBe(true); // Leonardo sketch, Caterina
    expect(sameBoardIds(ids(0x0043), ids(0x0043))).toBe(true);
    expect(sameBoardIds(ids(0x8036), ids(0x0037))).toBe(false); // a Micro's Caterina
    expect(sameBoardIds(ids(0x0043), ids(0x0042))).toBe(false); // Uno, Mega
    expect(sameBoardIds(ids(0x1001, 0x303a), ids(0x1001, 0x2341))).toBe(false);
  });

  it('provisions an Uno, a Mega and a Leonardo hands-off; the Leonardo is followed, not flashed twice', async () => {
    const { clock, lab, store, until } = await avrBench();
    expect(store.getState().startHandsOff()).toBe(true);
    const ids = ['uno', 'mega2560', 'leonardo'].map((type) => lab.add({ type }));
    await until('three boards done', (s) => s.tiles.filter((t) => t.state === 'done').length === 3);
    // The Leonardo's sketch comes back once Caterina has left (500 ms after 'E').
    await new Promise<void>((resolve) => clock.setTimer(2000, () => resolve()));
    const s = store.getState();
    expect(s.tiles.map((t) => [t.protocol, t.chip, t.state])).toEqual([
      ['avr-stk500v1', 'atmega328p', 'done'],
      ['avr-stk500v2', 'atmega2560', 'done'],
      ['avr109', 'atmega32u4', 'done'],
    ]);
    const leo = s.tiles[2]!;
    // Blank, it came up as Caterina (2341:0036); followed to its sketch's port after the update.
    expect(leo.followed).toBe(1);
    expect([leo.usbProductId, leo.connected]).toEqual([0x8036, true]);
    expect(s.records.map((r) => r.result)).toEqual(['ok', 'ok', 'ok']);
    for (const [i, chip] of ['atmega328p', 'atmega2560', 'atmega32u4'].entries()) {
      const image = avr.targets.find((t) => t.chip === chip)!.images[0]!;
      const want = avr.images[image.name]!;
      const board = lab.board(ids[i]!) as AvrSimBoardHandle;
      expect(board.flash.read(0, want.length)).toEqual(want);
      // Each page written once: no board was flashed a second time.
      expect(board.flash.counters.programmedBytes).toBeLessThan(2 * want.length + 512);
    }
  });

  it('a Leonardo with a sketch is touched into Caterina, followed there and back: one tile', async () => {
    const { clock, lab, store, until } = await avrBench();
    const id = lab.add({ type: 'leonardo' });
    expect(store.getState().startHandsOff()).toBe(true);
    await until('first flash done', (s) => s.tiles[0]?.state === 'done');
    await new Promise<void>((resolve) => clock.setTimer(2000, () => resolve()));
    // Plugged in again with its sketch: the port is the sketch's (2341:8036), a new tile.
    lab.unplug(id);
    lab.plug(id);
    await until('second tile done', (s) => s.tiles.some((t, i) => i > 0 && t.state === 'done'));
    await new Promise<void>((resolve) => clock.setTimer(2000, () => resolve()));
    const tiles = store.getState().tiles.filter((t) => t.connected);
    expect(tiles).toHaveLength(1);
    expect(tiles[0]).toMatchObject({ protocol: 'avr109', state: 'done', usbProductId: 0x8036 });
    expect(tiles[0]!.followed).toBe(2);
    expect(store.getState().records.map((r) => r.result)).toEqual(['ok', 'ok']);
  });
});
