/**
 * SMP over a console (SMP Transport Specification "UART/serial and console"; MCUboot
 * boot_serial.c): frame markers, the 127-byte frame limit, base64, the big-endian length and
 * CRC16 (XMODEM), console text skipped; property tests over random packets and random chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../src/core/byte-queue.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { TimeoutError } from '../../src/core/errors.ts';
import { decodeBase64 } from '../../src/formats/base64.ts';
import {
  crc16Xmodem,
  encodeSmpConsole,
  SmpConsoleDecoder,
  SmpConsoleReader,
  type ConsoleEvent,
} from '../../src/protocols/mcuboot/console-framing.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const packets = (events: ConsoleEvent[]): Uint8Array[] =>
  events.flatMap((e) => (e.kind === 'packet' ? [e.packet] : []));

/** Splits framed bytes into lines (each ends with its newline). */
function lines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  bytes.forEach((b, i) => {
    if (b === 0x0a) {
      out.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  });
  return out;
}

describe('crc16Xmodem', () => {
  it('matches the CRC-16/XMODEM check value (Greg Cook catalogue: 0x31C3 for "123456789")', () => {
    expect(crc16Xmodem(ascii('123456789'))).toBe(0x31c3);
    expect(crc16Xmodem(new Uint8Array(0))).toBe(0);
  });

  it('is 0 over data followed by its own CRC, big-endian (boot_serial_in_dec)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (data) => {
        const crc = crc16Xmodem(data);
        const withCrc = new Uint8Array([...data, crc >> 8, crc & 0xff]);
        expect(crc16Xmodem(withCrc)).toBe(0);
      }),
    );
  });
});

describe('encodeSmpConsole', () => {
  it('frames a short packet as one 0x06 0x09 frame: length, packet, CRC, base64, newline', () => {
    const packet = Uint8Array.from([0x08, 0, 0, 1, 0, 0, 0x2a, 0, 0xa0]); // echo-ish, 1-byte body
    const framed = encodeSmpConsole(packet);
    expect([...framed.subarray(0, 2)]).toEqual([0x06, 0x09]);
    expect(framed.at(-1)).toBe(0x0a);
    const raw = decodeBase64(new TextDecoder().decode(framed.subarray(2, -1)));
    expect([...raw.subarray(0, 2)]).toEqual([0, packet.length + 2]);
    expect(raw.subarray(2, 2 + packet.length)).toEqual(packet);
    const crc = crc16Xmodem(packet);
    expect([...raw.subarray(-2)]).toEqual([crc >> 8, crc & 0xff]);
  });

  it('cuts long packets into frames of at most 127 bytes with 0x04 0x14 continuations', () => {
    const packet = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const framed = encodeSmpConsole(packet);
    const ls = lines(framed);
    expect(ls.length).toBeGreaterThan(8);
    for (const [i, l] of ls.entries()) {
      expect(l.length).toBeLessThanOrEqual(127);
      expect([...l.subarray(0, 2)]).toEqual(i === 0 ? [0x06, 0x09] : [0x04, 0x14]);
      if (i < ls.length - 1) expect(l.length).toBe(127); // 124 base64 characters, a multiple of 4
    }
  });

  it('honours a smaller frame size and refuses bad arguments', () => {
    const framed = encodeSmpConsole(new Uint8Array(100).fill(1), 32);
    for (const l of lines(framed)) expect(l.length).toBeLessThanOrEqual(32);
    expect(() => encodeSmpConsole(new Uint8Array(0))).toThrow(/cannot be framed/);
    expect(() => encodeSmpConsole(new Uint8Array(70000))).toThrow(/cannot be framed/);
    expect(() => encodeSmpConsole(new Uint8Array(4), 7)).toThrow(/too small/);
  });
});

describe('SmpConsoleDecoder', () => {
  it('round-trips any packet through any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 8, max: 127 }),
        (list, chunk, frame) => {
          const stream = Uint8Array.from(list.flatMap((p) => [...encodeSmpConsole(p, frame)]));
          const d = new SmpConsoleDecoder();
          const got: Uint8Array[] = [];
          for (let i = 0; i < stream.length; i += chunk) {
            got.push(...packets(d.push(stream.subarray(i, i + chunk))));
          }
          expect(got).toEqual(list);
        },
      ),
    );
  });

  it('skips console lines and text before a frame marker on the same line', () => {
    const packet = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const d = new SmpConsoleDecoder();
    const events = d.push(
      Uint8Array.from([
        ...ascii('*** Booting Zephyr OS build v3.7.0 ***\r\n'),
        ...ascii('<inf> app: noise '),
        ...encodeSmpConsole(packet),
      ]),
    );
    expect(events.filter((e) => e.kind === 'text')).toEqual([
      { kind: 'text', text: '*** Booting Zephyr OS build v3.7.0 ***' },
    ]);
    expect(packets(events)).toEqual([packet]);
  });

  it('accepts a CR before the newline', () => {
    const packet = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]);
    const framed = encodeSmpConsole(packet);
    const withCr = Uint8Array.from([...framed.subarray(0, -1), 0x0d, 0x0a]);
    expect(packets(new SmpConsoleDecoder().push(withCr))).toEqual([packet]);
  });

  it('drops a packet with a bad CRC, bad base64, a wrong length, or an orphan continuation', () => {
    const packet = Uint8Array.from({ length: 300 }, (_, i) => i);
    const framed = encodeSmpConsole(packet);
    const reasons = (bytes: Uint8Array): string[] =>
      new SmpConsoleDecoder()
        .push(bytes)
        .flatMap((e) =>
          e.kind === 'bad-frame' ? [e.reason] : e.kind === 'packet' ? ['packet'] : [],
        );

    const flipped = framed.slice();
    const i = flipped.indexOf(0x41 /* 'A' */, 10);
    flipped[i] = 0x42; // another valid base64 character: the CRC catches it
    expect(reasons(flipped)).toEqual(['a CRC error']);

    const bad = framed.slice();
    bad[5] = 0x2e; // '.' is not base64
    // The rest of that packet's frames then have no first frame.
    expect(reasons(bad)).toEqual([
      'a frame that is not valid base64',
      ...Array<string>(lines(framed).length - 1).fill('a continuation frame without a first frame'),
    ]);

    const [first, ...rest] = lines(framed);
    expect(reasons(Uint8Array.from(rest.flatMap((l) => [...l])))[0]).toBe(
      'a continuation frame without a first frame',
    );
    // A new first frame abandons a half-received packet.
    expect(reasons(Uint8Array.from([...first!, ...framed]))).toEqual(['packet']);

    const short = encodeSmpConsole(Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const raw = decodeBase64(new TextDecoder().decode(short.subarray(2, -1)));
    raw[1] = 3; // length says 3 (1 byte + CRC) but 8 follow
    const text = btoa(String.fromCharCode(...raw));
    expect(reasons(Uint8Array.from([0x06, 0x09, ...ascii(text), 0x0a]))).toEqual([
      'more bytes than the packet length',
    ]);
  });

  it('skips a line longer than its buffer', () => {
    const d = new SmpConsoleDecoder({ maxLine: 16 });
    const events = d.push(Uint8Array.from([...ascii('x'.repeat(40)), 0x0a]));
    expect(events).toEqual([
      { kind: 'bad-frame', reason: 'a line longer than the receive buffer' },
    ]);
  });
});

describe('SmpConsoleReader', () => {
  it('returns packets as they complete and counts what it skipped', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const q = new ByteQueue(clock);
    const reader = new SmpConsoleReader(q, clock);
    const packet = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const broken = encodeSmpConsole(packet);
    broken[4]! ^= 0x01;
    q.push(Uint8Array.from([...ascii('hello\n'), ...broken, ...encodeSmpConsole(packet)]));
    expect(await reader.next({ timeoutMs: 100 })).toEqual(packet);
    expect(reader.textLines).toBe(1);
    expect(reader.lastText).toBe('hello');
    expect(reader.badFrames).toBe(1);
    await expect(reader.next({ timeoutMs: 100, what: 'echo' })).rejects.toThrow(TimeoutError);
  });
});
