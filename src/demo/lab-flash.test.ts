/**
 * The technician app's protocol selection and connectors, end to end in Node on a VirtualClock:
 * the demo lab's virtual STM32 boards and USB DFU devices, the browser services' connectors
 * (src/technician/browser/browser-services.ts) over the fake Web Serial and WebUSB, the real drivers, and
 * the store — as the page runs them, minus React and the workers.
 */
import { describe, expect, it } from 'vitest';
import { createBundle } from '../bundle/create.ts';
import { sleep } from '../core/clock.ts';
import type { Stm32SimBoardHandle } from '../sim/stm32/boards.ts';
import { deviceFacts, READ_PROTECTED_RECOVERY } from '../technician/state/index.ts';
import { CREATED, EXPIRES, key } from '../../test/bundle/fixtures.ts';
import type { DemoLab } from './lab.ts';
import { labStoreOpener, type LabStore } from '../../test/demo/lab-store.ts';
import { loadDrivers } from '../protocols/registry.ts';

// Drivers load before any job, so loading takes no time on the virtual clock.
await loadDrivers();

/** A small Cortex-M-like image: a vector table, then a pattern. */
const IMAGE = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);

/** Targets as in the demo bundle: ESP, STM32F4 over USART and DfuSe, and the DFU gadget. */
function bundle(): Uint8Array {
  return createBundle({
    manifest: {
      product: 'lab-test',
      version: '1.0.0',
      securityCounter: 1,
      created: CREATED,
      expires: EXPIRES,
      notes: 'Store and connector tests.',
      targets: [
        { chip: 'esp32s3', protocol: 'esp-serial', images: [{ name: 'app', address: 0x10000 }] },
        {
          chip: 'stm32f4',
          protocol: 'stm32-usart',
          images: [{ name: 'app', address: 0x08000000 }],
        },
        {
          chip: 'stm32f4',
          protocol: 'dfuse',
          usb: { vendorId: 0x0483, productId: 0xdf11 },
          images: [{ name: 'app', address: 0x08000000 }],
        },
        {
          chip: 'example-gadget',
          protocol: 'dfu',
          usb: { vendorId: 0x1209, productId: 0x0001 },
          images: [{ name: 'app', slot: 0 }],
        },
      ],
    },
    images: { app: IMAGE },
    signers: [key(1), key(2)],
  });
}

const open = labStoreOpener();
const setup = (): Promise<LabStore> => open(bundle());

function flashOf(lab: DemoLab, name: string): Uint8Array {
  const board = lab.board(name) as Stm32SimBoardHandle;
  return board.flash.read(board.flash.baseAddress, IMAGE.length);
}

describe('STM32 over a serial port', () => {
  it('picks the STM32 protocol from the bundle and the board, and flashes and verifies', async () => {
    const { lab, store } = await setup();
    expect(await store.getState().choosePort({ board: 'stm32f4' })).toBe(true);
    expect(store.getState().port?.protocolHint).toBe('stm32-usart');
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({ ok: true });
    const s = store.getState();
    expect(s.job.protocol).toBe('stm32-usart');
    expect(s.device).toMatchObject({ protocol: 'stm32-usart', chip: 'stm32f4' });
    expect(outcome?.ok && outcome.regions[0]).toMatchObject({ name: 'app', verified: true });
    expect(flashOf(lab, 'stm32f4')).toEqual(IMAGE);
    const facts = Object.fromEntries(deviceFacts(s.device!).map((f) => [f.key, f.value]));
    expect(facts).toMatchObject({
      'product-id': '0x413',
      'read-protection': 'off',
      'flash-size': '1.00 MiB',
    });
    expect(facts['bootloader']).toBe('USART protocol 3.1, bootloader ID 0x91 (V9.1)');
    // 'auto' on an STM32: the USART bootloader's highest tested rate, which the CP2102 carries.
    expect(s.settings.baudRate).toBe('auto');
    expect(s.log.entries.some((e) => /flashing at 115200 baud/.test(e.message))).toBe(true);
  });

  it('stops at a read-protected STM32 with nothing written, then unprotects when allowed', async () => {
    const { lab, store } = await setup();
    await store.getState().choosePort({ board: 'stm32f4-rdp' });
    const refused = await store.getState().startFlash();
    expect(refused).toMatchObject({
      ok: false,
      cancelled: false,
      flashTouched: false,
      recovery: READ_PROTECTED_RECOVERY,
      error: { code: 'protocol.read-protected' },
    });
    const counters = lab.flashCounters('stm32f4-rdp')!;
    expect(counters.programOps).toBe(0);
    expect(counters.chipErases + counters.sectorErases.reduce((a, b) => a + b, 0)).toBe(0);
    const facts = deviceFacts(store.getState().device!);
    expect(facts.find((f) => f.key === 'read-protection')?.value).toBe('on (level 1)');

    store.getState().setAllowReadoutUnprotect(true);
    const done = await store.getState().startFlash();
    expect(done?.ok).toBe(true);
    expect(lab.flashCounters('stm32f4-rdp')!.chipErases).toBe(1);
    expect(flashOf(lab, 'stm32f4-rdp')).toEqual(IMAGE);
    // The chip-erasing permission does not outlive the job.
    expect(store.getState().settings.allowReadoutUnprotect).toBe(false);
  });

  it('refuses the wrong chip before writing anything', async () => {
    const { lab, store } = await setup();
    await store.getState().choosePort({ board: 'stm32f1' });
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({
      ok: false,
      flashTouched: false,
      error: { code: 'bundle.rejected', reason: 'target.mismatch' },
    });
    expect(store.getState().device?.chip).toBe('stm32f1');
    expect(lab.flashCounters('stm32f1')!.programOps).toBe(0);
  });

  it('uses the ESP protocol when the technician forces it', async () => {
    const { store } = await setup();
    await store.getState().choosePort({ board: 'stm32f4' });
    store.getState().setSerialProtocol('esp-serial');
    expect(store.getState().settings.serialProtocol).toBe('esp-serial');
    store.getState().setSerialProtocol('z80' as 'auto');
    expect(store.getState().settings.serialProtocol).toBe('esp-serial');
    const outcome = await store.getState().startFlash();
    expect(outcome?.ok).toBe(false);
    expect(store.getState().job.protocol).toBe('esp-serial');
  });
});

describe('DFU devices over USB', () => {
  it('requests the device with the bundle’s USB ids and flashes a DfuSe STM32F405', async () => {
    const { lab, store, clock } = await setup();
    store.getState().setTransport('usb');
    expect(await store.getState().chooseUsbDevice({ device: 'stm32f405-dfu' })).toBe(true);
    const chosen = store.getState().usbDevice!;
    expect(chosen.label).toBe('Virtual STM32F405 in DFU mode (DfuSe)');
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({ ok: true });
    const s = store.getState();
    expect(s.job.protocol).toBe('dfuse');
    expect(s.device?.chip).toBe('stm32f4');
    expect(outcome?.ok && outcome.regions[0]?.verified).toBe(true);
    const facts = Object.fromEntries(
      deviceFacts(s.device!, chosen.handle.info).map((f) => [f.key, f.value]),
    );
    expect(facts).toMatchObject({
      'usb-id': '0483:df11',
      'transfer-size': '2048 bytes',
    });
    expect(facts['dfu-version']).toMatch(/^DfuSe \(DFU 1\.1a/);
    expect(facts['memory-layout']).toMatch(
      /^Internal Flash at 0x08000000: 4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB; Option Bytes/,
    );
    // "Leave DFU" started the application: the device leaves the bus.
    await sleep(clock, 10);
    expect(lab.state.getState().plugged).toBe(false);
    expect(lab.flashCounters('stm32f405-dfu')!.programmedBytes).toBe(IMAGE.length);
  });

  it('asks for the gadget again after it re-enumerates in DFU mode, then flashes it', async () => {
    const { store } = await setup();
    store.getState().setTransport('usb');
    await store.getState().chooseUsbDevice({ device: 'generic-dfu' });
    const prompts: string[] = [];
    let answered: Promise<boolean> | undefined;
    const off = store.subscribe((s) => {
      if (s.job.reselect && prompts.length === 0) {
        prompts.push(s.job.reselect.reason);
        expect(s.job.reselect.filters).toEqual([{ vendorId: 0x1209 }]);
        answered = store.getState().chooseDeviceAgain();
      }
    });
    const outcome = await store.getState().startFlash();
    off();
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/new USB device/);
    expect(await answered).toBe(true);
    expect(outcome).toMatchObject({ ok: true });
    const s = store.getState();
    expect(s.job.reselect).toBeUndefined();
    expect(s.job.protocol).toBe('dfu');
    expect(s.device).toMatchObject({ protocol: 'dfu', chip: 'example-gadget' });
    expect(deviceFacts(s.device!).find((f) => f.key === 'dfu-version')?.value).toBe('DFU 1.1.0');
  });

  it('keeps waiting when the chooser is cancelled, and a cancel ends the job', async () => {
    const { lab, store } = await setup();
    store.getState().setTransport('usb');
    await store.getState().chooseUsbDevice({ device: 'generic-dfu' });
    const flashing = store.getState().startFlash();
    await new Promise<void>((resolve) => {
      const off = store.subscribe((s) => {
        if (s.job.reselect) {
          off();
          resolve();
        }
      });
    });
    lab.unplug(); // the DFU-mode gadget leaves: nothing for the chooser to show
    expect(await store.getState().chooseDeviceAgain()).toBe(false);
    expect(store.getState().job.reselect?.error?.code).toBe('transport.no-port-selected');
    store.getState().cancelFlash();
    const outcome = await flashing;
    expect(outcome).toMatchObject({ ok: false, cancelled: true });
    expect(store.getState().job.reselect).toBeUndefined();
  });

  it('refuses a USB flash when the bundle has no USB target', async () => {
    const { store } = await setup();
    const serialOnly = createBundle({
      manifest: {
        product: 'lab-test',
        version: '1.0.1',
        securityCounter: 1,
        created: CREATED,
        expires: EXPIRES,
        notes: '',
        targets: [
          {
            chip: 'stm32f4',
            protocol: 'stm32-usart',
            images: [{ name: 'app', address: 0x08000000 }],
          },
        ],
      },
      images: { app: IMAGE },
      signers: [key(1), key(2)],
    });
    await store.getState().loadBundle({ kind: 'bytes', name: 's.fwb', bytes: serialOnly });
    store.getState().setTransport('usb');
    await store.getState().chooseUsbDevice({ device: 'stm32f405-dfu' });
    const outcome = await store.getState().startFlash();
    expect(outcome).toMatchObject({
      ok: false,
      flashTouched: false,
      error: { code: 'usage.invalid-argument' },
    });
    expect(store.getState().job).toMatchObject({ running: false, phase: 'failed' });
  });
});
