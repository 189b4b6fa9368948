/**
 * Debian's dfu-util 0.11, a real libusb program, drives the simulated STM32F405 DfuSe
 * bootloader and the generic DFU 1.1 gadget through the libusb stand-in
 * (tools/usb-bridge/libusb-bridge.c) and the simulator's USB server, in real time: listing,
 * DfuSe download and upload, a DfuSe file made by `webflash dfu pack`, DFU 1.1 downloads with
 * and without manifestation tolerance, a stalled request cleared by CLRSTATUS, and detach.
 * Skipped, with the reason printed, where dfu-util, gcc or the libusb headers are missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dfuCommand } from '../../src/cli/dfu-cmd.ts';
import { realClock } from '../../src/core/clock.ts';
import { DfuRequest, DfuState, DfuStatus } from '../../src/protocols/dfu/dfu-spec.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { DfuseBoardHandle, GadgetBoardHandle } from '../../src/sim/dfu/boards.ts';
import { STM32F405_INTERFACE_STRINGS } from '../../src/sim/dfu/dfuse-sim.ts';
import { GenericDfuBoard, type GenericDfuDevice } from '../../src/sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { W25Q32_TIMING } from '../../src/sim/flash-model.ts';
import { pattern } from './rig.ts';
import {
  DFU_UTIL,
  closeServers,
  missingTools,
  nextBusEvent,
  runWithBridge,
  serve,
} from './usb-bridge-rig.ts';

const missing = missingTools();
if (missing) console.warn(`${missing}: dfu-util against the USB simulators skipped`);

const FLASH = 0x08000000;
const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'webflash-dfu-util-'));
const children: ChildProcess[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  // npm runs the simulator in a child of its own: stop the whole process group.
  for (const c of children.splice(0)) {
    if (c.pid === undefined || c.exitCode !== null) continue;
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await closeServers();
});

/** Runs `npm args`; with `until`, resolves (leaving it running) once its output matches. */
function npm(args: string[], until?: RegExp): Promise<{ code: number; out: string }> {
  const child = spawn('npm', args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (until?.test(out)) resolve({ code: 0, out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

function dfuse(): DfuseBoardHandle {
  return createBoard('stm32f405-dfuse', { clock: realClock }) as DfuseBoardHandle;
}

/** A gadget already in DFU mode (1209:0002), optionally holding an image. */
function gadgetInDfuMode(options: { manifestationTolerant: boolean; image?: Uint8Array }) {
  const bus = new SimUsbBus();
  const board = new GenericDfuBoard({
    clock: realClock,
    bus,
    timing: W25Q32_TIMING,
    manifestationTolerant: options.manifestationTolerant,
    startInDfuMode: true,
  });
  if (options.image) {
    board.flash.load(0, options.image);
    board.imageLength = options.image.length;
  }
  return { bus, board };
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const dfuUtil = (addresses: string[], args: string[]) =>
  runWithBridge(addresses, DFU_UTIL, args, dir);

describe.skipIf(missing !== undefined)('dfu-util 0.11 against the USB simulators', () => {
  it('-l lists the DfuSe bootloader with its four alternate settings and the run-time gadget', async () => {
    const stm = dfuse();
    const gadget = createBoard('dfu11-gadget', { clock: realClock }) as GadgetBoardHandle;
    const addresses = [await serve(stm.usb), await serve(gadget.usb)];
    const { code, out } = await dfuUtil(addresses, ['-l']);
    expect(code, out).toBe(0);
    STM32F405_INTERFACE_STRINGS.forEach((name, alt) => {
      expect(out).toContain(
        `Found DFU: [0483:df11] ver=2200, devnum=1, cfg=1, intf=0, path="1-1", alt=${alt}, name="${name}", serial="336F38673231"`,
      );
    });
    expect(out).toContain(
      'Found Runtime: [1209:0001] ver=0100, devnum=1, cfg=1, intf=0, path="2-1", alt=0, name="Example Gadget DFU", serial="GADGET0001"',
    );
  });

  it('through the command line: npm run sim --usb-listen --image, npm run sim:usb-run -- dfu-util -l and -U', async () => {
    const list = await npm(['run', '-s', 'sim', '--', '--list']);
    expect(list.out).toMatch(/^stm32f405-dfuse +USB: STM32F405 system bootloader/m);
    expect(list.out).toMatch(/^dfu11-gadget +USB: generic DFU 1.1 gadget/m);
    const firmware = pattern(2048, 21);
    const image = file('cli-image.bin', firmware);
    const sim = await npm(
      [
        'run',
        '-s',
        'sim',
        '--',
        '--board',
        'stm32f405-dfuse',
        '--usb-listen',
        '127.0.0.1:0',
        '--image',
        `0x08000000:${image}`,
      ],
      /usb listening on (\S+)\n/,
    );
    const address = /usb listening on (\S+)\n/.exec(sim.out)![1]!;
    const run = (...args: string[]) =>
      npm(['run', '-s', 'sim:usb-run', '--', address, '--', DFU_UTIL, ...args]);
    const r = await run('-l');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(
      `Found DFU: [0483:df11] ver=2200, devnum=1, cfg=1, intf=0, path="1-1", alt=0, name="${STM32F405_INTERFACE_STRINGS[0]}", serial="336F38673231"`,
    );
    const back = join(dir, 'cli-back.bin');
    const u = await run('-a', '0', '-s', '0x08000000:2048', '-U', back);
    expect(u.code, u.out).toBe(0);
    expect(new Uint8Array(readFileSync(back))).toEqual(firmware);
  });

  it('the libusb calls dfu-util does not make: open by ids, ASCII strings, configuration, no bulk', async () => {
    const probe = join(dir, 'libusb-probe');
    const source = new URL('./fixtures/libusb-probe.c', import.meta.url).pathname;
    const cc = spawnSync('gcc', [
      '-O',
      '-I/usr/include/libusb-1.0',
      '-o',
      probe,
      source,
      '-lusb-1.0',
    ]);
    expect(cc.status, cc.stderr.toString()).toBe(0);
    const stm = dfuse();
    const r = await runWithBridge([await serve(stm.usb)], probe, ['0483', 'df11'], dir);
    expect(r.code, r.out).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'devices 1, same object in two lists 1',
      'product 17 "STM32  BOOTLOADER"',
      'configuration 0 1',
      'set configuration 7: LIBUSB_ERROR_PIPE',
      'kernel driver active 0, detach LIBUSB_ERROR_NOT_FOUND',
      'bulk: LIBUSB_ERROR_NOT_SUPPORTED (Operation not supported or unimplemented on this platform), transferred 0',
      'speed 2, bus 1, address 1',
      '',
    ]);
  });

  it('DfuSe: -D a raw image at 0x08000000 with :leave, then -U reads it back byte-identical', async () => {
    const stm = dfuse();
    const address = await serve(stm.usb, () => stm.enterBootloader?.());
    const image = pattern(40 * 1024, 7); // sectors 0..2 (16 KiB each)
    const left = nextBusEvent(stm.usb, 'detach');
    const dl = await dfuUtil(
      [address],
      ['-a', '0', '-s', `0x${FLASH.toString(16)}:leave`, '-D', file('image.bin', image)],
    );
    expect(dl.code, dl.out).toBe(0);
    expect(dl.out).toContain('File downloaded successfully');
    expect(dl.out).toContain('Transitioning to dfuMANIFEST state');
    await left; // "leave DFU": the chip jumped to 0x08000000 and left the bus (AN3156 §6.5)
    expect(stm.device.jumpedTo).toBe(FLASH);
    expect(stm.flash.read(FLASH, image.length)).toEqual(image);
    expect(stm.flash.counters.sectorErases.slice(0, 5)).toEqual([1, 1, 1, 0, 0]);
    expect(stm.flash.counters.programsOverNonErased).toBe(0);

    // The next client finds the board powered on again in its bootloader (BOOT0 held).
    const back = join(dir, 'back.bin');
    const ul = await dfuUtil(
      [address],
      ['-a', '0', '-s', `0x${FLASH.toString(16)}:${image.length}`, '-U', back],
    );
    expect(ul.code, ul.out).toBe(0);
    expect(new Uint8Array(readFileSync(back))).toEqual(image);
  });

  it('DfuSe: -D a .dfu file made by `webflash dfu pack` writes its element where it says', async () => {
    const app = pattern(20 * 1024, 3);
    file('app.bin', app);
    const out = join(dir, 'app.dfu');
    const text: string[] = [];
    const io = { out: (t: string) => void text.push(t), err: (t: string) => void text.push(t) };
    const packed = await dfuCommand.run(['pack', '--out', out, 'app.bin@0x08004000'], {
      ...io,
      cwd: dir,
    });
    expect(packed, text.join('')).toBe(0);
    const stm = dfuse();
    const r = await dfuUtil([await serve(stm.usb)], ['-a', '0', '-D', out]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Match vendor ID from file: 0483');
    expect(r.out).toContain('address = 0x08004000, size = 20480');
    expect(r.out).toContain('Done parsing DfuSe file');
    expect(stm.flash.read(0x08004000, app.length)).toEqual(app);
    expect(stm.flash.counters.sectorErases.slice(0, 4)).toEqual([0, 1, 1, 0]);
    expect(stm.device.state).toBe(DfuState.dfuIDLE); // aborted to idle, still in DFU mode
  });

  it('DFU 1.1, manifestation tolerant: detach from run-time, download, back to dfuIDLE', async () => {
    const g = createBoard('dfu11-gadget', { clock: realClock }) as GadgetBoardHandle;
    const image = pattern(20_000, 11);
    // -E 1: dfu-util waits one second for the gadget to re-enumerate in DFU mode (50 ms).
    const r = await dfuUtil([await serve(g.usb)], ['-E', '1', '-D', file('g1.bin', image)]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('DFU state(0) = appIDLE');
    expect(r.out).toContain('Resetting USB...');
    expect(r.out).toContain('Device returned transfer size 1024');
    expect(r.out).toMatch(/DFU state\(7\) = dfuMANIFEST[^\n]*\nDFU state\(2\) = dfuIDLE/);
    expect(r.out).toContain('Done!');
    expect(g.gadget.image()).toEqual(image);
    expect(g.gadget.current.runtime).toBe(false);
    expect(g.gadget.current.state).toBe(DfuState.dfuIDLE);
  });

  it('DFU 1.1, not manifestation tolerant: dfuMANIFEST-WAIT-RESET, the USB reset starts the firmware', async () => {
    const { bus, board } = gadgetInDfuMode({ manifestationTolerant: false });
    const image = pattern(12_345, 5);
    const booted = nextBusEvent(bus, 'attach', (d) => (d as GenericDfuDevice).runtime);
    const r = await dfuUtil([await serve(bus)], ['-D', file('g2.bin', image)]);
    expect(r.out).toContain('DFU state(7) = dfuMANIFEST');
    expect(r.out).toContain('DFU state(8) = dfuMANIFEST-WAIT-RESET');
    expect(r.out).toMatch(/Resetting USB to switch back to runtime mode\nDone!/);
    // The gadget reboots on the reset and comes back as another device, so libusb_reset_device
    // answers LIBUSB_ERROR_NOT_FOUND (Linux: usbfs reset gives ENODEV). dfu-util 0.11 prints
    // "Done!" and then returns that value from dfuload_do_dnload, which main() turns into
    // EX_IOERR (74).
    expect(r.code, r.out).toBe(74);
    await booted;
    expect(board.boots).toBe(1);
    expect(board.image()).toEqual(image);
  });

  it('DFU 1.1: -R ends the update with DFU_DETACH (stalled in DFU mode) and a USB reset that starts the firmware', async () => {
    const { bus, board } = gadgetInDfuMode({ manifestationTolerant: true });
    const image = pattern(6000, 2);
    const booted = nextBusEvent(bus, 'attach', (d) => (d as GenericDfuDevice).runtime);
    const r = await dfuUtil([await serve(bus)], ['-R', '-D', file('g3.bin', image)]);
    expect(r.out).toMatch(/DFU state\(2\) = dfuIDLE[^\n]*\nDone!/);
    expect(r.out).toContain("can't detach");
    expect(r.out).toContain('Resetting USB to switch back to Run-Time mode');
    // main() returns libusb_reset_device's LIBUSB_ERROR_NOT_FOUND (-5) as the exit status.
    expect(r.code, r.out).toBe(251);
    await booted;
    expect(board.boots).toBe(1);
    expect(board.image()).toEqual(image);
  });

  it('a stalled DFU_UPLOAD (wLength over wTransferSize) leaves dfuERROR; the next run clears it', async () => {
    const image = pattern(3000, 9);
    const { bus, board } = gadgetInDfuMode({ manifestationTolerant: true, image });
    const address = await serve(bus);
    const bad = await dfuUtil([address], ['-t', '4096', '-U', join(dir, 'up1.bin')]);
    expect(bad.code, bad.out).not.toBe(0);
    expect(bad.out).toContain('Error during upload (LIBUSB_ERROR_PIPE)');
    const device = board.current;
    expect(device.state).toBe(DfuState.dfuERROR);
    expect(device.status).toBe(DfuStatus.errSTALLEDPKT);

    const up = join(dir, 'up2.bin');
    const good = await dfuUtil([address], ['-U', up]);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toContain('DFU state(10) = dfuERROR, status(15)');
    expect(good.out).toContain('Clearing status');
    expect(device.trace.some((t) => t.request === DfuRequest.CLRSTATUS && !t.stalled)).toBe(true);
    expect(new Uint8Array(readFileSync(up))).toEqual(image);
  });

  it('DfuSe: SET_ADDRESS outside the memory answers errTARGET; the next run clears it', async () => {
    const stm = dfuse();
    const address = await serve(stm.usb);
    const bad = await dfuUtil(
      [address],
      ['-a', '0', '-s', '0x08100000:force:16', '-U', join(dir, 'x.bin')],
    );
    expect(bad.code, bad.out).not.toBe(0);
    expect(bad.out).toContain('SET_ADDRESS not correctly executed');
    expect(stm.device.state).toBe(DfuState.dfuERROR);
    expect(stm.device.status).toBe(DfuStatus.errTARGET);
    const good = await dfuUtil(
      [address],
      ['-a', '0', '-s', '0x08000000:16', '-U', join(dir, 'y.bin')],
    );
    expect(good.code, good.out).toBe(0);
    expect(good.out).toContain('DFU state(10) = dfuERROR, status(1)');
    expect(good.out).toContain('Clearing status');
  });

  it('-e detaches the run-time gadget: DFU_DETACH, USB reset, back as 1209:0002 in dfuIDLE', async () => {
    const g = createBoard('dfu11-gadget', { clock: realClock }) as GadgetBoardHandle;
    const address = await serve(g.usb);
    const inDfu = nextBusEvent(g.usb, 'attach', (d) => !(d as GenericDfuDevice).runtime);
    const r = await dfuUtil([address], ['-e']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Device really in Run-Time Mode, send DFU detach request...');
    expect(r.out).toContain('Resetting USB...');
    await inDfu;
    const l = await dfuUtil([address], ['-l']);
    expect(l.out).toContain('Found DFU: [1209:0002] ver=0100, devnum=2');
    expect(g.gadget.current.state).toBe(DfuState.dfuIDLE);
  });

  it('-e on the DfuSe bootloader: DFU_DETACH is not a DFU-mode request and is stalled', async () => {
    const stm = dfuse();
    const address = await serve(stm.usb);
    const r = await dfuUtil([address], ['-a', '0', '-e']);
    expect(r.code, r.out).toBe(0); // dfu-util only warns
    expect(r.out).toContain("can't detach");
    expect(stm.device.state).toBe(DfuState.dfuERROR);
    expect(stm.device.status).toBe(DfuStatus.errSTALLEDPKT);
    expect(stm.usb.devices).toContain(stm.device); // still on the bus, in DFU mode
  });
});
