/**
 * The DfuSe client and driver against the simulated STM32F405 bootloader, through the fake
 * navigator.usb and the WebUSB adapter, in virtual time: sector erase of only what an image
 * touches, DfuSe block addressing, read-back verification, alternate settings, read-out
 * protection, leave DFU, and resuming after the board vanished.
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/clock.ts';
import { VerificationError } from '../../src/core/errors.ts';
import { checkPlacement } from '../../src/job/placement.ts';
import { confirmedBytesOf } from '../../src/protocols/driver.ts';
import { DfuRequestError } from '../../src/protocols/dfu/dfu-client.ts';
import { DfuseClient } from '../../src/protocols/dfu/dfuse-client.ts';
import { connectDfuse } from '../../src/protocols/dfu/dfuse-driver.ts';
import { openDfu } from '../../src/protocols/dfu/dfu-open.ts';
import { DfuRequest, DfuState, DfuStatus } from '../../src/protocols/dfu/dfu-spec.ts';
import { WebUsbWatcher } from '../../src/transport/webusb.ts';
import { SimUsbWatcher } from '../../src/sim/usb/sim-usb.ts';
import { dfuseRig, pattern } from './rig.ts';

const FLASH = 0x08000000;

describe('DfuSe driver', () => {
  it('identifies the STM32F405 from its flash map', async () => {
    const rig = await dfuseRig();
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    expect(s.identity).toMatchObject({
      protocol: 'dfuse',
      chip: 'stm32f4',
      flashSize: 1024 * 1024,
      bootloaderVersion: 'DfuSe V2.2',
      uniqueId: '336F38673231',
    });
    expect(s.identity.details).toMatchObject({
      'alt 0': 'Internal Flash',
      'alt 1': 'Option Bytes',
      'alt 2': 'OTP Memory',
      'alt 3': 'Device Feature',
      wTransferSize: '2048',
    });
    await s.close();
  });

  it('reports the writable memory it found, which the engine checks placement against', async () => {
    const rig = await dfuseRig();
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    expect(s.flashRanges?.[0]).toEqual({
      start: FLASH,
      end: FLASH + 0x100000,
      name: 'Internal Flash',
    });
    // One range across the 16 KiB, 64 KiB and 128 KiB sectors (AN2606: STM32F405 flash map).
    const data = new Uint8Array(0x30000);
    expect(() =>
      checkPlacement([{ name: 'fw', address: FLASH, data }], s.flashRanges),
    ).not.toThrow();
    expect(() =>
      checkPlacement([{ name: 'fw', address: FLASH + 0xf0000, data }], s.flashRanges),
    ).toThrow(expect.objectContaining({ code: 'plan.out-of-flash' }) as Error);
    await s.close();
  });

  it('erases only the sectors the image touches, writes byte for byte, verifies by read-back', async () => {
    const rig = await dfuseRig();
    const keep = pattern(16384, 77);
    rig.device.flash.load(FLASH, keep); // sector 0 holds a bootloader that must survive
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    const image = pattern(40_000, 5);
    const start = rig.clock.now();
    const phases = new Set<string>();
    await s.write(
      { name: 'app', address: 0x08004000, data: image },
      { onProgress: (p) => phases.add(p.phase) },
    );
    const elapsed = rig.clock.now() - start;
    expect([...phases]).toEqual(['erase', 'write']);
    // sectors 1, 2 and 3 (16 KiB each) are erased once, nothing else
    expect(rig.device.flash.counters.sectorErases).toEqual([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(rig.device.flash.read(FLASH, 16384)).toEqual(keep);
    expect(rig.device.flash.read(0x08004000, image.length)).toEqual(image);
    // bwPollTimeout honoured: three 16 KiB erases of 250 ms each and 20 blocks of 2 KiB
    expect(elapsed).toBeGreaterThanOrEqual(3 * 250 + 20 * 9);
    expect(elapsed).toBeLessThan(3 * 250 + 20 * 9 + 500);
    expect(rig.device.trace.some((t) => t.stalled)).toBe(false);
    await s.verify({ name: 'app', address: 0x08004000, data: image }, {});
    rig.device.flash.program(0x08004000 + 1234, new Uint8Array([0])); // a bit flips on the board
    await expect(s.verify({ name: 'app', address: 0x08004000, data: image }, {})).rejects.toThrow(
      VerificationError,
    );
    await expect(s.verify({ name: 'app', address: 0x08004000, data: image }, {})).rejects.toThrow(
      /0x80044d2/,
    );
  });

  it('uses DfuSe block numbers: Set Address Pointer, then wBlockNum 2, 3, … (AN3156 §6)', async () => {
    const rig = await dfuseRig();
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    await s.write({ name: 'app', address: 0x08020000, data: pattern(5000) }, {});
    const dnloads = rig.device.trace.filter((t) => t.request === DfuRequest.DNLOAD);
    expect(dnloads.map((t) => [t.value, t.length])).toEqual([
      [0, 5], // erase 0x08020000
      [0, 5], // set address pointer
      [2, 2048],
      [3, 2048],
      [4, 904],
    ]);
    await s.verify({ name: 'app', address: 0x08020000, data: pattern(5000) }, {});
    const uploads = rig.device.trace.filter((t) => t.request === DfuRequest.UPLOAD);
    expect(uploads.map((t) => [t.value, t.length])).toEqual([
      [2, 2048],
      [3, 2048],
      [4, 904],
    ]);
  });

  it('mass erase when asked', async () => {
    const rig = await dfuseRig();
    const s = await connectDfuse(rig.handle, {
      clock: rig.clock,
      logger: rig.logger,
      erase: 'mass',
    });
    const start = rig.clock.now();
    await s.write({ name: 'app', address: FLASH, data: pattern(100) }, {});
    expect(rig.device.flash.counters.chipErases).toBe(1);
    expect(rig.device.flash.counters.sectorErases.every((n) => n === 0)).toBe(true);
    expect(rig.clock.now() - start).toBeGreaterThanOrEqual(8000); // STM32F4 mass erase, reported honestly
  });

  it('writes option bytes through alternate setting 1', async () => {
    const rig = await dfuseRig();
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    const bytes = new Uint8Array(16).fill(0x5a);
    bytes[1] = 0xaa;
    await s.write({ name: 'options', address: 0x1fffc000, data: bytes }, {});
    await s.verify({ name: 'options', address: 0x1fffc000, data: bytes }, {});
    expect(rig.device.memories[1]!.bytes).toEqual(bytes);
    await expect(
      s.write({ name: 'x', address: 0x20000000, data: new Uint8Array(4) }, {}),
    ).rejects.toMatchObject({ code: 'protocol.unsupported' });
  });

  it('leave DFU jumps to the application and drops off the bus', async () => {
    const rig = await dfuseRig();
    const left: number[] = [];
    rig.device['onLeaveCb' as never] = ((a: number) => left.push(a)) as never;
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    await s.write({ name: 'app', address: 0x08008000, data: pattern(100) }, {});
    await s.reset();
    await sleep(rig.clock, 20);
    expect(rig.device.jumpedTo).toBe(0x08008000);
    expect(rig.bus.devices).toHaveLength(0);
    expect(rig.handle.connected).toBe(false);
  });

  it('read protection: writes fail as protocol.read-protected; removing it erases the chip and it comes back', async () => {
    const rig = await dfuseRig({ readProtected: true });
    rig.device.flash.load(FLASH, pattern(64));
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    const err = await s
      .write({ name: 'app', address: FLASH, data: pattern(64) }, {})
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'protocol.read-protected', status: DfuStatus.errVENDOR });
    await expect(
      s.verify({ name: 'app', address: FLASH, data: pattern(64) }, {}),
    ).rejects.toMatchObject({ code: 'protocol.read-protected' });
    await s.removeReadProtection();
    await sleep(rig.clock, 10); // the chip resets and leaves the bus
    expect(rig.handle.connected).toBe(false);
    const watcher = new WebUsbWatcher(rig.webOptions);
    const back = await watcher.waitForDevice([{ vendorId: 0x0483, productId: 0xdf11 }], {
      timeoutMs: 20_000,
    });
    expect(rig.device.flash.isErased(FLASH, 1024 * 1024)).toBe(true);
    const s2 = await connectDfuse(back, { clock: rig.clock, logger: rig.logger });
    await s2.write({ name: 'app', address: FLASH, data: pattern(64) }, {});
    await s2.verify({ name: 'app', address: FLASH, data: pattern(64) }, {});
  });

  it('resumes after the board vanished mid-write, without erasing finished sectors again', async () => {
    const rig = await dfuseRig();
    const image = pattern(100_000, 3);
    const s = await connectDfuse(rig.handle, { clock: rig.clock, logger: rig.logger });
    rig.clock.setTimer(1800, () => rig.bus.detach(rig.device)); // after the erases (1.55 s), mid-write
    const err = await s
      .write({ name: 'app', address: FLASH, data: image }, {})
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'transport.device-lost' });
    const confirmed = confirmedBytesOf(err)!;
    expect(confirmed).toBeGreaterThan(0);
    expect(rig.device.flash.read(FLASH, confirmed)).toEqual(image.subarray(0, confirmed));
    const erasesBefore = [...rig.device.flash.counters.sectorErases];
    rig.bus.attach(rig.device);
    const back = await new WebUsbWatcher(rig.webOptions).waitForDevice([{ vendorId: 0x0483 }], {
      timeoutMs: 1000,
    });
    const s2 = await connectDfuse(back, { clock: rig.clock, logger: rig.logger });
    await s2.write({ name: 'app', address: FLASH, data: image }, { resumeFrom: confirmed });
    await s2.verify({ name: 'app', address: FLASH, data: image }, {});
    const erasesAfter = rig.device.flash.counters.sectorErases;
    // Sectors holding confirmed bytes are not erased again; later ones are.
    const resumeAddress = FLASH + Math.floor(confirmed / 2048) * 2048;
    for (const sector of rig.device.flash.sectors) {
      if (sector.start < resumeAddress)
        expect(erasesAfter[sector.index], `sector ${sector.index}`).toBe(
          erasesBefore[sector.index],
        );
    }
    expect(erasesAfter[4]).toBe(erasesBefore[4]! + 1);
  });
});

describe('DfuSe without a browser (sim-usb.ts)', () => {
  it('flashes and verifies through SimUsbHandle', async () => {
    const rig = await dfuseRig();
    const [handle] = await new SimUsbWatcher(rig.bus, rig.clock).list([{ vendorId: 0x0483 }]);
    const s = await connectDfuse(handle!, { clock: rig.clock, logger: rig.logger });
    const image = pattern(10_000, 8);
    await s.write({ name: 'app', address: FLASH, data: image }, {});
    await s.verify({ name: 'app', address: FLASH, data: image }, {});
    expect(rig.device.flash.read(FLASH, image.length)).toEqual(image);
    rig.clock.setTimer(50, () => rig.bus.detach(rig.device));
    await expect(
      s.verify({ name: 'app', address: FLASH, data: new Uint8Array(500_000) }, {}),
    ).rejects.toMatchObject({ code: 'transport.device-lost' });
  });
});

describe('DfuSe device rules (strict simulator)', () => {
  async function clientRig() {
    const rig = await dfuseRig();
    const opened = await openDfu(rig.handle);
    const client = new DfuseClient({
      connection: opened.connection,
      interfaceNumber: 0,
      functional: opened.functional,
      clock: rig.clock,
    });
    return { ...rig, client, opened };
  }

  it('Get Commands lists 0x00 0x21 0x41 0x92', async () => {
    const { client } = await clientRig();
    expect([...(await client.getCommands())]).toEqual([0x00, 0x21, 0x41, 0x92]);
  });

  it('stalls an unknown command and wBlockNum 1; answers errTARGET for an address outside the memory', async () => {
    const { client, device } = await clientRig();
    await expect(client.command(new Uint8Array([0x55]), 'x')).rejects.toMatchObject({
      status: DfuStatus.errSTALLEDPKT,
    });
    await client.ensureIdle();
    await expect(client.dnload(1, new Uint8Array(4))).rejects.toBeInstanceOf(DfuRequestError);
    await client.ensureIdle();
    await expect(client.setAddress(0x30000000)).rejects.toMatchObject({
      code: 'protocol.command-failed',
      status: DfuStatus.errTARGET,
    });
    expect(device.state).toBe(DfuState.dfuERROR);
    await client.ensureIdle();
    await expect(client.erasePage(0x1fffc000)).rejects.toMatchObject({
      status: DfuStatus.errTARGET,
    });
  });

  it('UPLOAD is refused in dfuDNLOAD-IDLE: the host must ABORT first (AN3156 §5)', async () => {
    const { client, device } = await clientRig();
    await client.setAddress(FLASH);
    expect(device.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await expect(client.upload(2, 16)).rejects.toBeInstanceOf(DfuRequestError);
    await client.ensureIdle();
    await client.setAddress(FLASH);
    await client.abort();
    expect(await client.upload(2, 16)).toEqual(new Uint8Array(16).fill(0xff));
    expect(device.state).toBe(DfuState.dfuUPLOAD_IDLE);
  });

  it('the first GETSTATUS after a command says dfuDNBUSY, as dfu-util requires', async () => {
    const { client, device } = await clientRig();
    await client.erasePage(0x08020000);
    const statuses = device.trace.filter((t) => t.request === DfuRequest.GETSTATUS);
    expect(statuses.map((t) => t.stateAfter)).toEqual(
      [DfuState.dfuIDLE, DfuState.dfuDNBUSY, DfuState.dfuDNLOAD_IDLE].slice(-statuses.length),
    );
    expect(statuses.at(-1)!.time - statuses.at(-2)!.time).toBeGreaterThanOrEqual(1000); // 128 KiB sector
  });
});
