/**
 * `webflash bundle create` with Intel HEX images: a sketch's HEX becomes one image at the
 * HEX file's address; a HEX file with gaps becomes one image per contiguous segment, and the
 * gaps are not filled.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBundleUnverified } from '../../src/bundle/create.ts';
import { parseManifest } from '../../src/bundle/manifest.ts';
import { main } from '../../src/cli/main.ts';
import { encodeIntelHex, parseIntelHex } from '../../src/formats/intel-hex.ts';

const dir = mkdtempSync(join(tmpdir(), 'webflash-hex-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir });
  return { code, out, err };
}

function manifest(
  images: Record<string, unknown>[],
  protocol = 'avr-stk500v1',
  chip = 'atmega328p',
) {
  return JSON.stringify({
    product: 'blink',
    version: '1.0.0',
    securityCounter: 1,
    created: '2026-05-01T00:00:00Z',
    expires: '2099-01-01T00:00:00Z',
    notes: '',
    targets: [{ chip, protocol, images }],
  });
}

async function bundleContents(file: string) {
  const parts = await readBundleUnverified(new Uint8Array(await readFile(join(dir, file))));
  const m = parseManifest(parts.envelope.payload);
  return { images: m.targets[0]!.images, data: new Map(parts.images.map((i) => [i.name, i.data])) };
}

describe('webflash bundle create with Intel HEX', () => {
  it('a sketch HEX: one image at the address in the file', async () => {
    copyFileSync(
      new URL('../fixtures/firmware/avr-uno-Blink.hex', import.meta.url),
      join(dir, 'blink.hex'),
    );
    writeFileSync(join(dir, 'm1.json'), manifest([{ name: 'sketch', file: 'blink.hex' }]));
    const r = await run('bundle', 'create', '--manifest', 'm1.json', '--out', 'b1.fwb');
    expect(r, r.err).toMatchObject({ code: 0 });
    const { images, data } = await bundleContents('b1.fwb');
    expect(images.map((i) => [i.name, i.address, i.size])).toEqual([['sketch', 0, 1082]]);
    const hex = parseIntelHex(await readFile(join(dir, 'blink.hex')));
    expect([...data.get('sketch')!]).toEqual([...hex.segments[0]!.data]);
  });

  it('a HEX with a gap: one image per segment, named NAME.1, NAME.2, nothing filled', async () => {
    const a = new Uint8Array(300).fill(0x11);
    const b = new Uint8Array(40).fill(0x22);
    const text = encodeIntelHex({
      segments: [
        { address: 0, data: a },
        { address: 0x3000, data: b },
      ],
    });
    writeFileSync(join(dir, 'gap.hex'), text);
    writeFileSync(
      join(dir, 'm2.json'),
      manifest([{ name: 'fw', file: 'gap.hex' }], 'avr-stk500v2', 'atmega2560'),
    );
    const r = await run('bundle', 'create', '--manifest', 'm2.json', '--out', 'b2.fwb');
    expect(r, r.err).toMatchObject({ code: 0 });
    const { images, data } = await bundleContents('b2.fwb');
    expect(images.map((i) => [i.name, i.address, i.size])).toEqual([
      ['fw.1', 0, 300],
      ['fw.2', 0x3000, 40],
    ]);
    expect(data.get('fw.2')!.every((x) => x === 0x22)).toBe(true);
  });

  it('refuses an address next to a HEX file, and HEX that does not parse', async () => {
    writeFileSync(
      join(dir, 'm3.json'),
      manifest([{ name: 'sketch', file: 'blink.hex', address: 0 }]),
    );
    const r = await run('bundle', 'create', '--manifest', 'm3.json', '--out', 'b3.fwb');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/carries its addresses/);
    writeFileSync(join(dir, 'bad.hex'), ':10000000ZZ\n');
    writeFileSync(join(dir, 'm4.json'), manifest([{ name: 'sketch', file: 'bad.hex' }]));
    const bad = await run('bundle', 'create', '--manifest', 'm4.json', '--out', 'b4.fwb');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/not valid Intel HEX/);
  });

  it('raw .bin images still take their address from the manifest', async () => {
    writeFileSync(join(dir, 'raw.bin'), new Uint8Array(64).fill(7));
    writeFileSync(join(dir, 'm5.json'), manifest([{ name: 'raw', file: 'raw.bin', address: 256 }]));
    expect((await run('bundle', 'create', '--manifest', 'm5.json', '--out', 'b5.fwb')).code).toBe(
      0,
    );
    const { images } = await bundleContents('b5.fwb');
    expect(images.map((i) => [i.name, i.address])).toEqual([['raw', 256]]);
  });
});
