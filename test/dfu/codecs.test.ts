/** DFU request codecs, GETSTATUS, functional descriptor, DfuSe memory map, USB descriptors. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { FramingError } from '../../src/core/errors.ts';
import {
  decodeFunctionalDescriptor,
  encodeFunctionalDescriptor,
  findDfuInterfaces,
} from '../../src/protocols/dfu/dfu-descriptor.ts';
import * as req from '../../src/protocols/dfu/dfu-requests.ts';
import { encodeDfuseCommand } from '../../src/protocols/dfu/dfuse-client.ts';
import {
  formatMemoryLayout,
  parseMemoryLayout,
  sectorsTouched,
} from '../../src/protocols/dfu/dfuse-layout.ts';
import { chipFromFlashMap } from '../../src/protocols/dfu/dfuse-chips.ts';
import { STM32F405_INTERFACE_STRINGS, STM32L476_DFUSE } from '../../src/sim/dfu/dfuse-sim.ts';
import {
  decodeStringDescriptor,
  encodeConfigurationDescriptor,
  encodeStringDescriptor,
  parseConfigurationDescriptor,
  splitDescriptors,
} from '../../src/transport/usb-descriptors.ts';
import type { UsbSetup } from '../../src/transport/usb.ts';

interface Vectors {
  requests: {
    name: string;
    call: [string, ...(string | number)[]];
    bmRequestType: number;
    bRequest: number;
    wValue: number;
    wIndex: number;
    wLength: number;
  }[];
  getStatus: {
    cases: {
      bytes: string;
      status: number;
      pollTimeoutMs: number;
      state: number;
      stringIndex: number;
    }[];
  };
  functionalDescriptor: { cases: ({ bytes: string } & Record<string, unknown>)[] };
}
const v = JSON.parse(
  readFileSync(new URL('../vectors/dfu/dfu11-requests.json', import.meta.url), 'utf8'),
) as Vectors;

/** bmRequestType as USB 2.0 §9.3.1 packs it. */
function bmRequestType(direction: 'in' | 'out', s: UsbSetup): number {
  const type = { standard: 0, class: 1, vendor: 2 }[s.requestType];
  const rec = { device: 0, interface: 1, endpoint: 2, other: 3 }[s.recipient];
  return (direction === 'in' ? 0x80 : 0) | (type << 5) | rec;
}

describe('DFU request codecs (DFU 1.1 Table 3.2)', () => {
  for (const r of v.requests) {
    it(r.name, () => {
      const [fn, ...args] = r.call;
      const make: Record<string, (...a: never[]) => req.DfuWireRequest> = {
        detach: (t: number) => req.detachRequest(0, t),
        dnload: (b: number, d: string) => req.dnloadRequest(0, b, fromHex(d)),
        upload: (b: number, l: number) => req.uploadRequest(0, b, l),
        getStatus: () => req.getStatusRequest(0),
        clrStatus: () => req.clrStatusRequest(0),
        getState: () => req.getStateRequest(0),
        abort: () => req.abortRequest(0),
      };
      const w = (make[fn] as (...a: unknown[]) => req.DfuWireRequest)(...args);
      expect(bmRequestType(w.direction, w.setup)).toBe(r.bmRequestType);
      expect([w.setup.request, w.setup.value, w.setup.index, w.length]).toEqual([
        r.bRequest,
        r.wValue,
        r.wIndex,
        r.wLength,
      ]);
    });
  }

  it('rejects out-of-range fields (table)', () => {
    const table: [string, () => unknown][] = [
      ['timeout 65536', () => req.detachRequest(0, 0x10000)],
      ['negative block', () => req.dnloadRequest(0, -1, new Uint8Array(1))],
      ['fractional block', () => req.uploadRequest(0, 1.5, 1)],
      ['length 65536', () => req.uploadRequest(0, 0, 0x10000)],
    ];
    for (const [what, f] of table) expect(f, what).toThrow(RangeError);
  });
});

describe('DFU_GETSTATUS (DFU 1.1 §6.1.2)', () => {
  for (const c of v.getStatus.cases) {
    it(`decodes ${c.bytes}`, () => {
      const { bytes, ...report } = c;
      expect(req.decodeStatus(fromHex(bytes))).toEqual(report);
      expect(toHex(req.encodeStatus(report))).toBe(bytes);
    });
  }
  it('round-trips (fast-check) and rejects wrong lengths', () => {
    fc.assert(
      fc.property(
        fc.nat(255),
        fc.nat(0xffffff),
        fc.nat(255),
        fc.nat(255),
        (status, pollTimeoutMs, state, stringIndex) => {
          const r = { status, pollTimeoutMs, state, stringIndex };
          expect(req.decodeStatus(req.encodeStatus(r))).toEqual(r);
        },
      ),
    );
    for (const n of [0, 5, 7])
      expect(() => req.decodeStatus(new Uint8Array(n))).toThrow(FramingError);
    expect(() =>
      req.encodeStatus({ status: 0, pollTimeoutMs: 0x1000000, state: 0, stringIndex: 0 }),
    ).toThrow(RangeError);
  });
});

describe('DFU functional descriptor (DFU 1.1 §4.1.3)', () => {
  for (const c of v.functionalDescriptor.cases) {
    it(`decodes ${c.bytes}`, () => {
      const { bytes, note: _note, ...expected } = c;
      expect(decodeFunctionalDescriptor(fromHex(bytes))).toEqual(expected);
    });
  }
  it('round-trips (fast-check) and rejects what is not one', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.nat(0xffff),
        (a, b, c, d, t, s, ver) => {
          const f = {
            canDownload: a,
            canUpload: b,
            manifestationTolerant: c,
            willDetach: d,
            detachTimeoutMs: t,
            transferSize: s,
            dfuVersion: ver,
          };
          expect(decodeFunctionalDescriptor(encodeFunctionalDescriptor(f))).toEqual(f);
        },
      ),
    );
    for (const bad of ['0921', '09240bff0000081a01', '03210b'])
      expect(() => decodeFunctionalDescriptor(fromHex(bad)), bad).toThrow(FramingError);
  });

  it('is found after the last alternate and shared by all (UM0424 layout)', () => {
    const fd = encodeFunctionalDescriptor({
      canDownload: true,
      canUpload: true,
      manifestationTolerant: false,
      willDetach: true,
      detachTimeoutMs: 255,
      transferSize: 2048,
      dfuVersion: 0x011a,
    });
    const bytes = encodeConfigurationDescriptor({
      configurationValue: 1,
      interfaces: [0, 1, 2, 3].map((alt) => ({
        interfaceNumber: 0,
        alternateSetting: alt,
        interfaceClass: 0xfe,
        interfaceSubclass: 1,
        interfaceProtocol: 2,
        stringIndex: 4 + alt,
        ...(alt === 3 ? { extra: [fd] } : {}),
      })),
    });
    const found = findDfuInterfaces(parseConfigurationDescriptor(bytes));
    expect(found).toHaveLength(4);
    expect(found.every((f) => f.functional?.transferSize === 2048 && f.dfuMode)).toBe(true);
    expect(found.map((f) => f.stringIndex)).toEqual([4, 5, 6, 7]);
  });
});

describe('USB descriptors (USB 2.0 §9.6)', () => {
  it('round-trips strings and rejects malformed sets', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 126 }), (s) => {
        expect(decodeStringDescriptor(encodeStringDescriptor(s))).toBe(s);
      }),
    );
    expect(() => encodeStringDescriptor('x'.repeat(127))).toThrow(RangeError);
    expect(() => decodeStringDescriptor(fromHex('0402'))).toThrow(FramingError);
    expect(() => splitDescriptors(fromHex('0902'))).toThrow(FramingError);
    expect(() => splitDescriptors(fromHex('0104'))).toThrow(FramingError);
    expect(() => parseConfigurationDescriptor(fromHex('090409000000000000'))).toThrow(FramingError);
    const cfg = encodeConfigurationDescriptor({ configurationValue: 1, interfaces: [] });
    expect(() =>
      parseConfigurationDescriptor(cfg.subarray(0, 9).map((b, i) => (i === 2 ? 20 : b))),
    ).toThrow(/says 20 bytes/);
  });
});

describe('DfuSe memory map (UM0424 §4.3.2)', () => {
  it('parses the STM32F405 strings', () => {
    const flash = parseMemoryLayout(STM32F405_INTERFACE_STRINGS[0]);
    expect(flash.name).toBe('Internal Flash');
    expect(
      flash.segments.map((s) => [
        s.start,
        s.sectorCount,
        s.sectorSize,
        s.readable,
        s.erasable,
        s.writable,
      ]),
    ).toEqual([
      [0x08000000, 4, 16384, true, true, true],
      [0x08010000, 1, 65536, true, true, true],
      [0x08020000, 7, 131072, true, true, true],
    ]);
    const opt = parseMemoryLayout(STM32F405_INTERFACE_STRINGS[1]);
    expect(opt.segments).toEqual([
      {
        start: 0x1fffc000,
        end: 0x1fffc010,
        sectorSize: 16,
        sectorCount: 1,
        readable: true,
        erasable: false,
        writable: true,
      },
    ]);
    const otp = parseMemoryLayout(STM32F405_INTERFACE_STRINGS[2]);
    expect(otp.segments.map((s) => [s.start, s.end])).toEqual([
      [0x1fff7800, 0x1fff7a00],
      [0x1fff7a00, 0x1fff7a10],
    ]);
    expect(parseMemoryLayout(STM32F405_INTERFACE_STRINGS[3]).segments[0]!.end).toBe(0xffff0004);
    expect(chipFromFlashMap(STM32F405_INTERFACE_STRINGS[0])?.chip).toBe('stm32f4');
    expect(chipFromFlashMap(STM32L476_DFUSE.interfaceStrings[0]!)?.chip).toBe('stm32l4');
    expect(chipFromFlashMap('@Internal Flash  /0x08000000/256*0002Kg')).toBeUndefined();
  });

  it('knows every type letter a..g and several address blocks', () => {
    const l = parseMemoryLayout(
      '@X /0x00000000/1*1Ka,1*1Kb,1*1Kc,1*1Kd/0x10000000/1*1Ke,1*1Kf,1*1Mg',
    );
    expect(l.segments.map((s) => `${+s.readable}${+s.erasable}${+s.writable}`)).toEqual([
      '100',
      '010',
      '110',
      '001',
      '101',
      '011',
      '111',
    ]);
    expect(l.segments[4]!.start).toBe(0x10000000);
    expect(l.segments[6]!.sectorSize).toBe(1024 * 1024);
    expect(parseMemoryLayout(formatMemoryLayout(l))).toEqual(l);
  });

  it('finds the sectors an image touches', () => {
    const flash = parseMemoryLayout(STM32F405_INTERFACE_STRINGS[0]);
    expect(sectorsTouched(flash, 0x08003ff0, 0x20).map((s) => s.start)).toEqual([
      0x08000000, 0x08004000,
    ]);
    expect(sectorsTouched(flash, 0x0800c000, 0x14001).map((s) => [s.start, s.size])).toEqual([
      [0x0800c000, 16384],
      [0x08010000, 65536],
      [0x08020000, 131072],
    ]);
    expect(() => sectorsTouched(flash, 0x080ffff0, 0x20)).toThrow(FramingError);
  });

  it('rejects malformed strings (table)', () => {
    for (const bad of [
      'Internal Flash/0x08000000/04*016Kg',
      '@/0x08000000/04*016Kg',
      '@Flash',
      '@Flash/0x08000000',
      '@Flash/08000000/04*016Kg',
      '@Flash/0x08000000/04*016Xg',
      '@Flash/0x08000000/04*016Kh',
      '@Flash/0x08000000/0*016Kg',
      '@Flash/0xFFFFFFFF/2*1Kg',
    ]) {
      expect(() => parseMemoryLayout(bad), bad).toThrow(FramingError);
    }
  });
});

describe('DfuSe commands (AN3156 §6)', () => {
  it('encodes command blocks', () => {
    expect(toHex(encodeDfuseCommand(0x21, 0x08004000))).toBe('2100400008');
    expect(toHex(encodeDfuseCommand(0x41, 0x08020000))).toBe('4100000208');
    expect(toHex(encodeDfuseCommand(0x41))).toBe('41');
    expect(toHex(encodeDfuseCommand(0x92))).toBe('92');
    expect(() => encodeDfuseCommand(0x21, 2 ** 32)).toThrow(RangeError);
  });
});
