/**
 * The technician app with the demo lab's nRF52840 DK running MCUboot, end to end in Node on a
 * VirtualClock: the store, the browser services' connector over the fake Web Serial, the
 * MCUboot driver and the simulated board — upload, test, reset, the port coming back, confirm;
 * the image list before and after; an identical image not sent again; a cable pulled mid-upload
 * and the upload resumed from the offset the board reports; serial recovery.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pinnedRoot } from '../bundle/pinned-root.ts';
import type { TrustRoot } from '../bundle/trust-root.ts';
import { createBundle } from '../bundle/create.ts';
import { loadDrivers } from '../protocols/registry.ts';
import { buildMcubootImage } from '../sim/mcuboot/image-tools.ts';
import { SIM_MCUBOOT_SECRET_KEY, type McubootBoardHandle } from '../sim/mcuboot/boards.ts';
import { deviceFacts, type AppStore } from '../technician/state/index.ts';
import { CREATED, EXPIRES, key } from '../../test/bundle/fixtures.ts';
import { labStoreOpener, type LabStore } from '../../test/demo/lab-store.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

/** 12 KiB of application, signed with the simulator's key (the boards trust it). */
const APP = buildMcubootImage({
  version: { major: 1, minor: 1, revision: 0, build: 0 },
  body: new Uint8Array(12 * 1024).map((_, i) => (i * 13 + 5) & 0xff),
  secretKey: SIM_MCUBOOT_SECRET_KEY,
});

function bundle(confirm?: 'host' | 'application'): Uint8Array {
  return createBundle({
    manifest: {
      product: 'lab-test',
      version: '1.1.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      notes: 'MCUboot lab tests.',
      targets: [
        {
          chip: 'esp32s3',
          protocol: 'esp-serial',
          images: [{ name: 'esp-app', address: 0x10000 }],
        },
        {
          chip: 'nrf52840',
          protocol: 'mcuboot-smp',
          ...(confirm ? { confirm } : {}),
          images: [{ name: 'app', slot: 0 }],
        },
      ],
    },
    images: { app: APP, 'esp-app': new Uint8Array(4096) },
    signers: [key(1), key(2)],
  });
}

const open = labStoreOpener();

async function setup(
  board: string,
  confirm?: 'host' | 'application',
  release?: { bytes: Uint8Array; trustRoot: TrustRoot; now: Date },
): Promise<LabStore> {
  const labStore = await open(release?.bytes ?? bundle(confirm), release ?? {});
  expect(await labStore.store.getState().choosePort({ board })).toBe(true);
  return labStore;
}

const messages = (s: AppStore): string[] => s.getState().log.entries.map((e) => e.message);
const facts = (s: AppStore): Record<string, string> =>
  Object.fromEntries(deviceFacts(s.getState().device!).map((f) => [f.key, f.value]));

describe('nRF52840 DK with MCUboot (application with MCUmgr)', () => {
  it('offers both MCUboot boards in the demo', async () => {
    const { lab } = await setup('nrf52840-mcuboot');
    expect(lab.types.filter((t) => t.protocol === 'mcuboot-smp').map((t) => t.name)).toEqual([
      'nrf52840-mcuboot',
      'nrf52840-recovery',
    ]);
    expect(lab.protocolHint!({ board: 'nrf52840-recovery' })).toBe('mcuboot-smp');
  });

  it('uploads, tests, resets, follows the new port, confirms; lists the images before and after', async () => {
    const { store } = await setup('nrf52840-mcuboot');
    const seen: Record<string, string>[] = [];
    const off = store.subscribe((s, prev) => {
      if (s.device && s.device !== prev.device) seen.push({ ...facts(store) });
    });
    const outcome = await store.getState().startFlash();
    off();
    expect(outcome).toMatchObject({ ok: true });
    expect(store.getState().job.protocol).toBe('mcuboot-smp');
    // Before: the factory image 1.0.0, running and confirmed.
    expect(seen[0]?.['mode']).toBe('application with MCUmgr');
    expect(seen[0]?.['image-0-slot-0']).toMatch(/^1\.0\.0 \(active, confirmed\) [0-9a-f]{16}…$/);
    // After the restart: 1.1.0 runs and is confirmed; 1.0.0 waits in slot 1.
    const after = facts(store);
    expect(after['image-0-slot-0']).toMatch(/^1\.1\.0 \(active, confirmed\) [0-9a-f]{16}…$/);
    expect(after['image-0-slot-1']).toMatch(/^1\.0\.0 /);
    expect(store.getState().device?.chip).toBe('nrf52840');
    const log = messages(store).join('\n');
    expect(log).toMatch(/Uploading app 1\.1\.0/);
    expect(log).toMatch(/Marking image 0 for test/);
    expect(log).toMatch(/The board answers again after the reset/);
    expect(log).toMatch(/Confirming image 0 1\.1\.0/);
  });

  it('leaves confirmation to the application when the target says so', async () => {
    const { store } = await setup('nrf52840-mcuboot', 'application');
    expect(await store.getState().startFlash()).toMatchObject({ ok: true });
    expect(facts(store)['image-0-slot-0']).toMatch(/^1\.1\.0 \(active\) /);
    expect(messages(store).join('\n')).toMatch(/the application is to confirm it/);
  });

  it('sends nothing when the same image is already on the device', async () => {
    const { lab, store } = await setup('nrf52840-mcuboot');
    expect(await store.getState().startFlash()).toMatchObject({ ok: true });
    const programmed = lab.flashCounters('nrf52840-mcuboot')!.programmedBytes;
    expect(await store.getState().startFlash()).toMatchObject({ ok: true });
    expect(messages(store).join('\n')).toMatch(
      /app 1\.1\.0 is already on the device \(running, same hash\); nothing to send/,
    );
    expect(lab.flashCounters('nrf52840-mcuboot')!.programmedBytes).toBe(programmed);
  });

  it('a cable pulled mid-upload: plugged back, the upload goes on from the board’s offset', async () => {
    const { lab, store } = await setup('nrf52840-mcuboot');
    lab.unplugAfter(8000);
    let replugged = false;
    const off = store.subscribe((s) => {
      if (!replugged && s.log.entries.some((e) => /went away at byte/.test(e.message))) {
        replugged = true;
        queueMicrotask(() => lab.plug());
      }
    });
    const outcome = await store.getState().startFlash();
    off();
    expect(outcome).toMatchObject({ ok: true });
    const log = messages(store);
    const gone = log.find((m) => /went away at byte/.test(m))!;
    const resumed = log.find((m) => /^Resuming app at byte/.test(m));
    const at = Number(/at byte (\d+) of/.exec(resumed ?? '')?.[1]);
    expect(gone, log.join('\n')).toBeDefined();
    expect(at).toBeGreaterThan(0);
    expect(at).toBeGreaterThanOrEqual(Number(/at byte (\d+)/.exec(gone)![1]));
    expect(log.some((m) => /starting it again/.test(m))).toBe(false);
    // The image went over once: one first chunk, and the data sent adds up to the image plus
    // at most the chunk whose reply was lost.
    const uploads = (lab.board('nrf52840-mcuboot') as McubootBoardHandle).device.traffic.filter(
      (t) => t.header.group === 1 && t.header.id === 1 && t.body['data'] instanceof Uint8Array,
    );
    expect(uploads.filter((t) => t.body['off'] === 0)).toHaveLength(1);
    const sent = uploads.reduce((n, t) => n + (t.body['data'] as Uint8Array).length, 0);
    expect(sent).toBeLessThan(APP.length + 384);
    expect(facts(store)['image-0-slot-0']).toMatch(/^1\.1\.0 \(active, confirmed\)/);
  });
});

describe('the demo bundle (public/demo/demo.fwb)', () => {
  it('updates the virtual nRF52840 with its MCUboot image, signed with the simulator’s key', async () => {
    const bytes = new Uint8Array(
      readFileSync(new URL('../../public/demo/demo.fwb', import.meta.url)),
    );
    const trustRoot = await pinnedRoot({ mode: 'demo' });
    const now = new Date('2026-11-15T00:00:00Z');
    const { store } = await setup('nrf52840-mcuboot', undefined, { bytes, trustRoot, now });
    expect(await store.getState().startFlash()).toMatchObject({ ok: true });
    expect(facts(store)['image-0-slot-0']).toMatch(/^1\.2\.0 \(active, confirmed\)/);
  });
});

describe('nRF52840 DK in MCUboot serial recovery', () => {
  it('uploads into the primary slot and restarts the board', async () => {
    const { store } = await setup('nrf52840-recovery');
    expect(await store.getState().startFlash()).toMatchObject({ ok: true });
    expect(store.getState().device).toMatchObject({ protocol: 'mcuboot-smp', chip: 'nrf52840' });
    expect(facts(store).mode).toBe('MCUboot serial recovery');
  });
});
