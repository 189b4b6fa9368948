/**
 * The DFU 1.1 client and driver against the simulated generic board, through the fake
 * navigator.usb and the WebUSB adapter, in virtual time. Covers every state transition of
 * DFU 1.1 Appendix A a host can trigger, manifestation tolerant and not, run-time → DFU mode
 * re-enumeration, and faults.
 */
import { describe, expect, it } from 'vitest';
import { sleep, type Clock } from '../../src/core/clock.ts';
import { ProtocolError, TransportError } from '../../src/core/errors.ts';
import { confirmedBytesOf } from '../../src/protocols/driver.ts';
import { DfuClient, DfuRequestError } from '../../src/protocols/dfu/dfu-client.ts';
import { connectDfu } from '../../src/protocols/dfu/dfu-driver.ts';
import { openDfu } from '../../src/protocols/dfu/dfu-open.ts';
import { DfuRequest, DfuState, DfuStatus } from '../../src/protocols/dfu/dfu-spec.ts';
import { W25Q32_TIMING } from '../../src/sim/flash-model.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
  type GenericDfuBoardOptions,
} from '../../src/sim/dfu/generic-dfu-sim.ts';
import { genericRig, pattern } from './rig.ts';

async function clientRig(options: Partial<Omit<GenericDfuBoardOptions, 'clock' | 'bus'>> = {}) {
  const rig = await genericRig({ startInDfuMode: true, ...options });
  const opened = await openDfu(rig.handle);
  const client = new DfuClient({
    connection: opened.connection,
    interfaceNumber: 0,
    functional: opened.functional,
    clock: rig.clock,
    logger: rig.logger,
  });
  return { ...rig, opened, client, dev: rig.board.current };
}

async function refused(p: Promise<unknown>): Promise<DfuRequestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DfuRequestError);
  return err as DfuRequestError;
}

describe('DFU 1.1 state machine (Appendix A), host-triggerable transitions', () => {
  it('dfuIDLE: GETSTATUS, GETSTATE and ABORT keep dfuIDLE', async () => {
    const { client, dev } = await clientRig();
    expect(await client.getStatus()).toEqual({
      status: 0,
      pollTimeoutMs: 0,
      state: DfuState.dfuIDLE,
      stringIndex: 0,
    });
    expect(await client.getState()).toBe(DfuState.dfuIDLE);
    await client.abort();
    expect(dev.state).toBe(DfuState.dfuIDLE);
  });

  it('dfuIDLE: CLRSTATUS, DETACH and a zero-length DNLOAD stall into dfuERROR/errSTALLEDPKT; CLRSTATUS leaves it', async () => {
    const { client, dev } = await clientRig();
    for (const bad of [
      () => client.clrStatus(),
      () => client.detach(100),
      () => client.dnload(0, new Uint8Array(0)),
    ]) {
      const err = await refused(bad());
      expect([err.status, err.state]).toEqual([DfuStatus.errSTALLEDPKT, DfuState.dfuERROR]);
      expect(await client.getState()).toBe(DfuState.dfuERROR);
      // dfuERROR: anything but GETSTATUS/GETSTATE/CLRSTATUS stalls and stays there
      await refused(client.abort());
      await refused(client.dnload(0, new Uint8Array(4)));
      expect(dev.state).toBe(DfuState.dfuERROR);
      await client.clrStatus();
      expect(await client.getStatus()).toMatchObject({
        status: DfuStatus.OK,
        state: DfuState.dfuIDLE,
      });
    }
  });

  it('download: dfuDNLOAD-SYNC → dfuDNBUSY (bwPollTimeout) → dfuDNLOAD-SYNC → dfuDNLOAD-IDLE', async () => {
    const { client, dev, clock } = await clientRig({ timing: W25Q32_TIMING });
    await client.dnload(0, pattern(1024));
    expect(await client.getState()).toBe(DfuState.dfuDNLOAD_SYNC);
    const busy = await client.getStatus();
    expect(busy.state).toBe(DfuState.dfuDNBUSY);
    expect(busy.pollTimeoutMs).toBe(Math.ceil(45 + 4 * 0.7)); // 4 KiB sector erase + four 256-byte pages
    const t0 = clock.now();
    await sleep(clock, busy.pollTimeoutMs);
    expect(await client.getStatus()).toMatchObject({ state: DfuState.dfuDNLOAD_IDLE, status: 0 });
    expect(clock.now() - t0).toBeGreaterThanOrEqual(busy.pollTimeoutMs);
    expect(dev.trace.every((t) => !t.stalled)).toBe(true);
  });

  it('dfuDNLOAD-SYNC: a block already done is answered dfuDNLOAD-IDLE at once ("block complete", A.2.4)', async () => {
    const { client, dev } = await clientRig();
    await client.dnload(0, pattern(1024));
    expect(await client.getStatus()).toEqual({
      status: DfuStatus.OK,
      pollTimeoutMs: 0,
      state: DfuState.dfuDNLOAD_IDLE,
      stringIndex: 0,
    });
    await client.downloadBlocks(pattern(4096));
    // one DFU_GETSTATUS per block, none stalled
    const statuses = dev.trace.filter((t) => t.request === DfuRequest.GETSTATUS);
    expect(statuses.map((t) => [t.stateBefore, t.stateAfter])).toEqual(
      Array<number[]>(5).fill([DfuState.dfuDNLOAD_SYNC, DfuState.dfuDNLOAD_IDLE]),
    );
    expect(dev.trace.every((t) => !t.stalled)).toBe(true);
  });

  it('dfuDNLOAD-SYNC: a block that failed at once is answered dfuERROR with its status', async () => {
    const { client, dev } = await clientRig({
      faults: { failBlock: { block: 0, status: DfuStatus.errWRITE } },
    });
    await client.dnload(0, pattern(64));
    expect(await client.getStatus()).toMatchObject({
      status: DfuStatus.errWRITE,
      state: DfuState.dfuERROR,
    });
    expect(dev.state).toBe(DfuState.dfuERROR);
  });

  it('a device that always answers dfuDNBUSY first, with bwPollTimeout 0, is asked again without a timer', async () => {
    const { opened, dev, clock } = await clientRig({ idleWhenBlockDone: false });
    // The client's clock, counting the timers it sets (its only use is waiting bwPollTimeout).
    const timers: number[] = [];
    const counting: Clock = {
      now: () => clock.now(),
      setTimer: (ms, cb) => {
        timers.push(ms);
        return clock.setTimer(ms, cb);
      },
      clearTimer: (h) => clock.clearTimer(h),
    };
    const client = new DfuClient({
      connection: opened.connection,
      interfaceNumber: 0,
      functional: opened.functional,
      clock: counting,
    });
    await client.downloadBlocks(pattern(3000));
    const answers = dev.trace
      .filter((t) => t.request === DfuRequest.GETSTATUS)
      .map((t) => t.stateAfter);
    expect(answers).toEqual([0, 1, 2].flatMap(() => [DfuState.dfuDNBUSY, DfuState.dfuDNLOAD_IDLE]));
    expect(timers).toEqual([]);
    expect(dev.trace.every((t) => !t.stalled)).toBe(true);
  });

  it('waits exactly bwPollTimeout, once per busy block', async () => {
    const { opened, dev, clock } = await clientRig({ timing: W25Q32_TIMING });
    const timers: number[] = [];
    const client = new DfuClient({
      connection: opened.connection,
      interfaceNumber: 0,
      functional: opened.functional,
      clock: {
        now: () => clock.now(),
        setTimer: (ms, cb) => {
          timers.push(ms);
          return clock.setTimer(ms, cb);
        },
        clearTimer: (h) => clock.clearTimer(h),
      },
    });
    await client.downloadBlocks(pattern(4096));
    // 1024-byte blocks: the first also erases the 4 KiB sector (45 ms), each programs 4 pages.
    expect(timers).toEqual([Math.ceil(45 + 4 * 0.7), 3, 3, 3]);
    expect(dev.trace.every((t) => !t.stalled)).toBe(true);
  });

  it('a request during dfuDNBUSY (bwPollTimeout not honoured) stalls into dfuERROR', async () => {
    const { client, dev } = await clientRig({ timing: W25Q32_TIMING });
    await client.dnload(0, pattern(64));
    expect((await client.getStatus()).state).toBe(DfuState.dfuDNBUSY);
    await refused(client.getStatus());
    expect([dev.state, dev.status]).toEqual([DfuState.dfuERROR, DfuStatus.errSTALLEDPKT]);
    await client.ensureIdle();
    expect(dev.state).toBe(DfuState.dfuIDLE);
  });

  it('dfuDNLOAD-IDLE: ABORT → dfuIDLE; UPLOAD stalls; DNLOAD continues', async () => {
    const { client, dev } = await clientRig();
    await client.downloadBlocks(pattern(2048));
    expect(dev.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await refused(client.upload(0, 64));
    await client.clrStatus();
    await client.downloadBlocks(pattern(1000));
    await client.abort();
    expect(dev.state).toBe(DfuState.dfuIDLE);
  });

  it('dfuDNLOAD-SYNC: anything but GETSTATUS/GETSTATE stalls', async () => {
    const { client, dev } = await clientRig();
    await client.dnload(0, pattern(16));
    await refused(client.abort());
    expect(dev.state).toBe(DfuState.dfuERROR);
  });

  it('wLength above wTransferSize stalls (DNLOAD and UPLOAD)', async () => {
    const { client, dev, opened } = await clientRig({ transferSize: 256 });
    const big = pattern(257);
    const r = await opened.connection.controlOut(
      { requestType: 'class', recipient: 'interface', request: 1, value: 0, index: 0 },
      big,
    );
    expect(r.status).toBe('stall');
    expect([dev.state, dev.status]).toEqual([DfuState.dfuERROR, DfuStatus.errSTALLEDPKT]);
    await client.clrStatus();
    await refused(client.upload(0, 257));
    await expect(client.dnload(0, big)).rejects.toThrow(RangeError);
  });

  it('manifestation-tolerant: dfuMANIFEST-SYNC → dfuMANIFEST → dfuMANIFEST-SYNC → dfuIDLE, then upload', async () => {
    const { client, dev, board } = await clientRig({ manifestationTolerant: true });
    const image = pattern(5000);
    await client.downloadBlocks(image);
    expect(await client.manifest()).toBe('idle');
    const states = dev.trace.filter((t) => t.request === 3).map((t) => t.stateAfter);
    // GETSTATUS answers: … dfuMANIFEST (busy for bwPollTimeout), then dfuIDLE (after the
    // device's own dfuMANIFEST → dfuMANIFEST-SYNC step, visible as the state before the request).
    expect(states.at(-2)).toBe(DfuState.dfuMANIFEST);
    expect(states.at(-1)).toBe(DfuState.dfuIDLE);
    expect(dev.trace.filter((t) => t.request === 3).at(-1)!.stateBefore).toBe(
      DfuState.dfuMANIFEST_SYNC,
    );
    expect(board.image()).toEqual(image);
    // upload: full blocks → dfuUPLOAD-IDLE, short block → dfuIDLE
    expect(await client.upload(0, 1024)).toEqual(image.subarray(0, 1024));
    expect(dev.state).toBe(DfuState.dfuUPLOAD_IDLE);
    await refused(client.dnload(0, new Uint8Array(1)));
    await client.clrStatus();
    expect(await client.uploadAll()).toEqual(image);
    expect(dev.state).toBe(DfuState.dfuIDLE);
    await client.upload(0, 16);
    await client.abort();
    expect(dev.state).toBe(DfuState.dfuIDLE);
  });

  it('not manifestation-tolerant: dfuMANIFEST → dfuMANIFEST-WAIT-RESET, the host resets, the firmware starts', async () => {
    const { client, board, bus, clock } = await clientRig({ manifestationTolerant: false });
    const image = pattern(3000);
    await client.downloadBlocks(image);
    const dev = board.current;
    expect(await client.manifest()).toBe('reset');
    expect(dev.trace.at(-1)!.stateAfter).toBe(DfuState.dfuMANIFEST);
    await sleep(clock, 100);
    expect(board.boots).toBe(1);
    expect(bus.devices[0]!.identity.productId).toBe(GENERIC_RUNTIME_PRODUCT_ID);
    expect(board.image()).toEqual(image);
  });

  it('dfuMANIFEST-WAIT-RESET answers GETSTATUS and GETSTATE (state 8), stalls the rest and stays until the reset', async () => {
    const { client, board, clock, opened } = await clientRig({ manifestationTolerant: false });
    const image = pattern(1500, 4);
    await client.downloadBlocks(image);
    const dev = board.current;
    await client.dnload(2, new Uint8Array(0));
    const manifesting = await client.getStatus();
    expect(manifesting.state).toBe(DfuState.dfuMANIFEST);
    await sleep(clock, manifesting.pollTimeoutMs);
    // What dfu-util 0.11 does next (src/dfu_load.c): GETSTATUS, and a reset on state 8.
    expect(await client.getStatus()).toMatchObject({
      status: DfuStatus.OK,
      state: DfuState.dfuMANIFEST_WAIT_RESET,
    });
    expect(await client.getState()).toBe(DfuState.dfuMANIFEST_WAIT_RESET);
    for (const bad of [() => client.abort(), () => client.clrStatus()]) {
      const err = await refused(bad());
      expect(err.state).toBe(DfuState.dfuMANIFEST_WAIT_RESET);
    }
    expect(dev.state).toBe(DfuState.dfuMANIFEST_WAIT_RESET);
    await opened.connection.reset();
    await sleep(clock, 100);
    expect(board.boots).toBe(1);
    expect(board.image()).toEqual(image);
  });

  it('a USB reset in DFU mode runs a valid firmware from any state, else reports errFIRMWARE', async () => {
    const { client, board, bus, clock, opened } = await clientRig({ manifestationTolerant: true });
    await refused(client.detach(100)); // dfuERROR: DETACH is not a DFU-mode request
    await opened.connection.reset(); // no firmware yet: stays in DFU mode
    expect([board.current.state, board.current.status]).toEqual([
      DfuState.dfuERROR,
      DfuStatus.errFIRMWARE,
    ]);
    await client.clrStatus();
    const image = pattern(2000, 6);
    await client.downloadBlocks(image);
    expect(await client.manifest()).toBe('idle');
    await refused(client.detach(100));
    expect(board.current.state).toBe(DfuState.dfuERROR);
    await opened.connection.reset();
    await sleep(clock, 100);
    expect(board.boots).toBe(1);
    expect(bus.devices[0]!.identity.productId).toBe(GENERIC_RUNTIME_PRODUCT_ID);
  });

  it('a zero-length DNLOAD before any data is errNOTDONE… only from dfuDNLOAD-IDLE; from dfuIDLE it stalls', async () => {
    const { client, dev } = await clientRig({
      faults: { failBlock: { block: 1, status: DfuStatus.errWRITE } },
    });
    await expect(client.downloadBlocks(pattern(3000))).rejects.toMatchObject({
      status: DfuStatus.errWRITE,
    });
    expect(dev.state).toBe(DfuState.dfuERROR);
    await client.clrStatus();
    await refused(client.dnload(0, new Uint8Array(0)));
  });
});

describe('DFU driver', () => {
  for (const willDetach of [false, true]) {
    it(`switches a run-time device to DFU mode (bitWillDetach ${willDetach}), flashes, verifies and restarts it`, async () => {
      const rig = await genericRig({ willDetach, manifestationTolerant: true });
      expect(rig.handle.info.productId).toBe(GENERIC_RUNTIME_PRODUCT_ID);
      // The user allowed the DFU-mode identity too (Chromium keys permissions on vid/pid/serial).
      rig.fake.allow(0x1209, GENERIC_DFU_PRODUCT_ID, 'GADGET0001');
      const session = await connectDfu(rig.handle, {
        clock: rig.clock,
        logger: rig.logger,
        watcher: rig.watcher,
        dfuModeFilters: [{ vendorId: 0x1209, productId: GENERIC_DFU_PRODUCT_ID }],
      });
      expect(session.identity).toMatchObject({
        protocol: 'dfu',
        chip: 'usb-1209:0002',
        name: 'Example Gadget (DFU)',
        bootloaderVersion: 'DFU 1.1.0',
      });
      const image = pattern(20_000, 9);
      const progress: number[] = [];
      await session.write(
        { name: 'app', address: 0, data: image },
        { onProgress: (p) => progress.push(p.bytesDone) },
      );
      expect(progress.at(-1)).toBe(image.length);
      await session.verify({ name: 'app', address: 0, data: image }, {});
      await session.reset();
      await sleep(rig.clock, 100);
      expect(rig.board.image()).toEqual(image);
      expect(rig.board.boots).toBe(1);
      expect(rig.bus.devices[0]!.identity.productId).toBe(GENERIC_RUNTIME_PRODUCT_ID);
    });
  }

  it('times out, saying to choose the device again, when the DFU-mode identity is not allowed', async () => {
    const rig = await genericRig();
    const err = await connectDfu(rig.handle, {
      clock: rig.clock,
      logger: rig.logger,
      watcher: rig.watcher,
      reenumerateTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout' });
    expect((err as { hints: string[] }).hints.join(' ')).toMatch(/choose it again/);
    expect(rig.bus.devices[0]!.identity.productId).toBe(GENERIC_DFU_PRODUCT_ID);
  });

  it('times out when the device never comes back in DFU mode', async () => {
    const rig = await genericRig({ reenumerateMs: 60_000 });
    rig.fake.allow(0x1209, GENERIC_DFU_PRODUCT_ID, 'GADGET0001');
    const err = await connectDfu(rig.handle, {
      clock: rig.clock,
      logger: rig.logger,
      watcher: rig.watcher,
      reenumerateTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout' });
  });

  it('refuses a run-time device without a watcher', async () => {
    const rig = await genericRig();
    await expect(
      connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger }),
    ).rejects.toMatchObject({ code: 'protocol.unsupported' });
  });

  it('non-tolerant device: verify is not possible, reset manifests', async () => {
    const rig = await genericRig({ startInDfuMode: true, manifestationTolerant: false });
    const session = await connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger });
    const image = pattern(4096);
    await session.write({ name: 'app', address: 0, data: image }, {});
    await expect(
      session.verify({ name: 'app', address: 0, data: image }, {}),
    ).rejects.toBeInstanceOf(ProtocolError);
    await session.reset();
    await sleep(rig.clock, 100);
    expect(rig.board.boots).toBe(1);
    expect(rig.board.image()).toEqual(image);
  });

  it('a status error mid-download is reported with the status, and a retry after resync succeeds', async () => {
    const rig = await genericRig({
      startInDfuMode: true,
      faults: { failBlock: { block: 3, status: DfuStatus.errPROG } },
    });
    const session = await connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger });
    const image = pattern(8000);
    const err = await session
      .write({ name: 'app', address: 0, data: image }, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DfuRequestError);
    expect(err).toMatchObject({ status: DfuStatus.errPROG, opcode: 1 });
    expect(confirmedBytesOf(err)).toBe(0);
    rig.board.options.faults = {};
    await session.resync();
    await session.write({ name: 'app', address: 0, data: image }, {});
    await session.verify({ name: 'app', address: 0, data: image }, {});
  });

  it('manifestation failure (errVERIFY) is reported', async () => {
    const rig = await genericRig({
      startInDfuMode: true,
      faults: { failManifest: DfuStatus.errVERIFY },
    });
    const session = await connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger });
    await expect(
      session.write({ name: 'app', address: 0, data: pattern(100) }, {}),
    ).rejects.toMatchObject({ status: DfuStatus.errVERIFY });
  });

  it('the device vanishing mid-download is a transport.device-lost error', async () => {
    const rig = await genericRig({ startInDfuMode: true, faults: { loseAfterBytes: 4096 } });
    const session = await connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger });
    const err = await session
      .write({ name: 'app', address: 0, data: pattern(20000) }, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'transport.device-lost' });
  });

  for (const seed of [1, 2, 3, 0xdecaf]) {
    it(`random write errors (seed ${seed}) end in a clean error or a correct image`, async () => {
      const rig = await genericRig({
        startInDfuMode: true,
        faults: { writeErrorRate: 0.05, seed },
      });
      const session = await connectDfu(rig.handle, { clock: rig.clock, logger: rig.logger });
      const image = pattern(30_000, seed);
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await session.write({ name: 'app', address: 0, data: image }, {});
          break;
        } catch (err) {
          expect(err, `seed ${seed}`).toMatchObject({ status: DfuStatus.errWRITE });
          await session.resync();
        }
      }
      await session.verify({ name: 'app', address: 0, data: image }, {});
      expect(rig.board.image(), `seed ${seed}`).toEqual(image);
    });
  }
});
