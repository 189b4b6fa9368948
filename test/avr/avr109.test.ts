/**
 * AVR109 commands against the simulated Leonardo's Caterina (Caterina.c CDC_Task), and the
 * board's 1200-baud touch.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolError } from '../../src/core/errors.ts';
import { Avr109Client } from '../../src/protocols/avr/avr109.ts';
import { exchange, rig } from './rig.ts';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe('Caterina (simulated Leonardo) answers', () => {
  it('identification commands', async () => {
    const r = await rig('leonardo');
    expect(await exchange(r, ascii('S'))).toEqual(ascii('CATERIN'));
    expect(await exchange(r, ascii('V'))).toEqual(ascii('10'));
    expect(await exchange(r, ascii('p'))).toEqual(ascii('S'));
    expect(await exchange(r, ascii('a'))).toEqual(ascii('Y'));
    expect(await exchange(r, ascii('b'))).toEqual([...ascii('Y'), 0, 128]);
    expect(await exchange(r, ascii('t'))).toEqual([0x44, 0]);
    expect(await exchange(r, ascii('s'))).toEqual([0x87, 0x95, 0x1e]); // last byte first
    expect(await exchange(r, ascii('F'))).toEqual([0xff]);
    expect(await exchange(r, ascii('N'))).toEqual([0xd8]);
    expect(await exchange(r, ascii('Q'))).toEqual([0xcb]);
    expect(await exchange(r, ascii('r'))).toEqual([0xef]);
    expect(await exchange(r, [27])).toEqual([]); // ESC: no answer
    expect(await exchange(r, ascii('v'))).toEqual(ascii('?'));
  });

  it('block write, block read, chip erase, through the client', async () => {
    const r = await rig('leonardo');
    const c = new Avr109Client(r.link);
    expect(await c.sync()).toBe('CATERIN');
    expect([...(await c.readSignature())]).toEqual([0x1e, 0x95, 0x87]);
    expect(await c.blockSize()).toBe(128);
    const page = Uint8Array.from({ length: 128 }, (_, i) => i ^ 0x55);
    await c.setAddress(0x80);
    await c.writeBlock(page);
    await c.writeBlock(page); // auto-increment: the next page
    expect([...r.board.flash.read(0x100, 128)]).toEqual([...page]);
    await c.setAddress(0x80);
    expect([...(await c.readBlock(128))]).toEqual([...page]);
    await c.expectCr('e', { timeoutMs: 5000 }); // 224 pages erased and written: about 2 s
    expect(r.board.flash.isErased(0, 0x7000)).toBe(true);
    const err = await c.expectCr('v').catch((e: unknown) => e);
    expect((err as ProtocolError).code).toBe('protocol.command-failed');
    // '?' is Caterina's answer to a command byte it does not know: a damaged byte, retryable.
    expect(err).toMatchObject({ retryable: true });
  });

  it("'E' starts the sketch 500 ms later; without a sketch Caterina keeps waiting", async () => {
    const r = await rig('leonardo');
    expect(await exchange(r, ascii('E'))).toEqual([0x0d]);
    await r.wait(9000);
    expect(r.board.device.state).toBe('bootloader'); // no sketch: word 0 is 0xFFFF
    r.board.flash.load(0, Uint8Array.of(0x0c, 0x94));
    const ports: number[] = [];
    r.board.wire!.onPortChange((p) => {
      if (p.type === 'connect') ports.push(p.port.info.usbProductId ?? 0);
    });
    await r.wait(9000); // TIMEOUT_PERIOD
    expect(r.board.device.state).toBe('application');
    expect(ports).toEqual([0x8036]);
  });

  it('the 1200-baud touch: the sketch resets into Caterina, which enumerates as 2341:0036', async () => {
    const r = await rig('leonardo');
    r.board.flash.load(0, Uint8Array.of(0x0c, 0x94));
    await r.wait(9000);
    expect(r.board.device.state).toBe('application');
    const port = r.board.wire!.port!;
    expect(port.info.usbProductId).toBe(0x8036);
    const at57600 = await port.open({ baudRate: 57600 });
    await at57600.close();
    await r.wait(1000);
    expect(r.board.device.state).toBe('application'); // only 1200 baud counts
    const touch = await r.board.wire!.port!.open({ baudRate: 1200 });
    await touch.close();
    await r.wait(1000);
    expect(r.board.device.state).toBe('bootloader');
    expect(r.board.wire!.port!.info.usbProductId).toBe(0x0036);
  });
});
