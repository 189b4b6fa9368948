/**
 * Proof against independent tools: Debian's dfu-util 0.11 (`dfu-suffix`, `dfu-prefix`) and
 * GNU objcopy. Skipped, with the reason printed, where a tool is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { dfuCommand } from '../../src/cli/dfu-cmd.ts';
import { encodeDfuseFile } from '../../src/formats/dfuse-file.ts';
import { addDfuSuffix } from '../../src/formats/dfu-suffix.ts';
import { loadFirmwareFile } from '../../src/formats/firmware-file.ts';
import { encodeIntelHex, parseIntelHex } from '../../src/formats/intel-hex.ts';
import { pattern } from './rig.ts';

const DFU_SUFFIX = '/usr/bin/dfu-suffix';
const DFU_PREFIX = '/usr/bin/dfu-prefix';
const OBJCOPY = '/usr/bin/objcopy';
const haveDfuUtil = existsSync(DFU_SUFFIX) && existsSync(DFU_PREFIX);
const haveObjcopy = existsSync(OBJCOPY);
if (!haveDfuUtil)
  console.warn(
    'dfu-util is not installed (sudo apt-get install dfu-util): DFU interop tests skipped',
  );
if (!haveObjcopy)
  console.warn(
    'objcopy is not installed (sudo apt-get install binutils): Intel HEX interop test skipped',
  );

const dir = mkdtempSync(join(tmpdir(), 'webflash-dfu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(tool: string, args: string[]): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

describe.skipIf(!haveDfuUtil)('dfu-util interop', () => {
  it('dfu-suffix -c accepts our DfuSe files and reads the same ids (fast-check, 25 files)', () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        (vid, pid, data) => {
          const path = join(dir, `p${n++}.dfu`);
          writeFileSync(
            path,
            encodeDfuseFile({
              idVendor: vid,
              idProduct: pid,
              bcdDevice: 0x2200,
              targets: [
                { alternateSetting: 0, name: 'ST...', elements: [{ address: 0x08000000, data }] },
              ],
            }),
          );
          const { code, out } = run(DFU_SUFFIX, ['-c', path]);
          expect(code, out).toBe(0);
          expect(out).toContain(`Vendor ID:\t0x${vid.toString(16).toUpperCase().padStart(4, '0')}`);
          expect(out).toContain(
            `Product ID:\t0x${pid.toString(16).toUpperCase().padStart(4, '0')}`,
          );
          expect(out).toContain('BCD DFU:\t0x011A');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('our parser accepts files made by dfu-suffix -a with every field set', () => {
    for (const size of [0, 1, 63, 64, 2048, 70001]) {
      const payload = pattern(size, size + 1);
      const path = join(dir, `s${size}.bin`);
      writeFileSync(path, payload);
      const { code, out } = run(DFU_SUFFIX, [
        '-v',
        '0483',
        '-p',
        'df11',
        '-d',
        '2200',
        '-S',
        '011a',
        '-a',
        path,
      ]);
      expect(code, out).toBe(0);
      const bytes = new Uint8Array(readFileSync(path));
      expect(bytes).toEqual(
        addDfuSuffix(payload, {
          idVendor: 0x0483,
          idProduct: 0xdf11,
          bcdDevice: 0x2200,
          bcdDFU: 0x011a,
        }),
      );
      if (size > 0) expect(loadFirmwareFile(bytes).images[0]!.data).toEqual(payload);
    }
  });

  it('our parser accepts files made by dfu-prefix -s ADDR -a (TI Stellaris prefix)', () => {
    for (const [size, address] of [
      [100, 0x2000],
      [5000, 0x0],
      [4096, 0x3fc00],
    ] as const) {
      const payload = pattern(size, address + 7);
      const path = join(dir, `pre${size}.bin`);
      writeFileSync(path, payload);
      expect(run(DFU_SUFFIX, ['-a', path]).code).toBe(0);
      const r = run(DFU_PREFIX, ['-s', `0x${address.toString(16)}`, '-a', path]);
      expect(r.code, r.out).toBe(0);
      const loaded = loadFirmwareFile(new Uint8Array(readFileSync(path)));
      expect(loaded.prefix).toEqual({ kind: 'stellaris', address, payloadLength: size });
      expect(loaded.images[0]).toEqual({ data: payload, address });
    }
  });

  it('dfu-suffix -c rejects a file our parser rejects (damaged CRC)', () => {
    const path = join(dir, 'bad.dfu');
    const bytes = encodeDfuseFile({ idVendor: 1, idProduct: 2, bcdDevice: 3, targets: [] });
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path, bytes);
    expect(run(DFU_SUFFIX, ['-c', path]).out).toMatch(/CRC/i);
    expect(() => loadFirmwareFile(bytes)).toThrow(/CRC/);
  });

  it('webflash dfu pack writes a file dfu-suffix -c accepts', async () => {
    const hexPath = join(dir, 'nrf-foo.hex');
    writeFileSync(
      hexPath,
      readFileSync(new URL('../fixtures/firmware/nrf-foo.hex', import.meta.url)),
    );
    const binPath = join(dir, 'extra.bin');
    writeFileSync(binPath, pattern(1000, 3));
    const out = join(dir, 'packed.dfu');
    const text: string[] = [];
    const io = {
      out: (t: string) => void text.push(t),
      err: (t: string) => void text.push(t),
      cwd: dir,
    };
    const code = await dfuCommand.run(
      [
        'pack',
        '--out',
        out,
        '--vid',
        '1209',
        '--pid',
        '0002',
        'nrf-foo.hex',
        'extra.bin@0x08100000',
      ],
      io,
    );
    expect(code, text.join('')).toBe(0);
    const check = run(DFU_SUFFIX, ['-c', out]);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('Vendor ID:\t0x1209');
    const loaded = loadFirmwareFile(new Uint8Array(readFileSync(out)));
    expect(loaded.kind).toBe('dfuse');
    expect(loaded.images.at(-1)).toMatchObject({ address: 0x08100000, data: pattern(1000, 3) });
  });
});

describe.skipIf(!haveObjcopy)('Intel HEX against objcopy', () => {
  it('our parser gives the bytes objcopy -I ihex -O binary gives', () => {
    // Our writer's segment-addressed output (type 02 records) is read by objcopy too.
    const segmented = join(dir, 'segmented.hex');
    writeFileSync(
      segmented,
      encodeIntelHex(
        {
          segments: [
            { address: 0xfff0, data: pattern(300, 5) },
            { address: 0x1fff0, data: pattern(40, 6) },
          ],
        },
        { addressing: 'segment', recordSize: 32 },
      ),
    );
    const sources = [
      ...['avr-uno-Blink.hex', 'avr-uno-StandardFirmata.hex'].map(
        (n) => new URL(`../fixtures/firmware/${n}`, import.meta.url).pathname,
      ),
      segmented,
    ];
    for (const path of sources) {
      const name = path.split('/').at(-1)!;
      const bin = join(dir, `${name}.bin`);
      const r = run(OBJCOPY, ['-I', 'ihex', '-O', 'binary', '--gap-fill', '0xff', path, bin]);
      expect(r.code, r.out).toBe(0);
      const expected = new Uint8Array(readFileSync(bin));
      const hex = parseIntelHex(readFileSync(path, 'utf8'));
      const first = hex.segments[0]!.address;
      const last = hex.segments.at(-1)!;
      const flat = new Uint8Array(last.address + last.data.length - first).fill(0xff);
      for (const s of hex.segments) flat.set(s.data, s.address - first);
      expect(flat, name).toEqual(expected);
    }
  });
});
