/**
 * The simulator's USB server (src/sim/node/usb-server.ts) spoken to by a small Node client, the
 * way tools/usb-bridge/libusb-bridge.c speaks to it: device list with descriptors, string
 * descriptors, alternate settings, DFU class requests and their stalls, bus reset and
 * re-enumeration. Needs no native tools.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../src/core/clock.ts';
import { DfuRequest, DfuState } from '../../src/protocols/dfu/dfu-spec.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { DfuseBoardHandle, GadgetBoardHandle } from '../../src/sim/dfu/boards.ts';
import { STM32_DFU_PRODUCT_ID, STM32_DFU_VENDOR_ID } from '../../src/sim/dfu/dfuse-sim.ts';
import {
  GENERIC_DFU_PRODUCT_ID,
  GENERIC_DFU_VENDOR_ID,
  GENERIC_RUNTIME_PRODUCT_ID,
  type GenericDfuDevice,
} from '../../src/sim/dfu/generic-dfu-sim.ts';
import { serveUsbOnTcp, type RunningUsbServer } from '../../src/sim/node/usb-server.ts';
import { LibusbError, UsbWireOp } from '../../src/sim/node/usb-wire.ts';

const servers: RunningUsbServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Answer {
  result: number;
  payload: Uint8Array;
}

/** A client of the wire protocol: one request at a time. */
async function client(server: RunningUsbServer) {
  const socket = connect(server.port, server.host);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = new Uint8Array(0);
  let waiting: ((a: Answer) => void) | undefined;
  socket.on('data', (d: Buffer) => {
    const joined = new Uint8Array(buffer.length + d.length);
    joined.set(buffer);
    joined.set(d, buffer.length);
    buffer = joined;
    const view = new DataView(buffer.buffer);
    if (buffer.length < 4 || buffer.length < 4 + view.getUint32(0, true)) return;
    const len = view.getUint32(0, true);
    const answer = { result: view.getInt32(4, true), payload: buffer.slice(8, 4 + len) };
    buffer = buffer.slice(4 + len);
    waiting?.(answer);
  });
  const call = (op: number, body: number[] | Uint8Array = []): Promise<Answer> =>
    new Promise((resolve) => {
      waiting = resolve;
      const frame = new Uint8Array(5 + body.length);
      new DataView(frame.buffer).setUint32(0, 1 + body.length, true);
      frame[4] = op;
      frame.set(body, 5);
      socket.write(frame);
    });
  const u32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
  const u16 = (n: number): number[] => [n & 0xff, n >> 8];
  return {
    call,
    control: (id: number, rt: number, req: number, value: number, index: number, length: number) =>
      call(UsbWireOp.control, [
        ...u32(id),
        rt,
        req,
        ...u16(value),
        ...u16(index),
        ...u16(length),
        ...u32(1000),
      ]),
    list: async () => {
      const a = await call(UsbWireOp.list);
      const devices = [];
      let at = 0;
      const v = new DataView(a.payload.buffer);
      for (let i = 0; i < a.result; i++) {
        const cfgLen = v.getUint16(at + 24, true);
        devices.push({
          id: v.getUint32(at, true),
          address: a.payload[at + 4]!,
          port: a.payload[at + 5]!,
          vidPid: [v.getUint16(at + 6 + 8, true), v.getUint16(at + 6 + 10, true)],
          config: a.payload.slice(at + 26, at + 26 + cfgLen),
        });
        at += 26 + cfgLen;
      }
      return devices;
    },
    u32,
  };
}

async function start(board: { usb?: GadgetBoardHandle['usb'] }): Promise<RunningUsbServer> {
  const s = await serveUsbOnTcp({ bus: board.usb!, clock: realClock, host: '127.0.0.1', port: 0 });
  servers.push(s);
  return s;
}

describe('USB server', () => {
  it('lists the DfuSe bootloader with its descriptors and answers its requests', async () => {
    const board = createBoard('stm32f405-dfuse', { clock: realClock }) as DfuseBoardHandle;
    const c = await client(await start(board));
    const [dev, ...rest] = await c.list();
    expect(rest).toEqual([]);
    expect(dev).toMatchObject({
      address: 1,
      port: 1,
      vidPid: [STM32_DFU_VENDOR_ID, STM32_DFU_PRODUCT_ID],
    });
    const cfg = dev!.config;
    expect(cfg[1]).toBe(2); // configuration descriptor, wTotalLength covers all of it
    expect(cfg[2]! | (cfg[3]! << 8)).toBe(cfg.length);
    expect(cfg.subarray(cfg.length - 9, cfg.length - 7)).toEqual(new Uint8Array([9, 0x21]));
    expect(board.device.configurationValue).toBe(1); // selected at enumeration, as usbcore does

    // GET_DESCRIPTOR(string) of alternate setting 0's name.
    const iInterface = cfg[9 + 8]!;
    const s = await c.control(dev!.id, 0x80, 6, 0x0300 | iInterface, 0x0409, 255);
    const text = new TextDecoder('utf-16le').decode(s.payload.subarray(2));
    expect(text).toBe('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');

    const id = c.u32(dev!.id);
    expect((await c.call(UsbWireOp.open, id)).result).toBe(0);
    expect((await c.call(UsbWireOp.claim, [...id, 0])).result).toBe(0);
    expect((await c.call(UsbWireOp.claim, [...id, 3])).result).toBe(LibusbError.notFound);
    expect((await c.call(UsbWireOp.setAlt, [...id, 0, 1])).result).toBe(0);
    expect(board.device.alternateOf(0)).toBe(1);
    expect((await c.call(UsbWireOp.setAlt, [...id, 0, 7])).result).toBe(LibusbError.pipe);
    expect((await c.call(UsbWireOp.getConfiguration, id)).result).toBe(1);

    const status = await c.control(dev!.id, 0xa1, DfuRequest.GETSTATUS, 0, 0, 6);
    expect(status.result).toBe(6);
    expect(status.payload[4]).toBe(DfuState.dfuIDLE);
    // DFU_DETACH is not a DFU-mode request: stalled, dfuERROR.
    const detach = await c.control(dev!.id, 0x21, DfuRequest.DETACH, 1000, 0, 0);
    expect(detach.result).toBe(LibusbError.pipe);
    expect(board.device.state).toBe(DfuState.dfuERROR);

    expect((await c.call(UsbWireOp.open, c.u32(999))).result).toBe(LibusbError.noDevice);
  });

  it('a reset the gadget answers by re-enumerating is NOT_FOUND; it comes back at a new address', async () => {
    const board = createBoard('dfu11-gadget', { clock: realClock }) as GadgetBoardHandle;
    const c = await client(await start(board));
    const [app] = await c.list();
    expect(app).toMatchObject({
      address: 1,
      vidPid: [GENERIC_DFU_VENDOR_ID, GENERIC_RUNTIME_PRODUCT_ID],
    });
    const detach = await c.control(app!.id, 0x21, DfuRequest.DETACH, 1000, 0, 0);
    expect(detach.result).toBe(0);
    const back = new Promise<void>((resolve) => {
      const off = board.usb.onAttach((d) => {
        if ((d as GenericDfuDevice).runtime) return;
        off();
        resolve();
      });
    });
    expect((await c.call(UsbWireOp.reset, c.u32(app!.id))).result).toBe(LibusbError.notFound);
    await back;
    const [dfu] = await c.list(); // the list waits for the enumeration under way
    expect(dfu).toMatchObject({
      address: 2,
      vidPid: [GENERIC_DFU_VENDOR_ID, GENERIC_DFU_PRODUCT_ID],
    });
    const gone = await c.control(app!.id, 0xa1, DfuRequest.GETSTATUS, 0, 0, 6);
    expect(gone.result).toBe(LibusbError.noDevice);
  });
});
