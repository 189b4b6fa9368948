/**
 * STK500v2 (Atmel AVR068): message framing (vectors and fast-check round trips), then every
 * client command against the simulated Mega 2560 bootloader (stk500boot.c).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FramingError, ProtocolError, TimeoutError } from '../../src/core/errors.ts';
import {
  MAX_BODY,
  Stk500v2Client,
  V2,
  V2Param,
  V2Status,
  decodeStk500v2,
  encodeStk500v2,
} from '../../src/protocols/avr/stk500v2.ts';
import { exchange, rig } from './rig.ts';

describe('STK500v2 message framing (AVR068 §3)', () => {
  it('CMD_SIGN_ON with sequence 1: 1B 01 00 01 0E 01 14', () => {
    expect([...encodeStk500v2(1, Uint8Array.of(V2.SIGN_ON))]).toEqual([
      0x1b, 0x01, 0x00, 0x01, 0x0e, 0x01, 0x14,
    ]);
  });

  it('round-trips any sequence number and body up to 275 bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: MAX_BODY }),
        (seq, body) => {
          const frame = encodeStk500v2(seq, body);
          expect(frame.length).toBe(body.length + 6);
          const m = decodeStk500v2(frame);
          expect(m.seq).toBe(seq);
          expect([...m.body]).toEqual([...body]);
        },
      ),
    );
  });

  it('any single damaged byte is refused', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (body, at, flip) => {
          const frame = encodeStk500v2(7, body);
          const i = at % frame.length;
          frame[i] = frame[i]! ^ flip;
          expect(() => decodeStk500v2(frame)).toThrow(FramingError);
        },
      ),
    );
  });

  it('refuses bodies over 275 bytes and sequence numbers beyond a byte', () => {
    expect(() => encodeStk500v2(1, new Uint8Array(276))).toThrow(RangeError);
    expect(() => encodeStk500v2(256, new Uint8Array(1))).toThrow(RangeError);
  });
});

describe('stk500boot.c (simulated Mega 2560) answers', () => {
  it('SIGN_ON with AVRISP_2, in a message with the same sequence number', async () => {
    const r = await rig('mega2560');
    const answer = await exchange(r, encodeStk500v2(9, Uint8Array.of(V2.SIGN_ON)));
    const m = decodeStk500v2(Uint8Array.from(answer));
    expect(m.seq).toBe(9);
    expect(String.fromCharCode(...m.body.subarray(3))).toBe('AVRISP_2');
  });

  it('every client command', async () => {
    const r = await rig('mega2560');
    const c = new Stk500v2Client(r.link);
    expect(await c.signOn()).toBe('AVRISP_2');
    expect(await c.getParameter(V2Param.HW_VER)).toBe(0x0f);
    expect(await c.getParameter(V2Param.SW_MAJOR)).toBe(2);
    expect(await c.getParameter(V2Param.SW_MINOR)).toBe(0x0a);
    const sig = [];
    for (let i = 0; i < 3; i++) sig.push(await c.readSignatureByte(i));
    expect(sig).toEqual([0x1e, 0x98, 0x01]);
    await c.enterProgmode();
    expect(await c.readFuse(V2.READ_FUSE_ISP, [0x50, 0x00, 0x00, 0x00])).toBe(0xff);
    expect(await c.readFuse(V2.READ_FUSE_ISP, [0x58, 0x08, 0x00, 0x00])).toBe(0xd8);
    expect(await c.readFuse(V2.READ_FUSE_ISP, [0x50, 0x08, 0x00, 0x00])).toBe(0xfd);
    expect(await c.readFuse(V2.READ_LOCK_ISP, [0x58, 0x00, 0x00, 0x00])).toBe(0xcf);
    // SPI_MULTI, as avrdude's universal command path sends it.
    const multi = await c.command(Uint8Array.of(V2.SPI_MULTI, 4, 4, 0, 0x30, 0, 2, 0));
    expect(multi[5]).toBe(0x01);
    // CHIP_ERASE_ISP answers CMD_FAILED (issue 543) and rewinds the erase pointer.
    expect(await c.chipErase()).toBe(V2Status.CMD_FAILED);
    const page = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    await c.loadAddress(0, true);
    await c.programFlash(page);
    await c.loadAddress(0, true);
    expect([...(await c.readFlash(256))]).toEqual([...page]);
    // Above 128 KiB: the word address carries the upper bits (bit 31 = "load extended").
    await c.loadAddress(0x20100, true);
    await c.programFlash(page);
    expect([...r.board.flash.read(0x20100, 256)]).toEqual([...page]);
    await c.leaveProgmode();
    await r.wait(150); // 100 ms LED delay, then the jump to 0
    expect(r.board.device.state).toBe('application');
  });

  it('erases the page at its own erase pointer, not the page it programs', async () => {
    const r = await rig('mega2560');
    r.board.flash.load(0x400, new Uint8Array(256).fill(0x0f));
    const c = new Stk500v2Client(r.link);
    await c.signOn();
    await c.loadAddress(0x400, true);
    await c.programFlash(new Uint8Array(256).fill(0xf3)); // erases page 0, programs 0x400
    expect(r.board.flash.read(0x400, 1)[0]).toBe(0x03); // 0x0f AND 0xf3
  });

  it('a message with a bad checksum gets no answer (dropped by the state machine)', async () => {
    const r = await rig('mega2560');
    const frame = encodeStk500v2(1, Uint8Array.of(V2.SIGN_ON));
    frame[6] = frame[6]! ^ 0xff;
    expect(await exchange(r, frame)).toEqual([]);
    const c = new Stk500v2Client(r.link, 200);
    expect(await c.signOn()).toBe('AVRISP_2');
  });

  it('unknown commands answer CMD_FAILED; the client reports command-failed', async () => {
    const r = await rig('mega2560');
    const c = new Stk500v2Client(r.link);
    const err = await c.command(Uint8Array.of(0x7e)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('protocol.command-failed');
    expect((err as ProtocolError).status).toBe(V2Status.CMD_FAILED);
  });

  it('a board that does not answer: timeout, then no-sync', async () => {
    const r = await rig('mega2560');
    r.board.device.reset(); // into the application
    const c = new Stk500v2Client(r.link, 100);
    await expect(c.command(Uint8Array.of(V2.SIGN_ON))).rejects.toBeInstanceOf(TimeoutError);
    const err = await c.signOn({ attempts: 2 }).catch((e: unknown) => e);
    expect((err as ProtocolError).code).toBe('protocol.no-sync');
  });
});
