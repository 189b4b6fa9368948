/**
 * STK500v1 (Atmel AVR061) commands: frames checked against the app note, then every command the
 * client sends answered by the simulated optiboot (Uno) and ATmegaBOOT (old Nano) as their
 * sources answer them, and what each bootloader does with a broken frame or silence.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, TimeoutError } from '../../src/core/errors.ts';
import {
  Stk,
  Stk500v1Client,
  StkParam,
  encodeLoadAddress,
  encodeProgPage,
  encodeStk500v1,
} from '../../src/protocols/avr/stk500v1.ts';
import { exchange, rig } from './rig.ts';

describe('STK500v1 frames (AVR061)', () => {
  it('encodes commands with Sync_CRC_EOP', () => {
    expect([...encodeStk500v1(Stk.GET_SYNC)]).toEqual([0x30, 0x20]);
    expect([...encodeStk500v1(Stk.GET_PARAMETER, StkParam.SW_MAJOR)]).toEqual([0x41, 0x81, 0x20]);
    // Cmnd_STK_LOAD_ADDRESS addr_low addr_high: word address 0x1234 → 55 34 12 20.
    expect([...encodeLoadAddress(0x1234)]).toEqual([0x55, 0x34, 0x12, 0x20]);
    // Cmnd_STK_PROG_PAGE bytes_high bytes_low memtype data Sync_CRC_EOP.
    expect([...encodeProgPage(Uint8Array.of(1, 2, 3))]).toEqual([0x64, 0, 3, 0x46, 1, 2, 3, 0x20]);
  });
});

describe('optiboot (simulated Uno) answers', () => {
  it('GET_SYNC with INSYNC OK, GET_PARAMETER with its version or 0x03', async () => {
    const r = await rig('uno');
    expect(await exchange(r, [0x30, 0x20])).toEqual([0x14, 0x10]);
    expect(await exchange(r, [0x41, 0x81, 0x20])).toEqual([0x14, 4, 0x10]);
    expect(await exchange(r, [0x41, 0x82, 0x20])).toEqual([0x14, 4, 0x10]);
    expect(await exchange(r, [0x41, 0x80, 0x20])).toEqual([0x14, 3, 0x10]);
  });

  it('every client command', async () => {
    const r = await rig('uno');
    const c = new Stk500v1Client(r.link);
    await c.sync();
    expect(await c.getParameter(StkParam.SW_MAJOR)).toBe(4);
    expect([...(await c.readSignature())]).toEqual([0x1e, 0x95, 0x0f]);
    await c.enterProgmode();
    expect(await c.universal(Uint8Array.of(0x50, 0, 0, 0))).toBe(0); // fuses read as 0
    const page = Uint8Array.from({ length: 128 }, (_, i) => i);
    await c.loadFlashAddress(0x100);
    await c.progPage(page);
    expect([...r.board.flash.read(0x100, 128)]).toEqual([...page]);
    await c.loadFlashAddress(0x100);
    expect([...(await c.readPage(128))]).toEqual([...page]);
    // A page write takes the SPM page erase + page write time.
    await c.loadFlashAddress(0x180);
    const t0 = r.clock.now();
    await c.progPage(page);
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(9);
    await c.leaveProgmode();
    await r.wait(20); // optiboot: WATCHDOG_16MS
    expect(r.board.device.state).toBe('application');
  });

  it('does not write its own boot section (lock bits)', async () => {
    const r = await rig('uno');
    const c = new Stk500v1Client(r.link);
    await c.sync();
    const before = r.board.flash.read(0x7e00, 128);
    await c.loadFlashAddress(0x7e00);
    await c.progPage(new Uint8Array(128));
    expect([...r.board.flash.read(0x7e00, 128)]).toEqual([...before]);
  });

  it('PROG_PAGE erases the page before the frame is complete; a short page keeps old buffer bytes', async () => {
    const r = await rig('uno');
    r.board.flash.load(0x400, new Uint8Array(128).fill(0x11));
    // A frame cut short by a wrong terminator: the page is already erased (optiboot 4.4 starts
    // the erase as soon as the length is in), nothing is written, the sketch starts.
    const frame = [
      0x55,
      0x00,
      0x02,
      0x20,
      0x64,
      0x00,
      0x80,
      0x46,
      ...new Array<number>(128).fill(0x22),
      0x21,
    ];
    expect(await exchange(r, frame)).toEqual([0x14, 0x10]);
    expect(r.board.flash.isErased(0x400, 128)).toBe(true);
    await r.wait(20);
    expect(r.board.device.state).toBe('application');
    // After a reset: a 2-byte PROG_PAGE fills the rest of the page from the RAM buffer, which
    // still holds the 0x22 bytes of the broken frame.
    const again = await rig('uno');
    const c = new Stk500v1Client(again.link);
    await c.sync();
    await c.loadFlashAddress(0x80);
    await c.progPage(new Uint8Array(128).fill(0x22));
    await c.loadFlashAddress(0x100);
    await c.progPage(Uint8Array.of(1, 2));
    expect([...again.board.flash.read(0x100, 4)]).toEqual([1, 2, 0x22, 0x22]);
  });

  it('a frame without Sync_CRC_EOP: no answer, the application starts 16 ms later', async () => {
    const r = await rig('uno');
    expect(await exchange(r, [0x30, 0x21], 10)).toEqual([]);
    await r.wait(10);
    expect(r.board.device.state).toBe('application');
    const c = new Stk500v1Client(r.link);
    await expect(c.getParameter(StkParam.HW_VER)).rejects.toBeInstanceOf(TimeoutError);
  });

  it('silence: the 1 s watchdog starts the application', async () => {
    const r = await rig('uno');
    await r.wait(900);
    expect(r.board.device.state).toBe('bootloader');
    await r.wait(200);
    expect(r.board.device.state).toBe('application');
  });

  it('sync gives up with protocol.no-sync when the board is in its application', async () => {
    const r = await rig('uno');
    await r.wait(1100);
    const c = new Stk500v1Client(r.link);
    const err = await c.sync({ attempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('protocol.no-sync');
  });
});

describe('ATmegaBOOT (simulated old Nano) answers', () => {
  it('parameters HW 2, SW 1.16; signature through UNIVERSAL 0x30; other UNIVERSAL 0', async () => {
    const r = await rig('nano-old');
    const c = new Stk500v1Client(r.link);
    await c.sync();
    expect(await c.getParameter(StkParam.HW_VER)).toBe(2);
    expect(await c.getParameter(StkParam.SW_MAJOR)).toBe(1);
    expect(await c.getParameter(StkParam.SW_MINOR)).toBe(0x10);
    expect(await c.getParameter(0x98)).toBe(3);
    expect(await c.universal(Uint8Array.of(0x30, 0, 1, 0))).toBe(0x95);
    expect(await c.universal(Uint8Array.of(0x50, 0, 0, 0))).toBe(0);
    expect([...(await c.readSignature())]).toEqual([0x1e, 0x95, 0x0f]);
  });

  it('writes and reads pages at 57600 baud', async () => {
    const r = await rig('nano-old');
    const c = new Stk500v1Client(r.link);
    await c.sync();
    const page = new Uint8Array(128).fill(0xa5);
    await c.loadFlashAddress(0x200);
    await c.progPage(page);
    await c.loadFlashAddress(0x200);
    expect([...(await c.readPage(128))]).toEqual([...page]);
  });

  it('the fifth bad terminator starts the application (MAX_ERROR_COUNT)', async () => {
    const r = await rig('nano-old');
    for (let i = 0; i < 4; i++) expect(await exchange(r, [0x30, 0x21])).toEqual([]);
    expect(r.board.device.state).toBe('bootloader');
    expect(await exchange(r, [0x30, 0x20])).toEqual([0x14, 0x10]);
    await exchange(r, [0x30, 0x21]);
    expect(r.board.device.state).toBe('application');
  });
});
