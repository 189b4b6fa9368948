/**
 * The pure parts of the headless commands: exit codes per outcome, the progress bar line, the
 * JSON event stream, the file-backed flash log and rollback state, `--ports` globbing and the
 * polling port watcher (with a stand-in port list).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, readExport } from '../../src/audit/index.ts';
import { reject } from '../../src/bundle/errors.ts';
import { EXIT } from '../../src/cli/io.ts';
import { exitCodeFor, JobPrinter, progressLine } from '../../src/cli/job-output.ts';
import { realClock } from '../../src/core/clock.ts';
import {
  AbortError,
  ProtocolError,
  TimeoutError,
  TransportError,
  WebflashError,
} from '../../src/core/errors.ts';
import type { JobFailure, ProgressEvent } from '../../src/job/types.ts';
import { FileAuditStore, FileRollbackStore } from '../../src/platform/node/file-stores.ts';
import {
  matchPortPaths,
  NodePortWatcher,
  portInfoFor,
  serialPortAt,
  usbIdsFromSysfs,
} from '../../src/platform/node/ports.ts';
import { NodeSerialPortHandle } from '../../src/platform/node/serial.ts';

const dir = mkdtempSync(join(tmpdir(), 'webflash-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(error: WebflashError, cancelled = false): JobFailure {
  return {
    ok: false,
    cancelled,
    error,
    phase: 'writing',
    recovery: '',
    flashTouched: true,
    durationMs: 1,
  };
}

describe('exit codes', () => {
  it.each([
    ['wrong target', failure(reject('target.mismatch', 'x')), EXIT.wrongBoard],
    ['rollback', failure(reject('rollback.counter', 'x')), EXIT.rejected],
    ['wrong chip', failure(new ProtocolError('protocol.wrong-chip', 'x')), EXIT.wrongBoard],
    ['does not fit', failure(new WebflashError('plan.out-of-flash', 'x')), EXIT.wrongBoard],
    ['unplugged', failure(new TransportError('transport.device-lost', 'x')), EXIT.deviceLost],
    ['no sync', failure(new ProtocolError('protocol.no-sync', 'x')), EXIT.protocol],
    ['timeout', failure(new TimeoutError('x', 10)), EXIT.protocol],
    ['mismatch', failure(new WebflashError('verify.mismatch', 'x')), EXIT.protocol],
    ['busy port', failure(new TransportError('transport.port-busy', 'x')), EXIT.failure],
    ['cancelled', failure(new AbortError(), true), EXIT.cancelled],
  ] as const)('%s → %i', (_name, result, code) => expect(exitCodeFor(result)).toBe(code));
});

const progress = (over: Partial<ProgressEvent> = {}): ProgressEvent => ({
  phase: 'writing',
  region: 'app',
  regionIndex: 0,
  regionCount: 1,
  bytesDone: 96 * 1024,
  bytesTotal: 192 * 1024,
  regionBytesDone: 96 * 1024,
  regionBytesTotal: 192 * 1024,
  percent: 50,
  bytesPerSecond: 45 * 1024,
  etaMs: 2_200,
  attempt: 1,
  ...over,
});

describe('progress output', () => {
  it('a bar with bytes, rate and ETA', () => {
    const line = progressLine(progress(), 100);
    expect(line).toMatch(
      /^writing app {2}\[#+\.+\] {3}50% {2}96\.0 KiB\/192\.0 KiB {2}45\.0 KiB\/s {2}ETA 0:02$/,
    );
  });

  it('JSON: one object per line, progress at most every 250 ms, the last one always', () => {
    let out = '';
    let t = 0;
    const printer = new JobPrinter({
      mode: 'json',
      out: (s) => (out += s),
      err: () => undefined,
      now: () => t,
    });
    const on = printer.listeners();
    on.progress!(progress({ percent: 10 }));
    t = 100;
    on.progress!(progress({ percent: 20 }));
    t = 300;
    on.progress!(progress({ percent: 30 }));
    on.progress!(progress({ percent: 100, bytesDone: 192 * 1024 }));
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { percent: number });
    expect(lines.map((l) => l.percent)).toEqual([10, 30, 100]);
  });
});

describe('progress output of the comparing phase', () => {
  const printer = (mode: 'json' | 'plain') => {
    let out = '';
    const p = new JobPrinter({ mode, out: (s) => (out += s), err: () => undefined, now: () => 0 });
    return { on: p.listeners(), text: () => out };
  };

  it('JSON: the first event of each phase goes out at once, whatever the time since the last', () => {
    const { on, text } = printer('json');
    on.phase!({ phase: 'comparing', previous: 'checking', time: 0 });
    on.progress!(progress({ phase: 'comparing', percent: 10 }));
    on.progress!(progress({ phase: 'comparing', percent: 20 })); // within 250 ms: left out
    on.phase!({ phase: 'writing', previous: 'comparing', time: 0 });
    on.progress!(progress({ phase: 'writing', percent: 5 }));
    on.progress!(progress({ phase: 'writing', percent: 6 })); // within 250 ms: left out
    const lines = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; phase: string; percent?: number });
    expect(lines.map((l) => [l.event, l.phase, l.percent])).toEqual([
      ['phase', 'comparing', undefined],
      ['progress', 'comparing', 10],
      ['phase', 'writing', undefined],
      ['progress', 'writing', 5],
    ]);
  });

  it('plain lines and the bar name the phase', () => {
    const { on, text } = printer('plain');
    on.phase!({ phase: 'comparing', previous: 'checking', time: 0 });
    on.progress!(progress({ phase: 'comparing', percent: 50 }));
    expect(text()).toBe('comparing 50% (96.0 KiB of 192.0 KiB, 45.0 KiB/s)\n');
    expect(progressLine(progress({ phase: 'comparing' }), 100)).toMatch(/^comparing app {2}\[/);
  });
});

describe('file stores', () => {
  it('the flash log file is always a complete export; a damaged one is refused', async () => {
    const path = join(dir, 'log.jsonl');
    const log = new AuditLog({ store: new FileAuditStore(path) });
    const record = {
      note: '',
      port: '/dev/ttyUSB0',
      deviceId: 'aa:bb',
      chip: 'esp32',
      bundle: { product: 'p', version: '1.0.0', sha256: 'a'.repeat(64) },
      result: 'ok' as const,
      errorCode: null,
      durationMs: 10,
      mode: 'bench' as const,
    };
    await log.append(record);
    await log.append({ ...record, result: 'failed', errorCode: 'transport.device-lost' });
    const reading = readExport(readFileSync(path));
    expect(reading.verdict.ok).toBe(true);
    expect(reading.entries).toHaveLength(3);
    writeFileSync(path, readFileSync(path, 'utf8').replace('aa:bb', 'aa:bc'));
    await expect(new FileAuditStore(path).all()).rejects.toThrow(/damaged at entry 1/);
  });

  it('rollback state round-trips through its JSON file', async () => {
    const path = join(dir, 'state', 'webflash-rollback.json');
    const a = new FileRollbackStore(path);
    expect(await a.get('p')).toBeUndefined();
    await a.put('p', { securityCounter: 3, version: '1.2.0', rootVersion: 1 });
    await a.putRootVersion(2);
    const b = new FileRollbackStore(path);
    expect(await b.get('p')).toEqual({ securityCounter: 3, version: '1.2.0', rootVersion: 1 });
    expect(await b.getRootVersion()).toBe(2);
    expect(await b.get('constructor')).toBeUndefined();
  });
});

describe('ports', () => {
  it('--ports globs match names in the pattern directory, literal paths when they exist', () => {
    for (const n of ['ttyUSB0', 'ttyUSB1', 'ttyACM0', 'other']) writeFileSync(join(dir, n), '');
    symlinkSync(join(dir, 'ttyACM0'), join(dir, 'by-id-board'));
    expect(matchPortPaths([join(dir, 'ttyUSB*'), join(dir, 'by-id-board')])).toEqual([
      join(dir, 'by-id-board'),
      join(dir, 'ttyUSB0'),
      join(dir, 'ttyUSB1'),
    ]);
    expect(matchPortPaths([join(dir, 'tty???0')])).toEqual([
      join(dir, 'ttyACM0'),
      join(dir, 'ttyUSB0'),
    ]);
    expect(matchPortPaths([join(dir, 'nothing*'), '/no/such/dir/*'])).toEqual([]);
  });

  it('a port path finds its USB ids in sysfs, through a by-id link; a pty and a header UART have none', async () => {
    // /sys/class/tty/ttyUSB0/device -> devices/usb1/1-1/1-1:1.0/ttyUSB0, ids on 1-1.
    const sys = join(dir, 'sys');
    const usbDevice = join(sys, 'devices', 'usb1', '1-1');
    const iface = join(usbDevice, '1-1:1.0', 'ttyUSB0');
    mkdirSync(iface, { recursive: true });
    writeFileSync(join(usbDevice, 'idVendor'), '10c4\n');
    writeFileSync(join(usbDevice, 'idProduct'), 'ea60\n');
    const uart = join(sys, 'devices', 'platform', 'serial8250', 'ttyS0');
    mkdirSync(uart, { recursive: true });
    for (const [name, target] of [
      ['ttyUSB0', iface],
      ['ttyS0', uart],
    ] as const) {
      mkdirSync(join(sys, 'class', 'tty', name), { recursive: true });
      symlinkSync(target, join(sys, 'class', 'tty', name, 'device'));
    }
    const dev = join(dir, 'dev');
    mkdirSync(join(dev, 'serial', 'by-id'), { recursive: true });
    for (const name of ['ttyUSB0', 'ttyS0', '7']) writeFileSync(join(dev, name), '');
    const byId = join(dev, 'serial', 'by-id', 'usb-Silicon_Labs_CP2102-if00-port0');
    symlinkSync(join(dev, 'ttyUSB0'), byId);

    expect(usbIdsFromSysfs(join(dev, 'ttyUSB0'), sys)).toEqual({
      vendorId: 0x10c4,
      productId: 0xea60,
    });
    expect(usbIdsFromSysfs(byId, sys)).toEqual({ vendorId: 0x10c4, productId: 0xea60 });
    expect(usbIdsFromSysfs(join(dev, 'ttyS0'), sys)).toEqual({});
    expect(usbIdsFromSysfs(join(dev, '7'), sys)).toEqual({}); // a pty: /dev/pts/7
    expect(usbIdsFromSysfs(join(dev, 'ttyUSB0'), join(dir, 'no-sysfs'))).toBeUndefined();

    const handle = await serialPortAt(byId, { clock: realClock, sysfs: sys });
    expect(handle.info).toMatchObject({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    expect(handle.info.label).toBe(`${byId} (USB serial 10c4:ea60)`);
  });

  it('the watcher finds a board back under its USB ids on a new path, or with `accept`', async () => {
    let listed = [
      {
        path: '/dev/ttyACM0',
        info: portInfoFor('/dev/ttyACM0', { vendorId: 0x303a, productId: 0x1001 }),
      },
    ];
    const watcher = new NodePortWatcher({ clock: realClock, list: async () => listed });
    const previous = new NodeSerialPortHandle('/dev/ttyACM0', listed[0]!.info, {
      clock: realClock,
    });
    setTimeout(() => (listed = []), 50);
    setTimeout(
      () =>
        (listed = [
          {
            path: '/dev/ttyACM1',
            info: portInfoFor('/dev/ttyACM1', { vendorId: 0x303a, productId: 0x1001 }),
          },
        ]),
      300,
    );
    const back = await watcher.waitForReturn(previous, { timeoutMs: 3000 });
    expect((back as NodeSerialPortHandle).path).toBe('/dev/ttyACM1');
    listed = [
      {
        path: '/dev/ttyACM2',
        info: portInfoFor('/dev/ttyACM2', { vendorId: 0x2341, productId: 0x0036 }),
      },
    ];
    const boot = await watcher.waitForReturn(previous, {
      timeoutMs: 1000,
      accept: (info) => info.usbProductId === 0x0036,
    });
    expect((boot as NodeSerialPortHandle).path).toBe('/dev/ttyACM2');
    listed = [];
    await expect(watcher.waitForReturn(previous, { timeoutMs: 300 })).rejects.toThrow(/come back/);
  });
});
