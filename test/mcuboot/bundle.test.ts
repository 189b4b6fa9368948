/**
 * 'mcuboot-smp' targets in bundles: the manifest takes MCUboot image numbers as `slot` and an
 * optional `confirm`; `webflash bundle create` refuses a file that is not an MCUboot image.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { parseManifest } from '../../src/bundle/manifest.ts';
import { checkTarget } from '../../src/bundle/target.ts';
import { signedBundle } from '../job/bundle-fixture.ts';
import { fixture } from './fixtures.ts';

const base = {
  schema: 1,
  product: 'acme-sensor',
  version: '1.3.0',
  securityCounter: 1,
  created: '2026-05-01T00:00:00Z',
  expires: '2099-01-01T00:00:00Z',
  notes: '',
};
const image = { name: 'app', size: 10, sha256: 'a'.repeat(64) };
const parse = (target: object) =>
  parseManifest(new TextEncoder().encode(JSON.stringify({ ...base, targets: [target] })));

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BundleError);
    return (err as BundleError).reason;
  }
  throw new Error('not refused');
}

describe('manifest: mcuboot-smp targets', () => {
  it('take image numbers as slot, and an optional confirm', () => {
    const m = parse({
      chip: 'nrf52840',
      protocol: 'mcuboot-smp',
      confirm: 'application',
      images: [
        { ...image, slot: 0 },
        { ...image, name: 'net', slot: 1 },
      ],
    });
    expect(m.targets[0]).toMatchObject({ protocol: 'mcuboot-smp', confirm: 'application' });
    expect(m.targets[0]!.images.map((i) => i.slot)).toEqual([0, 1]);
    expect(
      parse({ chip: 'nrf52840', protocol: 'mcuboot-smp', images: [{ ...image, slot: 0 }] })
        .targets[0]!.confirm,
    ).toBeUndefined();
  });

  it('refuse an address, an unknown confirm value, and confirm on another protocol', () => {
    expect(
      reason(() =>
        parse({ chip: 'nrf52840', protocol: 'mcuboot-smp', images: [{ ...image, address: 0 }] }),
      ),
    ).toBe('json.schema');
    expect(
      reason(() =>
        parse({
          chip: 'nrf52840',
          protocol: 'mcuboot-smp',
          confirm: 'later',
          images: [{ ...image, slot: 0 }],
        }),
      ),
    ).toBe('json.schema');
    expect(
      reason(() =>
        parse({
          chip: 'esp32',
          protocol: 'esp-serial',
          confirm: 'host',
          images: [{ ...image, address: 0 }],
        }),
      ),
    ).toBe('json.schema');
  });

  it('hands confirm to every region of the target', async () => {
    const app = fixture('app-b-ed25519-1.3.0.bin');
    const bundle = await signedBundle({
      images: { app },
      targets: [
        {
          chip: 'nrf52840',
          protocol: 'mcuboot-smp',
          confirm: 'application',
          images: [{ name: 'app', slot: 0 }],
        } as never,
      ],
    });
    const { regions } = checkTarget(bundle, { chip: 'nrf52840', protocol: 'mcuboot-smp' });
    expect(regions).toEqual([{ name: 'app', slot: 0, confirm: 'application', data: app }]);
  });
});

describe('webflash bundle create with MCUboot images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webflash-mcuboot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir });
    return { code, out, err };
  };
  const write = (file: string) => {
    const { schema: _, ...rest } = base;
    writeFileSync(
      join(dir, 'm.json'),
      JSON.stringify({
        ...rest,
        targets: [
          {
            chip: 'nrf52840',
            protocol: 'mcuboot-smp',
            confirm: 'host',
            images: [{ name: 'app', slot: 0, file }],
          },
        ],
      }),
    );
  };
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build/signed.bin'), fixture('app-b-ed25519-1.3.0.bin'));
  writeFileSync(join(dir, 'build/raw.bin'), fixture('app-b.bin'));

  it('packs an imgtool-signed image', async () => {
    write('build/signed.bin');
    const r = await run('bundle', 'create', '--manifest', 'm.json', '--out', 'x.fwb');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Wrote x\.fwb: acme-sensor 1\.3\.0, 1 image/);
  });

  it('refuses the raw binary imgtool started from', async () => {
    write('build/raw.bin');
    const r = await run('bundle', 'create', '--manifest', 'm.json', '--out', 'y.fwb');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/image "app": Not a valid MCUboot image: the header magic is 0x/);
  });
});
