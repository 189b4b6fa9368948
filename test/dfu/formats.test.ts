/**
 * File formats: CRC-32, DFU suffix (DFU 1.1 Appendix B), dfu-prefix prefixes, DfuSe files
 * (UM0391), Intel HEX, and the loader that recognises them. Vectors in test/vectors/dfu.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FramingError } from '../../src/core/errors.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { crc32 } from '../../src/formats/crc32.ts';
import { addStellarisPrefix, detectDfuPrefix } from '../../src/formats/dfu-prefix.ts';
import { addDfuSuffix, parseDfuSuffix } from '../../src/formats/dfu-suffix.ts';
import { encodeDfuseFile, parseDfuseFile, type DfuseFile } from '../../src/formats/dfuse-file.ts';
import { loadFirmwareFile } from '../../src/formats/firmware-file.ts';
import { encodeIntelHex, parseIntelHex, type IntelHex } from '../../src/formats/intel-hex.ts';

const vectors = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../vectors/dfu/${name}`, import.meta.url), 'utf8'));
const enc = new TextEncoder();

describe('crc32', () => {
  it('has the CRC-32 check value (ITU-T V.42 / IEEE 802.3: "123456789" → 0xCBF43926)', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('DFU suffix', () => {
  const files = (
    vectors('tool-made-files.json') as {
      files: {
        name: string;
        hex: string;
        payload: string;
        address?: number;
        suffix: Record<string, number>;
      }[];
    }
  ).files;

  it('parses files made by dfu-suffix and dfu-prefix (recorded)', () => {
    for (const f of files) {
      const bytes = fromHex(f.hex);
      const split = parseDfuSuffix(bytes)!;
      expect(split.suffix).toEqual(f.suffix);
      const loaded = loadFirmwareFile(bytes);
      expect(loaded.kind).toBe('dfu');
      expect(new TextDecoder().decode(loaded.images[0]!.data)).toBe(f.payload);
      expect(loaded.images[0]!.address).toBe(f.address);
    }
  });

  it('writes the same bytes as dfu-suffix', () => {
    const f = files[0]!;
    const out = addDfuSuffix(enc.encode(f.payload), {
      idVendor: 0x0483,
      idProduct: 0xdf11,
      bcdDevice: 0x2200,
    });
    expect(toHex(out)).toBe(f.hex);
  });

  it('round-trips any payload and fields (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.record({
          idVendor: fc.integer({ min: 0, max: 0xffff }),
          idProduct: fc.integer({ min: 0, max: 0xffff }),
          bcdDevice: fc.integer({ min: 0, max: 0xffff }),
          bcdDFU: fc.constantFrom(0x0100, 0x0110, 0x011a),
        }),
        (payload, fields) => {
          const copy = payload.slice();
          const file = addDfuSuffix(payload, fields);
          expect(payload).toEqual(copy); // input untouched
          const split = parseDfuSuffix(file)!;
          expect(split.payload).toEqual(payload);
          expect(split.suffix).toMatchObject({ ...fields, length: 16 });
        },
      ),
    );
  });

  it('rejects damaged files (table)', () => {
    const good = addDfuSuffix(enc.encode('firmware'), {});
    const flip = (i: number): Uint8Array => {
      const b = good.slice();
      b[i]! ^= 1;
      return b;
    };
    const shortLen = good.slice();
    shortLen[good.length - 5] = 8;
    // fix the CRC so only the length is wrong
    const crcFixed = addDfuSuffix(shortLen.subarray(0, shortLen.length - 16), {}).slice();
    crcFixed[crcFixed.length - 5] = 8;
    const table: [string, Uint8Array][] = [
      ['payload bit flipped', flip(0)],
      ['suffix field flipped', flip(good.length - 12)],
      ['CRC flipped', flip(good.length - 1)],
    ];
    for (const [what, bytes] of table) {
      expect(() => parseDfuSuffix(bytes), what).toThrow(FramingError);
    }
    expect(parseDfuSuffix(enc.encode('no suffix here at all'))).toBeUndefined();
    expect(parseDfuSuffix(new Uint8Array(3))).toBeUndefined();
    expect(() => addDfuSuffix(new Uint8Array(1), { idVendor: 0x10000 })).toThrow(RangeError);
  });
});

describe('dfu-prefix prefixes', () => {
  it('round-trips a Stellaris prefix (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 0xffff }),
        (body, kib) => {
          const withPrefix = addStellarisPrefix(body, kib * 1024);
          const found = detectDfuPrefix(withPrefix)!;
          expect(found.prefix).toEqual({
            kind: 'stellaris',
            address: kib * 1024,
            payloadLength: body.length,
          });
          expect(found.body).toEqual(body);
        },
      ),
    );
  });

  it('recognises the NXP LPC prefix as dfu-prefix -L writes it', () => {
    const body = new Uint8Array(500).fill(7);
    const lpc = new Uint8Array(16 + 500);
    lpc.set([0x1a, 0x3f, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    lpc.set(body, 16);
    expect(detectDfuPrefix(lpc)).toEqual({ prefix: { kind: 'lpc', blocks: 1 }, body });
  });

  it('does not mistake a binary starting with 01 00 for a prefix', () => {
    expect(detectDfuPrefix(new Uint8Array([1, 0, 8, 0, 99, 0, 0, 0, 1, 2]))).toBeUndefined();
    expect(() => addStellarisPrefix(new Uint8Array(1), 1000)).toThrow(FramingError);
  });
});

const arbDfuse: fc.Arbitrary<DfuseFile> = fc.record({
  idVendor: fc.integer({ min: 0, max: 0xffff }),
  idProduct: fc.integer({ min: 0, max: 0xffff }),
  bcdDevice: fc.integer({ min: 0, max: 0xffff }),
  targets: fc.array(
    fc.record(
      {
        alternateSetting: fc.integer({ min: 0, max: 255 }),
        name: fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
        elements: fc.array(
          fc.record({
            address: fc.integer({ min: 0, max: 0xfff00000 }),
            data: fc.uint8Array({ maxLength: 64 }),
          }),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: ['alternateSetting', 'elements'] },
    ),
    { maxLength: 4 },
  ),
});

describe('DfuSe file', () => {
  it('round-trips (fast-check)', () => {
    fc.assert(
      fc.property(arbDfuse, (file) => {
        expect(parseDfuseFile(encodeDfuseFile(file))).toEqual(file);
      }),
    );
  });

  it('lays out the prefix, target and element headers as UM0391 §2 says', () => {
    const bytes = encodeDfuseFile({
      idVendor: 0x0483,
      idProduct: 0xdf11,
      bcdDevice: 0x2200,
      targets: [
        {
          alternateSetting: 0,
          name: 'ST...',
          elements: [{ address: 0x08000000, data: new Uint8Array([1, 2, 3, 4]) }],
        },
      ],
    });
    const total = 11 + 274 + 8 + 4;
    expect(bytes.length).toBe(total + 16);
    expect(toHex(bytes.subarray(0, 11))).toBe('4466755365' + '01' + '29010000' + '01');
    expect(new TextDecoder().decode(bytes.subarray(11, 17))).toBe('Target');
    expect(toHex(bytes.subarray(11 + 6, 11 + 11))).toBe('0001000000');
    expect(toHex(bytes.subarray(11 + 266, 11 + 274))).toBe('0c00000001000000');
    expect(toHex(bytes.subarray(285, 297))).toBe('0000000804000000' + '01020304');
    expect(toHex(bytes.subarray(total, total + 12))).toBe('002211df83041a0155464410');
  });

  it('rejects broken files (table)', () => {
    const good = encodeDfuseFile({
      idVendor: 0xffff,
      idProduct: 0xffff,
      bcdDevice: 0xffff,
      targets: [
        { alternateSetting: 0, elements: [{ address: 0x08000000, data: new Uint8Array(8) }] },
      ],
    });
    const payload = good.subarray(0, good.length - 16);
    const resuffix = (mutate: (p: Uint8Array) => Uint8Array, bcdDFU = 0x011a): Uint8Array =>
      addDfuSuffix(mutate(payload.slice()), { bcdDFU });
    const set = (i: number, v: number) => (p: Uint8Array) => {
      p[i] = v;
      return p;
    };
    const table: [string, Uint8Array][] = [
      ['no suffix', payload],
      ['bcdDFU 0x0100', resuffix((p) => p, 0x0100)],
      ['bad signature', resuffix(set(0, 0x58))],
      ['version 2', resuffix(set(5, 2))],
      ['image size wrong', resuffix(set(6, 1))],
      ['two targets announced', resuffix(set(10, 2))],
      ['target signature', resuffix(set(11, 0x58))],
      ['target size too big', resuffix(set(11 + 266, 200))],
      ['element count too big', resuffix(set(11 + 270, 2))],
      ['element size too big', resuffix(set(11 + 274 + 4, 9))],
      ['stray bytes', addDfuSuffix(new Uint8Array([...payload, 0]), { bcdDFU: 0x011a })],
      ['cut short', addDfuSuffix(payload.subarray(0, 20), { bcdDFU: 0x011a })],
    ];
    for (const [what, bytes] of table)
      expect(() => parseDfuseFile(bytes), what).toThrow(FramingError);
    expect(() =>
      encodeDfuseFile({
        idVendor: 0,
        idProduct: 0,
        bcdDevice: 0,
        targets: [{ alternateSetting: 0, name: 'é', elements: [] }],
      }),
    ).toThrow(FramingError);
    expect(() =>
      encodeDfuseFile({
        idVendor: 0,
        idProduct: 0,
        bcdDevice: 0,
        targets: [
          { alternateSetting: 0, elements: [{ address: 0xffffffff, data: new Uint8Array(2) }] },
        ],
      }),
    ).toThrow(FramingError);
  });
});

const arbHex: fc.Arbitrary<IntelHex> = fc
  .record({
    runs: fc.array(
      fc.record({
        gap: fc.integer({ min: 1, max: 0x30000 }),
        data: fc.uint8Array({ minLength: 1, maxLength: 80 }),
      }),
      { maxLength: 6 },
    ),
    startLinear: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    startSegment: fc.option(
      fc.record({
        cs: fc.integer({ min: 0, max: 0xffff }),
        ip: fc.integer({ min: 0, max: 0xffff }),
      }),
      { nil: undefined },
    ),
  })
  .map(({ runs, startLinear, startSegment }) => {
    let at = 0xfff0;
    const segments = runs.map((r) => {
      const s = { address: at, data: r.data };
      at += r.data.length + r.gap;
      return s;
    });
    return {
      segments,
      ...(startLinear !== undefined ? { startLinear } : {}),
      ...(startSegment ? { startSegment } : {}),
    };
  });

describe('Intel HEX', () => {
  const cases = (
    vectors('intel-hex.json') as {
      cases: {
        name: string;
        text: string;
        segments: { address: number; hex: string }[];
        startLinear?: number;
        startSegment?: { cs: number; ip: number };
      }[];
    }
  ).cases;
  for (const c of cases) {
    it(`parses: ${c.name}`, () => {
      const hex = parseIntelHex(c.text);
      expect(hex.segments.map((s) => ({ address: s.address, hex: toHex(s.data) }))).toEqual(
        c.segments,
      );
      expect(hex.startLinear).toBe(c.startLinear);
      expect(hex.startSegment).toEqual(c.startSegment);
    });
  }

  it('round-trips with linear and segment addressing, any record size (fast-check)', () => {
    fc.assert(
      fc.property(
        arbHex,
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (hex, recordSize, crlf) => {
          const text = encodeIntelHex(hex, { recordSize, eol: crlf ? '\r\n' : '\n' });
          expect(parseIntelHex(text)).toEqual(hex);
          const low = {
            segments: hex.segments.filter((s) => s.address + s.data.length <= 0x100000),
          };
          expect(parseIntelHex(encodeIntelHex(low, { recordSize, addressing: 'segment' }))).toEqual(
            low,
          );
        },
      ),
    );
  });

  it('reads the shared firmware images (Arduino Uno, nRF52)', () => {
    for (const name of ['avr-uno-Blink.hex', 'avr-uno-StandardFirmata.hex', 'nrf-foo.hex']) {
      const text = readFileSync(new URL(`../fixtures/firmware/${name}`, import.meta.url), 'utf8');
      const hex = parseIntelHex(text);
      const dataBytes = text
        .split('\n')
        .filter((l) => l.slice(7, 9) === '00')
        .reduce((n, l) => n + parseInt(l.slice(1, 3), 16), 0);
      expect(
        hex.segments.reduce((n, s) => n + s.data.length, 0),
        name,
      ).toBe(dataBytes);
      expect(parseIntelHex(encodeIntelHex(hex))).toEqual(hex);
    }
  });

  it('rejects bad input (table)', () => {
    const table: [string, string][] = [
      ['no colon', '0100000055AA\n:00000001FF\n'],
      ['odd digits', ':0100000055A\n:00000001FF\n'],
      ['not hex', ':01000000GGAA\n:00000001FF\n'],
      ['too short', ':000000\n:00000001FF\n'],
      ['count mismatch', ':0200000055A9\n:00000001FF\n'],
      ['bad checksum', ':0100000055AB\n:00000001FF\n'],
      ['unknown type', ':00000006FA\n:00000001FF\n'],
      ['EOF with data', ':0100000155A9\n'],
      ['02 with 1 byte', ':0100000210EE\n:00000001FF\n'],
      ['03 with 2 bytes', ':020000030000FB\n:00000001FF\n'],
      ['04 with 3 bytes', ':03000004000000F9\n:00000001FF\n'],
      ['05 with 2 bytes', ':020000050000F9\n:00000001FF\n'],
      ['missing EOF', ':0100000055AA\n'],
      ['data after EOF', ':00000001FF\n:0100000055AA\n'],
      ['overlap', ':0100000055AA\n:0100000055AA\n:00000001FF\n'],
      ['empty', ''],
    ];
    for (const [what, text] of table) expect(() => parseIntelHex(text), what).toThrow(FramingError);
    expect(() => encodeIntelHex({ segments: [] }, { recordSize: 0 })).toThrow(RangeError);
    expect(() =>
      encodeIntelHex(
        { segments: [{ address: 0x100000, data: new Uint8Array(1) }] },
        { addressing: 'segment' },
      ),
    ).toThrow(RangeError);
  });
});

describe('loadFirmwareFile', () => {
  it('recognises each kind', () => {
    const dfuse = encodeDfuseFile({
      idVendor: 0x0483,
      idProduct: 0xdf11,
      bcdDevice: 0,
      targets: [
        {
          alternateSetting: 0,
          name: 'Internal Flash',
          elements: [{ address: 0x08000000, data: new Uint8Array([9]) }],
        },
      ],
    });
    expect(loadFirmwareFile(dfuse)).toMatchObject({
      kind: 'dfuse',
      images: [{ address: 0x08000000, alternateSetting: 0, targetName: 'Internal Flash' }],
    });
    expect(loadFirmwareFile(enc.encode(':0100000055AA\n:00000001FF\n'))).toMatchObject({
      kind: 'ihex',
      images: [{ address: 0 }],
    });
    expect(loadFirmwareFile(new Uint8Array([1, 2, 3]), { address: 0x08004000 })).toMatchObject({
      kind: 'bin',
      images: [{ address: 0x08004000 }],
    });
    expect(
      loadFirmwareFile(addDfuSuffix(new Uint8Array([1, 2]), {}), { address: 5 }),
    ).toMatchObject({ kind: 'dfu', images: [{ address: 5 }] });
    expect(() => loadFirmwareFile(new Uint8Array(0))).toThrow(FramingError);
  });
});
