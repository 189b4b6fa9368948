import { afterEach, describe, expect, it } from 'vitest';
import { TransportError } from '../../core/errors.ts';
import { goodBundle, key, testImages } from '../../../test/bundle/fixtures.ts';
import { testServices, type TestServices } from '../../../test/technician/services.ts';
import { keyIdOf, publicKeyOf } from '../../bundle/ed25519.ts';
import { createAppStore, resetAppStore, type AppStore } from './app-store.ts';
import { flashBlocker, phaseProgress } from './selectors.ts';
import type { ProgressEvent } from '../../job/types.ts';
import { MAX_LOG_ENTRIES } from './slices/log.ts';

const stores: AppStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) resetAppStore(store);
});

function setup(options: Parameters<typeof testServices>[0] = {}): {
  store: AppStore;
  services: TestServices;
} {
  const services = testServices(options);
  const store = createAppStore(services);
  stores.push(store);
  return { store, services };
}

async function ready(store: AppStore): Promise<void> {
  expect(await store.getState().choosePort({ board: 'esp32s3' })).toBe(true);
  expect(
    await store.getState().loadBundle({ kind: 'bytes', name: 'a.fwb', bytes: goodBundle() }),
  ).toBe(true);
}

describe('ports slice', () => {
  it('keeps the chosen port and logs it', async () => {
    const { store } = setup();
    expect(await store.getState().choosePort({ board: 'esp32s3' })).toBe(true);
    const s = store.getState();
    expect(s.port?.label).toBe('Virtual esp32s3');
    expect(s.port?.virtual).toBe(true);
    expect(s.choosingPort).toBe(false);
    expect(s.log.entries.at(-1)?.message).toContain('Virtual esp32s3');
  });

  it('keeps the reason when the chooser is cancelled', async () => {
    const { store, services } = setup();
    services.chooser.cancel = true;
    expect(await store.getState().choosePort()).toBe(false);
    const s = store.getState();
    expect(s.port).toBeUndefined();
    expect(s.portError?.code).toBe('transport.no-port-selected');
    expect(s.portError?.hints).toEqual(['Press Connect again and pick the board in the list.']);
  });

  it('wraps an error that is not ours', async () => {
    const { store, services } = setup();
    services.requestPort = () => Promise.reject(new DOMException('nope', 'SecurityError'));
    await store.getState().choosePort();
    expect(store.getState().portError).toMatchObject({
      code: 'transport.no-port-selected',
      message: 'nope',
    });
  });
});

describe('bundle slice', () => {
  it('verifies a bundle and summarises it', async () => {
    const { store } = setup();
    const progress: number[] = [];
    store.subscribe((s) => {
      if (s.bundle.progress) progress.push(s.bundle.progress.bytesDone);
    });
    expect(
      await store.getState().loadBundle({ kind: 'bytes', name: 'a.fwb', bytes: goodBundle() }),
    ).toBe(true);
    const { bundle } = store.getState();
    expect(bundle.status).toBe('verified');
    expect(bundle.source).toBe('a.fwb');
    expect(progress.length).toBeGreaterThan(0);
    const summary = bundle.summary!;
    expect(summary).toMatchObject({
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      threshold: 2,
    });
    expect(summary.signers).toEqual(
      [keyIdOf(publicKeyOf(key(1))), keyIdOf(publicKeyOf(key(2)))].sort(),
    );
    expect(summary.targets).toHaveLength(1);
    expect(summary.targets[0]!.images.map((im) => [im.name, im.address, im.size])).toEqual([
      ['bootloader', 0, testImages().get('bootloader')!.length],
      ['app', 0x10000, testImages().get('app')!.length],
    ]);
    expect(summary.targets[0]!.images[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  const tampered = (): Uint8Array => {
    const b = goodBundle();
    b[b.length - 10]! ^= 0x01;
    return b;
  };
  const badBundles: [string, () => Uint8Array, string][] = [
    ['an image byte flipped', tampered, 'image.hash-mismatch'],
    ['one signature where two are needed', () => goodBundle({}, [1]), 'signature.threshold'],
    ['not a bundle', () => new TextEncoder().encode('hello, world'), 'container.malformed'],
    ['cut short', () => goodBundle().slice(0, 400), 'container.truncated'],
  ];
  it.each(badBundles)('refuses %s with its reason', async (_what, bytes, reason) => {
    const { store } = setup();
    expect(
      await store.getState().loadBundle({ kind: 'bytes', name: 'x.fwb', bytes: bytes() }),
    ).toBe(false);
    const { bundle } = store.getState();
    expect(bundle.status).toBe('rejected');
    expect(bundle.verified).toBeUndefined();
    expect(bundle.error).toMatchObject({ code: 'bundle.rejected', reason });
    expect(bundle.error!.hints.length).toBeGreaterThan(0);
  });

  it('refuses an expired bundle', async () => {
    const { store } = setup({ now: new Date('2031-01-01T00:00:00Z') });
    await store.getState().loadBundle({ kind: 'bytes', name: 'a.fwb', bytes: goodBundle() });
    expect(store.getState().bundle.error?.reason).toMatch(/expired/);
  });

  it('keeps only the last of two overlapping loads', async () => {
    const { store } = setup();
    const first = store
      .getState()
      .loadBundle({ kind: 'bytes', name: 'old.fwb', bytes: goodBundle() });
    const second = store
      .getState()
      .loadBundle({ kind: 'bytes', name: 'new.fwb', bytes: goodBundle({ version: '2.0.0' }) });
    expect(await first).toBe(false);
    expect(await second).toBe(true);
    expect(store.getState().bundle.summary?.version).toBe('2.0.0');
    expect(store.getState().bundle.source).toBe('new.fwb');
  });

  it('refuses raw images in a build that does not allow them', () => {
    const { store } = setup({ unverifiedAllowed: false });
    store.getState().loadRawImage({ name: 'app.bin', address: 0x10000, data: new Uint8Array(100) });
    expect(store.getState().bundle.status).toBe('rejected');
    expect(store.getState().bundle.raw).toBeUndefined();
    store.getState().setAllowUnverified(true);
    expect(store.getState().settings.allowUnverified).toBe(false);
  });
});

describe('flashBlocker', () => {
  const base = {
    port: undefined,
    choosingPort: false,
    bundle: { status: 'verified' },
    job: { running: false },
    settings: { allowUnverified: false },
  };
  const port = { handle: {}, label: 'p', virtual: true };
  const cases: [string, object, boolean, string | undefined][] = [
    ['no port', {}, false, 'Choose a board first.'],
    ['running', { port, job: { running: true } }, false, 'A flash is already running.'],
    [
      'chooser open',
      { port, choosingPort: true },
      false,
      'Choose a board in the browser’s list first.',
    ],
    [
      'no bundle',
      { port, bundle: { status: 'empty' } },
      false,
      'Load a signed firmware bundle first.',
    ],
    [
      'loading',
      { port, bundle: { status: 'loading' } },
      false,
      'Wait until the bundle has been checked.',
    ],
    [
      'rejected',
      { port, bundle: { status: 'rejected' } },
      false,
      'The loaded bundle was refused; load another one.',
    ],
    [
      'raw in production',
      { port, bundle: { status: 'unverified' }, settings: { allowUnverified: true } },
      false,
      'This build writes only signed bundles.',
    ],
    [
      'raw without the setting',
      { port, bundle: { status: 'unverified' } },
      true,
      'This image is not signed. Allow unverified images in the options to write it anyway.',
    ],
    [
      'raw with the setting',
      { port, bundle: { status: 'unverified' }, settings: { allowUnverified: true } },
      true,
      undefined,
    ],
    ['verified', { port }, false, undefined],
  ];
  it.each(cases)('%s', (_what, over, unverifiedAllowed, expected) => {
    const state = { ...base, ...over } as unknown as Parameters<typeof flashBlocker>[0];
    expect(flashBlocker(state, { unverifiedAllowed })).toBe(expected);
  });
});

describe('phaseProgress', () => {
  const at = (phase: ProgressEvent['phase'], percent: number) =>
    ({ phase, percent, bytesDone: percent, bytesTotal: 100 }) as ProgressEvent;
  it('shows a transfer phase only its own progress, and the last report outside them', () => {
    // Writing has begun, its first report not in yet: not the comparison's 100 %.
    expect(phaseProgress({ phase: 'writing', progress: at('comparing', 100) })).toBeUndefined();
    expect(phaseProgress({ phase: 'writing', progress: at('writing', 2) })?.percent).toBe(2);
    // Reconnecting mid-job, and at the end: the last report stays.
    expect(phaseProgress({ phase: 'connecting', progress: at('writing', 40) })?.percent).toBe(40);
    expect(phaseProgress({ phase: 'done', progress: at('verifying', 100) })?.percent).toBe(100);
    expect(phaseProgress({ phase: 'writing', progress: undefined })).toBeUndefined();
  });
});

describe('job slice', () => {
  it('flashes, following the engine’s events', async () => {
    const { store, services } = setup();
    await ready(store);
    const phases: string[] = [];
    let sawRate = false;
    store.subscribe((s, prev) => {
      if (s.job.phase !== prev.job.phase) phases.push(s.job.phase);
      if (s.job.progress?.bytesPerSecond !== undefined) sawRate = true;
    });
    const outcome = await store.getState().startFlash();
    expect(outcome?.ok).toBe(true);
    expect(phases).toEqual([
      'connecting',
      'identifying',
      'checking',
      'writing',
      'verifying',
      'resetting',
      'done',
    ]);
    expect(sawRate).toBe(true);
    const s = store.getState();
    expect(s.job.running).toBe(false);
    expect(s.job.verifiedSource).toBe(true);
    expect(s.device?.chip).toBe('esp32s3');
    expect(s.job.progress?.percent).toBe(100);
    expect(services.session.calls).toContain('write:app');
    // The default is 'auto'; a driver that does not take it (this fake) gets its own default.
    expect(s.settings.baudRate).toBe('auto');
    expect(services.fakeConnector.lastOptions?.baudRate).toBeUndefined();
    expect(s.log.entries.some((e) => e.source === 'engine')).toBe(true);
    expect(await services.rollbackStore!.get('acme-sensor')).toMatchObject({ securityCounter: 3 });
  });

  it('finds the port again before flashing (after a replug or re-enumeration)', async () => {
    const { store, services } = setup();
    await ready(store);
    const before = store.getState().port!;
    const again = { ...before, handle: { ...before.handle } };
    services.refreshPort = (p) => Promise.resolve(p === before ? again : p);
    const ports: unknown[] = [];
    const connect = services.fakeConnector.connect.bind(services.fakeConnector);
    services.fakeConnector.connect = (port, o) => {
      ports.push(port);
      return connect(port, o);
    };
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(ports).toEqual([again.handle]);
    expect(store.getState().port).toBe(again);
  });

  it('passes the chosen baud rate to the driver', async () => {
    const { store, services } = setup();
    await ready(store);
    store.getState().setBaudRate(921600);
    await store.getState().startFlash();
    expect(services.fakeConnector.lastOptions?.baudRate).toBe(921600);
  });

  it('ignores a baud rate that is not offered', () => {
    const { store } = setup();
    store.getState().setBaudRate(12345 as 115200);
    expect(store.getState().settings.baudRate).toBe('auto');
  });

  it('reports an unplugged board with its code, hints and recovery', async () => {
    const { store } = setup({
      session: {
        faults: [
          {
            op: 'write',
            region: 'app',
            atByte: 4096,
            error: () =>
              new TransportError('transport.device-lost', 'The board was disconnected.', {
                hints: ['Check the USB cable.'],
              }),
          },
        ],
      },
    });
    await ready(store);
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({
      ok: false,
      cancelled: false,
      flashTouched: true,
      phase: 'writing',
    });
    if (outcome?.ok !== false) throw new Error('expected a failure');
    expect(outcome.error).toMatchObject({
      code: 'transport.device-lost',
      hints: ['Check the USB cable.'],
    });
    expect(outcome.recovery).toMatch(/Plug the board back in/);
    expect(store.getState().job.phase).toBe('failed');
  });

  it('cancels through the AbortSignal', async () => {
    const { store } = setup();
    await ready(store);
    const unsubscribe = store.subscribe((s) => {
      if (s.job.phase === 'writing' && (s.job.progress?.bytesDone ?? 0) > 0) {
        unsubscribe();
        s.cancelFlash();
      }
    });
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({ ok: false, cancelled: true, error: { code: 'aborted' } });
    expect(store.getState().job).toMatchObject({
      phase: 'cancelled',
      running: false,
      cancelling: false,
    });
  });

  it('does not start without a port or bundle, and says why in the log', async () => {
    const { store, services } = setup();
    expect(await store.getState().startFlash()).toBeUndefined();
    expect(services.fakeConnector.connects).toBe(0);
    expect(store.getState().log.entries.at(-1)).toMatchObject({
      level: 'warn',
      message: 'Cannot flash: Choose a board first.',
    });
  });

  it('keeps the bundle and port fixed while a flash runs', async () => {
    const { store } = setup();
    await ready(store);
    const run = store.getState().startFlash();
    await store
      .getState()
      .loadBundle({ kind: 'bytes', name: 'other.fwb', bytes: goodBundle({ version: '9.9.9' }) });
    store.getState().releasePort();
    store.getState().clearBundle();
    expect(store.getState().bundle.summary?.version).toBe('1.4.2');
    expect(store.getState().port).toBeDefined();
    expect((await run)?.ok).toBe(true);
  });

  it('writes a raw image only in a development build with the setting on', async () => {
    const { store, services } = setup({ unverifiedAllowed: true });
    await store.getState().choosePort();
    const data = new Uint8Array(5000).map((_, i) => i & 0xff);
    store.getState().loadRawImage({ name: 'app.bin', address: 0x10000, data });
    expect(store.getState().bundle.status).toBe('unverified');
    expect(await store.getState().startFlash()).toBeUndefined();
    store.getState().setAllowUnverified(true);
    const outcome = await store.getState().startFlash();
    expect(outcome?.ok).toBe(true);
    expect(store.getState().job.verifiedSource).toBe(false);
    expect(services.session.flash.subarray(0x10000, 0x10000 + 5000)).toEqual(data);
    expect(
      store.getState().log.entries.some((e) => e.level === 'warn' && /unverified/i.test(e.message)),
    ).toBe(true);
  });
});

describe('log slice', () => {
  it('keeps at most MAX_LOG_ENTRIES lines, dropping the oldest', () => {
    const { store } = setup();
    for (let i = 0; i < MAX_LOG_ENTRIES + 10; i++) {
      store.getState().appendLog({ time: i, level: 'info', source: 't', message: `line ${i}` });
    }
    const { entries } = store.getState().log;
    expect(entries).toHaveLength(MAX_LOG_ENTRIES);
    expect(entries[0]!.message).toBe('line 10');
  });

  it('filters by level and text', () => {
    const { store } = setup();
    store.getState().setLogLevel('debug', true);
    store.getState().setLogText('SYNC');
    expect(store.getState().log.filter).toEqual({
      levels: { debug: true, info: true, warn: true, error: true },
      text: 'SYNC',
    });
    store.getState().clearLog();
    expect(store.getState().log.entries).toEqual([]);
  });
});

it('resetAppStore puts everything back', async () => {
  const { store } = setup();
  await ready(store);
  store.getState().setBaudRate(115200);
  resetAppStore(store);
  const s = store.getState();
  expect(s.port).toBeUndefined();
  expect(s.bundle.status).toBe('empty');
  expect(s.settings.baudRate).toBe('auto');
  expect(s.log.entries).toEqual([]);
});
