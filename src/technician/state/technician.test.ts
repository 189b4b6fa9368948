/**
 * The technician console's store flows on fakes and a VirtualClock: kept ranges refused before
 * the port is opened, erase mode, the downgrade override with its typed reason, the flash log
 * entry of every job, keeping a bundle offline, and the serial monitor following a board that
 * re-enumerates after its reset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, MemoryAuditStore, readExport } from '../../audit/index.ts';
import { recordInstalled } from '../../bundle/rollback-store.ts';
import { ByteQueue } from '../../core/byte-queue.ts';
import { TransportError } from '../../core/errors.ts';
import type { SerialLink, SerialPortHandle, SerialSignals } from '../../transport/link.ts';
import { goodBundle } from '../../../test/bundle/fixtures.ts';
import { testServices, type TestServices } from '../../../test/technician/services.ts';
import { createAppStore, resetAppStore, type AppStore } from './app-store.ts';

/** Lets the host run (the VirtualClock moves on while it is idle) until `pred` holds. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`still waiting for ${what}`);
}

const stores: AppStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) resetAppStore(store);
});

function setup(options: Parameters<typeof testServices>[0] & { withEraseAll?: boolean } = {}): {
  store: AppStore;
  services: TestServices & { auditLog: AuditLog };
} {
  const { withEraseAll, ...rest } = options;
  const base = testServices({
    ...rest,
    ...(withEraseAll ? { session: { withEraseAll: true } } : {}),
  });
  const services = { ...base, auditLog: new AuditLog({ store: new MemoryAuditStore() }) };
  const store = createAppStore(services);
  store.getState().setMonitorAfterFlash(false);
  stores.push(store);
  return { store, services };
}

async function ready(store: AppStore, bytes = goodBundle()): Promise<void> {
  expect(await store.getState().choosePort({ board: 'esp32s3' })).toBe(true);
  expect(await store.getState().loadBundle({ kind: 'bytes', name: 'a.fwb', bytes })).toBe(true);
}

describe('kept ranges', () => {
  it('refuses before the port is opened when an image would overwrite a kept range', async () => {
    const { store, services } = setup();
    await ready(store);
    expect(store.getState().addKeepRange('0x10000+0x1000')).toBeUndefined();
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({ ok: false, flashTouched: false, phase: 'idle' });
    expect(outcome?.ok === false && outcome.error.code).toBe('plan.keep-range');
    expect(outcome?.ok === false && outcome.error.message).toContain('"app"');
    expect(services.fakeConnector.connects).toBe(0);
    expect(services.session.writes).toEqual([]);
  });

  it('flashes when the kept range is clear of every image (ESP sectors included)', async () => {
    const { store, services } = setup();
    await ready(store);
    // The 1500-byte bootloader at 0 erases up to 0x1000; the app starts at 0x10000.
    store.getState().addKeepRange('0x1000-0x10000');
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(services.session.writes.length).toBeGreaterThan(0);
  });

  it('refuses whole-chip erase while a range is kept', async () => {
    const { store, services } = setup({ withEraseAll: true });
    await ready(store);
    store.getState().addKeepRange('0x1000-0x10000');
    store.getState().setEraseMode('all');
    const outcome = await store.getState().startFlash();
    expect(outcome?.ok === false && outcome.error.code).toBe('plan.keep-range');
    expect(services.fakeConnector.connects).toBe(0);
  });

  it('reports a typed range it cannot read, and ignores a duplicate', () => {
    const { store } = setup();
    expect(store.getState().addKeepRange('nvs')?.code).toBe('usage.invalid-argument');
    store.getState().addKeepRange('0x9000-0xF000');
    store.getState().addKeepRange('0x9000+0x6000');
    expect(store.getState().settings.keepRanges).toHaveLength(1);
    store.getState().removeKeepRange(0);
    expect(store.getState().settings.keepRanges).toEqual([]);
  });
});

describe('erase mode', () => {
  it('erases the whole chip first when asked', async () => {
    const { store, services } = setup({ withEraseAll: true });
    await ready(store);
    store.getState().setEraseMode('all');
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(services.session.calls).toContain('eraseAll');
    expect(services.session.writes.length).toBeGreaterThan(0);
  });

  it('shows the refusal of a bootloader that cannot erase everything', async () => {
    const { store, services } = setup();
    await ready(store);
    store.getState().setEraseMode('all');
    const outcome = await store.getState().startFlash();
    expect(outcome?.ok === false && outcome.error.code).toBe('protocol.unsupported');
    expect(outcome?.ok === false && outcome.error.hints.join(' ')).toContain('erase only');
    expect(services.session.writes).toEqual([]);
  });
});

describe('downgrade override', () => {
  async function downgradeSetup(): Promise<ReturnType<typeof setup>> {
    const s = setup();
    await recordInstalled(s.services.rollbackStore!, {
      product: 'acme-sensor',
      version: '2.0.0',
      securityCounter: 5,
      rootVersion: 1,
    });
    await ready(s.store); // counter 3
    return s;
  }

  it('shows the rollback status at load time', async () => {
    const { store } = await downgradeSetup();
    expect(store.getState().bundle.rollback).toEqual({
      status: 'downgrade',
      recorded: 5,
      recordedVersion: '2.0.0',
    });
  });

  it('is refused without a reason, and with a reason but no detail before connecting', async () => {
    const { store, services } = await downgradeSetup();
    const plain = await store.getState().startFlash();
    expect(plain?.ok === false && plain.error.reason).toBe('rollback.counter');
    expect(services.session.writes).toEqual([]);
    const connects = services.fakeConnector.connects;
    store.getState().setDowngrade('test-bench', '   ');
    const blank = await store.getState().startFlash();
    expect(blank?.ok === false && blank.error.message).toContain('needs a detail');
    expect(services.fakeConnector.connects).toBe(connects);
  });

  it('is accepted with a reason and detail, logged, recorded, and reset after the job', async () => {
    const { store, services } = await downgradeSetup();
    store.getState().setDowngrade('returned-unit-diagnostics', 'RMA 4411');
    store.getState().setOperatorNote('bench 2');
    expect((await store.getState().startFlash())?.ok).toBe(true);
    const log = store
      .getState()
      .log.entries.map((e) => e.message)
      .join('\n');
    expect(log).toContain('Downgrade override allowed (returned-unit-diagnostics): RMA 4411');
    const entries = await services.auditLog.entries();
    const last = entries.at(-1)!;
    expect(last.kind === 'flash' && last.note).toBe(
      'Downgrade override (returned-unit-diagnostics): RMA 4411 — bench 2',
    );
    expect(store.getState().settings.downgradeReason).toBeUndefined();
    expect(store.getState().settings.downgradeDetail).toBe('');
  });
});

describe('flash log', () => {
  it('delta: shows and records "n of m blocks unchanged"; the option turns it off', async () => {
    const { store, services } = setup({ session: { withDelta: true } });
    await ready(store);
    expect(store.getState().settings.delta).toBe(true);
    expect((await store.getState().startFlash())?.ok).toBe(true);
    // The comparison before the write is a phase of its own, with its progress up to 100 %.
    const seen: string[] = [];
    const stop = store.subscribe((s, prev) => {
      const p = s.job.progress;
      if (s.job.phase !== prev.job.phase) seen.push(s.job.phase);
      if (p && p !== prev.job.progress && p.phase === 'comparing') seen.push(`${p.percent} %`);
    });
    const second = await store.getState().startFlash();
    stop();
    expect(second?.ok && second.delta).toMatchObject({ unchanged: 8, total: 8 });
    expect(seen.indexOf('comparing')).toBe(seen.indexOf('checking') + 1);
    const percents = seen.filter((e) => e.endsWith(' %')).map((e) => parseFloat(e));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    store.getState().setDelta(false);
    const third = await store.getState().startFlash();
    expect(third?.ok && third.delta).toBeUndefined();
    const entries = await services.auditLog.entries();
    expect(entries.map((e) => (e.kind === 'flash' ? e.delta : 'genesis'))).toEqual([
      'genesis',
      { unchanged: 0, total: 8 },
      { unchanged: 8, total: 8 },
      undefined,
    ]);
    const reading = readExport((await store.getState().exportFlashLog())!);
    expect(reading.verdict).toMatchObject({ ok: true, count: 4 });
  });

  it('records every job result with the bundle hash, and exports a chain that verifies', async () => {
    const { store, services } = setup();
    const bytes = goodBundle();
    await ready(store, bytes);
    expect((await store.getState().startFlash())?.ok).toBe(true);
    store.getState().addKeepRange('0x0-0x10');
    expect((await store.getState().startFlash())?.ok).toBe(false);
    const entries = await services.auditLog.entries();
    expect(entries.map((e) => e.kind)).toEqual(['genesis', 'flash', 'flash']);
    const [, ok, refused] = entries;
    expect(ok).toMatchObject({
      mode: 'technician',
      port: 'Virtual esp32s3',
      chip: 'esp32s3',
      result: 'ok',
      errorCode: null,
      bundle: {
        product: 'acme-sensor',
        version: '1.4.2',
        sha256: store.getState().bundle.verified!.bundleSha256,
      },
    });
    expect(refused).toMatchObject({ result: 'failed', errorCode: 'plan.keep-range' });
    expect(store.getState().flashLog).toMatchObject({ count: 3, head: refused!.hash });
    const text = await store.getState().exportFlashLog();
    const reading = readExport(text!);
    expect(reading.verdict).toMatchObject({ ok: true, count: 3, head: refused!.hash });
  });
});

describe('offline bundles', () => {
  it('keeps a bundle loaded by URL, and says why not when there is no service worker', async () => {
    const { store, services } = setup();
    const asked: string[] = [];
    let active = false;
    services.keepOffline = async (url) => {
      asked.push(url);
      return active ? { kept: true, note: 'Kept.' } : { kept: false, note: 'No service worker.' };
    };
    const bytes = goodBundle();
    services.verifyBundle = (o) => testServices().verifyBundle({ ...o, source: bytes });
    await store.getState().loadBundle({ kind: 'url', url: 'https://fw.example/a.fwb' });
    expect(await store.getState().keepBundleOffline()).toBe(false);
    expect(store.getState().bundle.offline).toEqual({
      busy: false,
      kept: false,
      note: 'No service worker.',
    });
    active = true;
    expect(await store.getState().keepBundleOffline()).toBe(true);
    expect(asked).toEqual(['https://fw.example/a.fwb', 'https://fw.example/a.fwb']);
  });
});

/** A port whose links are driven by the test. */
class ScriptedPort implements SerialPortHandle {
  readonly info = { label: 'Virtual ESP32-S3', usbVendorId: 0x303a, usbProductId: 0x1001 };
  readonly links: ScriptedLink[] = [];
  constructor(private readonly services: TestServices) {}
  async open(options: { baudRate: number }): Promise<SerialLink> {
    const link = new ScriptedLink(this.services, options.baudRate);
    this.links.push(link);
    return link;
  }
}

class ScriptedLink implements SerialLink {
  readonly info = { label: 'Virtual ESP32-S3' };
  readonly input: ByteQueue;
  readonly signals: SerialSignals[] = [];
  isOpen = true;
  constructor(
    services: TestServices,
    readonly baudRate: number,
  ) {
    this.input = new ByteQueue(services.clock);
  }
  async write(): Promise<void> {}
  async setSignals(s: SerialSignals): Promise<void> {
    this.signals.push(s);
  }
  async setBaudRate(): Promise<void> {}
  async close(): Promise<void> {
    this.isOpen = false;
  }
  onLost(): () => void {
    return () => undefined;
  }
}

describe('serial monitor', () => {
  it('resets an ESP into its app, shows clean text, follows re-enumeration and closes', async () => {
    const { store, services } = setup();
    const first = new ScriptedPort(services);
    const second = new ScriptedPort(services);
    services.requestPort = async () => ({
      handle: first,
      label: 'Virtual ESP32-S3',
      virtual: true,
    });
    let replugged = false;
    services.refreshPort = async (p) => (replugged ? { ...p, handle: second } : p);
    await store.getState().choosePort();
    store.getState().setMonitorBaudRate(74880);

    const running = store.getState().startMonitor({ reset: true });
    await until(() => first.links.length === 1, 'the port to open');
    const link = first.links[0]!;
    expect(link.baudRate).toBe(74880);
    await until(() => link.signals.length === 3, 'the reset');
    expect(link.signals).toEqual([
      { dataTerminalReady: false, requestToSend: false },
      { dataTerminalReady: false, requestToSend: true },
      { dataTerminalReady: false, requestToSend: false },
    ]);
    link.input.push(new TextEncoder().encode('\u001b[0;32mI (31) boot: ESP-IDF\u001b[0m\r\n'));
    await until(() => store.getState().monitor.text !== '', 'text');
    expect(store.getState().monitor).toMatchObject({
      status: 'open',
      baudRate: 74880,
      text: 'I (31) boot: ESP-IDF\n',
    });

    store.getState().setMonitorPaused(true);
    link.input.push(new TextEncoder().encode('while paused\n'));
    await until(() => link.input.available === 0, 'the read');
    expect(store.getState().monitor.text).toBe('I (31) boot: ESP-IDF\n');
    store.getState().setMonitorPaused(false);
    expect(store.getState().monitor.text).toContain('while paused');

    // The USB-native board re-enumerates after printing: a new port object appears.
    replugged = true;
    link.input.end(new TransportError('transport.device-lost', 'gone'));
    await until(() => second.links.length === 1, 'the port to open again');
    expect(link.isOpen).toBe(false);
    const again = second.links[0]!;
    again.input.push(new TextEncoder().encode('I (300) main_task: Calling app_main()\r\n'));
    await until(() => store.getState().monitor.text.includes('app_main'), 'more text');
    expect(again.signals).toEqual([]); // no second reset
    expect(store.getState().port?.handle).toBe(second);

    await store.getState().stopMonitor();
    await running;
    expect(again.isOpen).toBe(false);
    expect(store.getState().monitor.status).toBe('closed');
    store.getState().clearMonitor();
    expect(store.getState().monitor.text).toBe('');
  });

  it('gives up with the cause when the board does not come back', async () => {
    const { store, services } = setup();
    services.requestPort = async () => ({
      handle: {
        info: { label: 'p' },
        open: () =>
          Promise.reject(new TransportError('transport.port-busy', 'The port is already open.')),
      },
      label: 'p',
      virtual: true,
    });
    await store.getState().choosePort();
    await store.getState().startMonitor({ reset: false });
    expect(store.getState().monitor.status).toBe('error');
    expect(store.getState().monitor.error?.code).toBe('transport.port-busy');
  });
});
