/**
 * The `webflash` CLI end to end in a temporary directory: keys, a 2-of-2 root, a bundle built
 * from a manifest file, signed twice, verified; and the failure paths with their exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtIsFresh } from '../../scripts/cli-entry.mjs';
import { main } from '../../src/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'webflash-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir });
  return { code, out, err };
}

/** Roots may be valid for at most 10 years from now (trust-root.ts): five years ahead. */
const ROOT_EXPIRES = new Date(Date.now() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);

const manifest = {
  product: 'acme-sensor',
  version: '2.0.0',
  securityCounter: 4,
  created: '2026-05-01T00:00:00Z',
  expires: '2099-01-01T00:00:00Z',
  notes: 'CLI test release.',
  targets: [
    {
      chip: 'esp32s2',
      protocol: 'esp-serial',
      images: [{ name: 'app', address: 65536, file: 'fw/app.bin' }],
    },
  ],
};

describe('webflash CLI', () => {
  beforeAll(() => {
    // Image content does not matter to the CLI: a deterministic pattern of a typical app's size.
    const app = new Uint8Array(182_368).map((_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
    mkdirSync(join(dir, 'fw'));
    writeFileSync(join(dir, 'fw/app.bin'), app);
  });

  it('keygen → root create → root sign ×2 → bundle create → sign ×2 → verify', async () => {
    expect((await run('keygen', '--out', 'keys/alice')).code).toBe(0);
    expect((await run('keygen', '--out', 'keys/bob')).code).toBe(0);
    expect(statSync(join(dir, 'keys/alice.key')).mode & 0o777).toBe(0o600);
    expect((await run('keygen', '--out', 'keys/alice')).code).not.toBe(0); // never overwrites

    const created = await run(
      'root',
      'create',
      '--key',
      'keys/alice.pub',
      '--key',
      'keys/bob.pub',
      '--threshold',
      '2',
      '--expires',
      ROOT_EXPIRES,
      '--out',
      'root.json',
    );
    expect(created).toMatchObject({ code: 0 });
    expect((await run('root', 'sign', 'root.json', '--key', 'keys/alice.key')).code).toBe(0);
    const half = await run('root', 'verify', 'root.json');
    expect(half.code).toBe(1);
    expect(half.err).toContain('root.signature');
    expect((await run('root', 'sign', 'root.json', '--key', 'keys/bob.key')).code).toBe(0);
    expect((await run('root', 'verify', 'root.json')).code).toBe(0);

    expect((await run('bundle', 'create', '--manifest', 'm.json', '--out', 'x.fwb')).code).toBe(0);
    expect((await run('bundle', 'sign', 'x.fwb', '--key', 'keys/alice.key')).code).toBe(0);

    // One of two signatures: rejected, reason in the JSON output.
    const partial = await run('verify', 'x.fwb', '--root', 'root.json', '--json');
    expect(partial.code).toBe(1);
    expect(JSON.parse(partial.out)).toMatchObject({
      ok: false,
      code: 'bundle.rejected',
      reason: 'signature.threshold',
    });

    expect((await run('bundle', 'sign', 'x.fwb', '--key', 'keys/bob.key')).code).toBe(0);
    const ok = await run(
      'verify',
      'x.fwb',
      '--root',
      'root.json',
      '--board',
      'esp32s2/esp-serial',
      '--json',
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      ok: true,
      product: 'acme-sensor',
      version: '2.0.0',
      rootVersion: 1,
      target: { chip: 'esp32s2' },
    });

    const wrongBoard = await run(
      'verify',
      'x.fwb',
      '--root',
      'root.json',
      '--board',
      'esp32c3',
      '--json',
    );
    expect(wrongBoard.code).toBe(1);
    expect(JSON.parse(wrongBoard.out)).toMatchObject({ reason: 'target.mismatch' });
    const late = await run(
      'verify',
      'x.fwb',
      '--root',
      'root.json',
      '--now',
      '2099-06-01',
      '--json',
    );
    expect(JSON.parse(late.out)).toMatchObject({ reason: 'root.expired' });

    const shown = await run('inspect', 'x.fwb', '--json');
    expect(JSON.parse(shown.out)).toMatchObject({
      verified: false,
      product: 'acme-sensor',
      images: [{ name: 'app' }],
    });
    expect((JSON.parse(shown.out) as { signatures: string[] }).signatures).toHaveLength(2);
    expect((await run('inspect', 'x.fwb')).out).toMatch(/NOT VERIFIED[\s\S]*not checked/);
    const checked = await run('inspect', 'x.fwb', '--root', 'root.json', '--json');
    const facts = JSON.parse(checked.out) as Record<string, unknown>;
    expect(facts).toMatchObject({ verified: true, rootVersion: 1, roots: [], uncounted: [] });
    expect(facts['signers']).toHaveLength(2);
    expect((facts['images'] as { sha256: string }[])[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('inspect', 'x.fwb', '--root', 'root.json')).out).toMatch(
      /VERIFIED with root 1[\s\S]*signed by: .* \(2 of 2 required\)[\s\S]*sha256 [0-9a-f]{64} \(checked\)/,
    );
  });

  it('rotation: root 2 signed by the old and the new keys, carried in a bundle', async () => {
    expect((await run('keygen', '--out', 'keys/carol')).code).toBe(0);
    expect(
      (
        await run(
          'root',
          'create',
          '--previous',
          'root.json',
          '--key',
          'keys/carol.pub',
          '--threshold',
          '1',
          '--expires',
          ROOT_EXPIRES,
          '--out',
          'root2.json',
        )
      ).code,
    ).toBe(0);
    expect((await run('root', 'sign', 'root2.json', '--key', 'keys/carol.key')).code).toBe(0);
    const half = await run('root', 'verify', 'root2.json', '--previous', 'root.json');
    expect(half.code).toBe(1);
    await run('root', 'sign', 'root2.json', '--key', 'keys/alice.key');
    await run('root', 'sign', 'root2.json', '--key', 'keys/bob.key');
    expect(
      (await run('root', 'verify', 'root2.json', '--previous', 'root.json', '--json')).out,
    ).toContain('"version":2');
    expect(
      (
        await run(
          'bundle',
          'create',
          '--manifest',
          'm.json',
          '--out',
          'y.fwb',
          '--root',
          'root2.json',
          '--key',
          'keys/carol.key',
        )
      ).code,
    ).toBe(0);
    const v = await run('verify', 'y.fwb', '--root', 'root.json', '--json');
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, rootVersion: 2 });
    // An updater that has seen root 2 refuses x.fwb, which only root 1's keys signed.
    expect(
      JSON.parse((await run('verify', 'x.fwb', '--root', 'root.json', '--json')).out),
    ).toMatchObject({ ok: true });
    const retired = await run(
      'verify',
      'x.fwb',
      '--root',
      'root.json',
      '--seen-root',
      '2',
      '--json',
    );
    expect(retired.code).toBe(1);
    expect(JSON.parse(retired.out)).toMatchObject({ ok: false, reason: 'root.rollback' });
    expect((await run('verify', 'y.fwb', '--root', 'root.json', '--seen-root', '2')).code).toBe(0);
  });

  it.each([
    [['nonsense'], 2],
    [['verify', 'x.fwb'], 2],
    [['verify', 'x.fwb', '--root', 'root.json', '--bogus'], 2],
    [['verify', 'missing.fwb', '--root', 'root.json'], 3],
    [
      [
        'root',
        'create',
        '--key',
        'keys/alice.key',
        '--threshold',
        '1',
        '--expires',
        ROOT_EXPIRES,
        '--out',
        'r.json',
      ],
      2,
    ],
    [
      [
        'root',
        'create',
        '--key',
        'keys/alice.pub',
        '--threshold',
        '2',
        '--expires',
        ROOT_EXPIRES,
        '--out',
        'r.json',
      ],
      2,
    ],
    [['bundle', 'sign', 'x.fwb', '--key', 'keys/alice.key'], 2],
    [['bundle', 'create', '--manifest', 'root.json', '--out', 'z.fwb'], 1],
  ])('%j exits with %i', async (argv, code) => {
    expect((await run(...argv)).code).toBe(code);
  });

  it('root create refuses a duplicate key and a validity beyond --max-years (root.invalid)', async () => {
    const base = ['root', 'create', '--threshold', '1', '--out', 'r.json'];
    const alice = ['--key', 'keys/alice.pub'];
    const dup = await run(...base, ...alice, ...alice, '--expires', ROOT_EXPIRES);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/root\.invalid.*duplicate/s);
    const far = new Date(Date.now() + 11 * 365 * 86_400_000).toISOString().slice(0, 10);
    const tooLong = await run(...base, ...alice, '--expires', far);
    expect(tooLong.code).toBe(1);
    expect(tooLong.err).toMatch(/root\.invalid.*more than 10 years/s);
    expect((await run(...base, ...alice, '--expires', far, '--max-years', '12')).code).toBe(0);
    expect((await run(...base, ...alice, '--expires', ROOT_EXPIRES, '--max-years', '4')).code).toBe(
      1,
    );
  });

  it('bundle create: notes are optional; input faults name the file and the field', async () => {
    const { notes: _notes, ...noNotes } = manifest;
    writeFileSync(join(dir, 'release.json'), JSON.stringify(noNotes));
    const args = ['bundle', 'create', '--manifest', 'release.json', '--out', 'n.fwb'];
    expect(await run(...args)).toMatchObject({ code: 0 });
    const shown = JSON.parse((await run('inspect', 'n.fwb', '--json')).out) as { notes: string };
    expect(shown.notes).toBe('');

    const faults: [Record<string, unknown>, string][] = [
      [{ ...manifest, notes: 7 }, 'release.json: field "notes" must be a string'],
      [{ ...manifest, extra: 1 }, 'release.json: field "extra" is not a known field'],
      [{ ...noNotes, version: undefined }, 'release.json: field "version" is missing'],
      [
        { ...manifest, targets: [{ ...manifest.targets[0], chip: 'ESP32' }] },
        'release.json: field "targets[0].chip" must be',
      ],
      [
        { ...manifest, targets: [{ ...manifest.targets[0], images: [{ name: 'app', file: 1 }] }] },
        'release.json: field "targets[0].images[0].file" must be a string',
      ],
    ];
    for (const [content, message] of faults) {
      writeFileSync(join(dir, 'release.json'), JSON.stringify(content));
      const r = await run(...args);
      expect(r.code).toBe(1);
      expect(r.err).toContain(message);
      expect(r.err).not.toMatch(/release\.json\.|signed manifest/);
    }
  });

  it('every command has --help', async () => {
    for (const argv of [
      [],
      ['keygen'],
      ['root'],
      ['root', 'create'],
      ['root', 'sign'],
      ['root', 'verify'],
      ['bundle'],
      ['bundle', 'create'],
      ['bundle', 'sign'],
      ['verify'],
      ['inspect'],
    ]) {
      const r = await run(...argv, '--help');
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.out).toMatch(/^webflash/);
    }
  });

  it.each([
    ['the bundled build when it is fresh', {}],
    ['the sources through tsx', { WEBFLASH_FROM_SOURCE: '1' }],
  ])('the package binary runs %s and exits with the reason code', async (_, env) => {
    const repo = join(import.meta.dirname, '../..');
    const bin = join(repo, 'bin/webflash.mjs');
    if (!('WEBFLASH_FROM_SOURCE' in env)) {
      // What `npm install` does (prepare), so that the binary takes the build.
      await promisify(execFile)(process.execPath, [join(repo, 'scripts/build-cli.mjs')]);
      const inputs = [join(repo, 'src'), join(repo, 'package-lock.json')];
      expect(builtIsFresh(join(repo, 'dist-cli/webflash.mjs'), inputs)).toBe(true);
    }
    const options = { cwd: dir, env: { ...process.env, ...env } };
    const result = await promisify(execFile)(
      process.execPath,
      [bin, 'verify', 'x.fwb', '--root', 'root.json', '--json'],
      options,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true });
    const failed = await promisify(execFile)(
      process.execPath,
      [bin, 'verify', 'x.fwb', '--root', 'root.json', '--now', '2100-01-01', '--json'],
      options,
    ).catch((e: { code: number; stdout: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect(JSON.parse((failed as { stdout: string }).stdout)).toMatchObject({
      reason: 'root.expired',
    });
  });
});
