import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteQueue } from '../core/byte-queue.ts';
import { fromHex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { FramingError, TimeoutError, TransportError } from '../core/errors.ts';
import { SlipDecoder, SlipReader, readSlipFrame, slipEncode } from './slip.ts';
import trace from '../../test/vectors/esp/serial-protocol-trace.json' with { type: 'json' };

const clock = () => new VirtualClock({ yieldToHost: setImmediate });

describe('slipEncode', () => {
  // RFC 1055 "SLIP DRIVERS": END (0xC0) → ESC ESC_END, ESC (0xDB) → ESC ESC_ESC.
  const vectors: [string, string][] = [
    ['', 'c0c0'],
    ['01', 'c001c0'],
    ['c0', 'c0dbdcc0'],
    ['db', 'c0dbddc0'],
    ['dbdc', 'c0dbdddcc0'],
    ['c0db00c0', 'c0dbdcdbdd00dbdcc0'],
  ];
  it.each(vectors)('encodes %s as %s', (payload, wire) => {
    expect(toHex(slipEncode(fromHex(payload)))).toBe(wire);
  });

  it('matches the esptool trace samples (serial protocol "Tracing")', () => {
    expect(toHex(slipEncode(fromHex(trace.readReg.requestPacket)))).toBe(trace.readReg.requestWire);
    expect(toHex(slipEncode(fromHex(trace.sync.requestPacket)))).toBe(trace.sync.requestWire);
  });

  it('does not modify its input', () => {
    const input = fromHex('c0dbc0');
    slipEncode(input);
    expect(toHex(input)).toBe('c0dbc0');
  });
});

describe('SlipDecoder', () => {
  it('decodes the esptool trace responses, including four SYNC replies in one read', () => {
    const d = new SlipDecoder();
    expect(d.push(fromHex(trace.readReg.responseWire)).map(toHex)).toEqual([
      trace.readReg.responsePacket,
    ]);
    const frames = d.push(fromHex(trace.sync.responseWire)).map(toHex);
    expect(frames).toEqual(Array(4).fill(trace.sync.responsePacket));
  });

  it('ignores garbage between frames and empty frames', () => {
    const d = new SlipDecoder();
    const boot = new TextEncoder().encode('rst:0x1 (POWERON),boot:0x0 (DOWNLOAD)\r\n');
    const frames = d.push(
      new Uint8Array([...boot, 0xc0, 0xc0, 1, 2, 0xc0, 0x41, 0x42, 0xc0, 3, 0xc0]),
    );
    expect(frames.map(toHex)).toEqual(['0102', '03']);
  });

  it('returns a frame only when its closing END arrives', () => {
    const d = new SlipDecoder();
    expect(d.push(fromHex('c00102'))).toEqual([]);
    expect(d.inFrame).toBe(true);
    expect(d.push(fromHex('db'))).toEqual([]);
    expect(d.push(fromHex('dc'))).toEqual([]);
    expect(d.push(fromHex('c0')).map(toHex)).toEqual(['0102c0']);
  });

  const bad: [string, string, string][] = [
    ['escape followed by a data byte', 'c001db01c0', 'framing.invalid'],
    ['escape followed by END', 'c001dbc0', 'framing.invalid'],
    ['escape followed by escape', 'c0dbdbc0', 'framing.invalid'],
    ['frame longer than the limit', 'c00102030405c0', 'framing.overflow'],
  ];
  it.each(bad)('rejects %s with FramingError', (_name, wire, code) => {
    const d = new SlipDecoder({ maxFrameLength: 4 });
    let err: unknown;
    try {
      d.push(fromHex(wire));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FramingError);
    expect((err as FramingError).code).toBe(code);
    // The decoder recovers: the next well-formed frame comes through.
    expect(d.push(fromHex('c00aeec0')).map(toHex)).toEqual(['0aee']);
  });

  it('keeps frames completed before an error and the bytes after it', () => {
    const d = new SlipDecoder();
    const wire = fromHex('c011c0' + 'c0dbffc0' + 'c022c0');
    expect(() => d.push(wire)).toThrow(FramingError);
    expect(d.push(new Uint8Array(0)).map(toHex)).toEqual(['11', '22']);
  });

  it('rejects a bad maxFrameLength', () => {
    expect(() => new SlipDecoder({ maxFrameLength: 0 })).toThrow(/maxFrameLength/);
  });

  it('round-trips any payloads through any chunking (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        fc.uint8Array({ maxLength: 20 }).filter((g) => !g.includes(0xc0)),
        (payloads, cuts, garbage) => {
          const wire = concat([garbage, ...payloads.map(slipEncode)]);
          const d = new SlipDecoder({ maxFrameLength: 1000 });
          const out: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...d.push(wire.subarray(at, at + n)));
            at += n;
          }
          expect(out.map(toHex)).toEqual(payloads.map(toHex));
        },
      ),
    );
  });
});

describe('SlipReader', () => {
  it('reads frames from a queue as they arrive, keeping extra frames for later', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = new SlipReader(q, { clock: c });
    const first = r.readFrame({ timeoutMs: 100 });
    q.push(fromHex('c00102'));
    q.push(fromHex('c0c00304c0'));
    expect(toHex(await first)).toBe('0102');
    expect(r.buffered).toBe(1);
    expect(toHex(await r.readFrame({ timeoutMs: 100 }))).toBe('0304');
  });

  it('times out when the frame does not complete within the deadline', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = new SlipReader(q, { clock: c });
    q.push(fromHex('c00102'));
    await expect(r.readFrame({ timeoutMs: 50, what: 'SYNC reply' })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(c.now()).toBe(50);
  });

  it('throws FramingError for a garbled frame, then reads the next one', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = new SlipReader(q, { clock: c });
    q.push(fromHex('c001db02c0c00506c0'));
    await expect(r.readFrame({ timeoutMs: 10 })).rejects.toBeInstanceOf(FramingError);
    expect(toHex(await r.readFrame({ timeoutMs: 10 }))).toBe('0506');
  });

  it('passes on the end error of the queue', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = new SlipReader(q, { clock: c });
    q.end(new TransportError('transport.device-lost', 'gone'));
    await expect(r.readFrame({ timeoutMs: 10 })).rejects.toBeInstanceOf(TransportError);
  });

  it('discard() drops decoded frames and buffered bytes', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    const r = new SlipReader(q, { clock: c });
    q.push(fromHex('c001c0c002c0'));
    await r.readFrame({ timeoutMs: 10 });
    q.push(fromHex('c003'));
    expect(r.discard()).toBe(3);
    q.push(fromHex('c004c0'));
    expect(toHex(await r.readFrame({ timeoutMs: 10 }))).toBe('04');
  });
});

describe('readSlipFrame', () => {
  it('reads one frame and leaves the following bytes in the queue', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    q.push(fromHex('ffc0dbdc01c0c002c0'));
    const f = await readSlipFrame(q, { clock: c, timeoutMs: 10, maxLength: 16 });
    expect(toHex(f)).toBe('c001');
    expect(q.available).toBe(3);
  });

  it('enforces maxLength and the overall deadline', async () => {
    const c = clock();
    const q = new ByteQueue(c);
    q.push(fromHex('c0010203'));
    await expect(readSlipFrame(q, { clock: c, timeoutMs: 10, maxLength: 2 })).rejects.toMatchObject(
      {
        code: 'framing.overflow',
      },
    );
    const q2 = new ByteQueue(c);
    q2.push(fromHex('c001'));
    const start = c.now();
    await expect(
      readSlipFrame(q2, { clock: c, timeoutMs: 30, maxLength: 8 }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(c.now() - start).toBe(30);
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
