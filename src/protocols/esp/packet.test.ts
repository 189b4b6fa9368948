import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { EspCommand, SYNC_PAYLOAD } from './constants.ts';
import {
  decodeCommand,
  decodeResponse,
  encodeCommand,
  encodeDataPayload,
  encodeResponse,
  espChecksum,
  words,
} from './packet.ts';
import trace from '../../../test/vectors/esp/serial-protocol-trace.json' with { type: 'json' };

describe('espChecksum (serial protocol "Checksum": seed 0xEF, XOR of each byte)', () => {
  it.each([
    ['', 0xef],
    ['00', 0xef],
    ['ef', 0x00],
    ['01020304', 0xef ^ 1 ^ 2 ^ 3 ^ 4],
    ['ffffffff', 0xef],
  ])('checksum of %s is %i', (hex, sum) => {
    expect(espChecksum(fromHex(hex))).toBe(sum);
  });
});

describe('encodeCommand', () => {
  it('builds the documented SYNC and READ_REG requests (esptool trace samples)', () => {
    expect(toHex(encodeCommand(EspCommand.SYNC, SYNC_PAYLOAD))).toBe(trace.sync.requestPacket);
    expect(toHex(encodeCommand(EspCommand.READ_REG, words(0x3ff40014)))).toBe(
      trace.readReg.requestPacket,
    );
  });

  it('puts the checksum little-endian in bytes 4-7', () => {
    const p = encodeCommand(EspCommand.FLASH_DATA, encodeDataPayload(fromHex('0102'), 7), 0xec);
    expect(toHex(p.subarray(0, 8))).toBe('00031200ec000000');
    expect(toHex(p.subarray(8, 24))).toBe('02000000' + '07000000' + '00000000' + '00000000');
  });

  it.each([
    ['op above 255', 256, 0],
    ['negative op', -1, 0],
    ['fractional op', 1.5, 0],
    ['data over 65535 bytes', 1, 65536],
  ])('rejects %s', (_n, op, len) => {
    expect(() => encodeCommand(op, new Uint8Array(len))).toThrow(/encodeCommand/);
  });

  it('round-trips through decodeCommand (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (op, data, checksum) => {
          const d = decodeCommand(encodeCommand(op, data, checksum));
          expect(d.op).toBe(op);
          expect(d.checksum).toBe(checksum);
          expect(toHex(d.data)).toBe(toHex(data));
        },
      ),
    );
  });

  it.each([
    ['short', '000800'],
    ['response direction', '0108000000000000'],
    ['size too large', '0008010000000000'],
  ])('decodeCommand rejects a %s packet', (_n, hex) => {
    expect(() => decodeCommand(fromHex(hex))).toThrow(ProtocolError);
  });
});

describe('decodeResponse', () => {
  it('decodes the documented READ_REG reply (2 status bytes) and SYNC reply (4)', () => {
    const r = decodeResponse(fromHex(trace.readReg.responsePacket), {
      statusBytes: trace.readReg.responseStatusBytes,
      expectOp: EspCommand.READ_REG,
    });
    expect(r.value).toBe(Number(trace.readReg.responseValue));
    expect(r.data.length).toBe(0);
    expect(r.error).toBeUndefined();
    const s = decodeResponse(fromHex(trace.sync.responsePacket), {
      statusBytes: 4,
      expectOp: EspCommand.SYNC,
    });
    expect(s.value).toBe(Number(trace.sync.responseValue));
    expect(toHex(s.status)).toBe('00000000');
  });

  it('separates data from status bytes', () => {
    const frame = encodeResponse({
      op: EspCommand.SPI_FLASH_MD5,
      data: fromHex('aabbcc'),
      statusBytes: 4,
    });
    const r = decodeResponse(frame, { statusBytes: 4 });
    expect(toHex(r.data)).toBe('aabbcc');
    expect(r.status.length).toBe(4);
  });

  const bad: [string, string, number, number | undefined, string, number | undefined][] = [
    // name, frame, statusBytes, expectOp, code, status
    ['too short for a header', '010a02', 2, 0x0a, 'protocol.bad-reply', undefined],
    ['request direction byte', '000a0200000000000000', 2, 0x0a, 'protocol.bad-reply', undefined],
    [
      'size field larger than the data',
      '010a0400000000000000',
      2,
      0x0a,
      'protocol.bad-reply',
      undefined,
    ],
    [
      'size field smaller than the data',
      '010a0100000000000000',
      2,
      0x0a,
      'protocol.bad-reply',
      undefined,
    ],
    ['reply to another command', '01080200000000000000', 2, 0x0a, 'protocol.bad-reply', undefined],
    ['missing status bytes', '010a000000000000', 2, 0x0a, 'protocol.bad-reply', undefined],
    [
      'flash write error',
      '01030400000000000108' + '0000',
      4,
      0x03,
      'protocol.command-failed',
      0x08,
    ],
    ['deflate error', '0111020000000000010b', 2, 0x11, 'protocol.command-failed', 0x0b],
    // The stubs put their code first (esp-flasher-stub RESPONSE_BAD_DATA_CHECKSUM = 0xC100).
    ['stub checksum error', '01110200000000' + '00c100', 2, 0x11, 'protocol.command-failed', 0xc1],
    ['stub inflate error', '01120200000000' + '00c700', 2, 0x12, 'protocol.command-failed', 0xc7],
    ['stub invalid command', '01420200000000' + '00c300', 2, 0x42, 'protocol.unsupported', 0xc3],
    ['stub not implemented', '01d50200000000' + '00ff00', 2, 0xd5, 'protocol.unsupported', 0xff],
    [
      'invalid message (unsupported)',
      '01140400000000000105' + '0000',
      4,
      0x14,
      'protocol.unsupported',
      0x05,
    ],
    [
      'invalid message for another op',
      '01000400000000000105' + '0000',
      4,
      0x14,
      'protocol.unsupported',
      0x05,
    ],
  ];
  it.each(bad)('rejects %s', (_name, hex, statusBytes, expectOp, code, status) => {
    const frame = fromHex(hex);
    let err: unknown;
    try {
      decodeResponse(frame, { statusBytes, ...(expectOp === undefined ? {} : { expectOp }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    const pe = err as ProtocolError;
    expect(pe.code).toBe(code);
    if (status !== undefined) expect(pe.status).toBe(status);
    expect(pe.opcode).toBeDefined();
  });

  it('round-trips through encodeResponse (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 100 }),
        fc.constantFrom(2, 4),
        fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        fc.constantFrom('rom' as const, 'stub' as const),
        (op, value, data, statusBytes, anyError, layout) => {
          // Stub codes are 0xC0 and up (stub_flasher.h, esp-flasher-stub commands.h).
          const error = layout === 'stub' && anyError !== undefined ? anyError | 0xc0 : anyError;
          const frame = encodeResponse({ op, value, data, statusBytes, error, layout });
          const r = decodeResponse(frame, { statusBytes, expectOp: op, checkStatus: false });
          expect(r.op).toBe(op);
          expect(r.value).toBe(value);
          expect(toHex(r.data)).toBe(toHex(data));
          expect(r.error).toBe(error);
        },
      ),
    );
  });
});
