/** Anti-rollback policy, the memory store and verifyBundle's use of it; pinned-root selection. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBundle } from '../../src/bundle/create.ts';
import { DEMO_KEY_ID } from '../../src/bundle/demo-key.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { pinnedRoot } from '../../src/bundle/pinned-root.ts';
import { addSignature, encodeEnvelope } from '../../src/bundle/dsse.ts';
import { publicKeyOf } from '../../src/bundle/ed25519.ts';
import { createRootEnvelope, loadTrustRoot } from '../../src/bundle/trust-root.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { checkRollback, type RollbackCheck } from '../../src/bundle/rollback.ts';
import { MemoryRollbackStore, recordInstalled } from '../../src/bundle/rollback-store.ts';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { UsageError } from '../../src/core/errors.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { goodBundle, key, NOW, pinnedTestRoot, testImages, testManifest } from './fixtures.ts';

const manifest = { product: 'acme-sensor', version: '1.4.2', securityCounter: 3 };
const reasonOf = (c: RollbackCheck): string => {
  try {
    checkRollback(c);
    return 'accepted';
  } catch (err) {
    return err instanceof BundleError ? err.reason : (err as Error).name;
  }
};

describe('checkRollback', () => {
  it.each([
    ['nothing known', {}, 'accepted'],
    ['same counter recorded', { recorded: 3 }, 'accepted'],
    ['higher than recorded', { recorded: 2, boardReported: 1 }, 'accepted'],
    ['board reports the same', { boardReported: 3 }, 'accepted'],
    ['below recorded', { recorded: 4 }, 'rollback.counter'],
    ['below the board', { boardReported: 4 }, 'rollback.board'],
    ['below both: the board wins', { recorded: 5, boardReported: 4 }, 'rollback.board'],
  ])('customer, %s → %s', (_, known, expected) => {
    expect(reasonOf({ manifest, mode: 'customer', ...known })).toBe(expected);
  });

  it('the customer updater refuses every override, needed or not', () => {
    const override = { reason: 'known-bad-release' as const, detail: 'ticket 42' };
    expect(reasonOf({ manifest, mode: 'customer', recorded: 4, override })).toBe(
      'rollback.override-forbidden',
    );
    expect(reasonOf({ manifest, mode: 'customer', override })).toBe('rollback.override-forbidden');
  });

  it('a technician downgrades only with a typed reason, and it is logged', () => {
    const lines: LogEntry[] = [];
    const logger = createLogger(
      (e) => lines.push(e),
      () => 0,
      'bundle',
    );
    expect(reasonOf({ manifest, mode: 'technician', recorded: 4 })).toBe('rollback.counter');
    const decision = checkRollback({
      manifest,
      mode: 'technician',
      boardReported: 5,
      override: { reason: 'returned-unit-diagnostics', detail: 'RMA 1234' },
      logger,
    });
    expect(decision).toEqual({
      downgrade: true,
      requiredCounter: 5,
      override: { reason: 'returned-unit-diagnostics', detail: 'RMA 1234' },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', source: 'bundle' });
    expect(lines[0]!.message).toContain('returned-unit-diagnostics');
    expect(lines[0]!.message).toContain('RMA 1234');
  });

  it.each([
    ['unknown reason', { reason: 'because', detail: 'x' }],
    ['empty detail', { reason: 'test-bench', detail: '  ' }],
    ['long detail', { reason: 'test-bench', detail: 'x'.repeat(501) }],
  ])('refuses a malformed override: %s', (_, override) => {
    expect(() =>
      checkRollback({ manifest, mode: 'technician', recorded: 4, override: override as never }),
    ).toThrow(UsageError);
  });
});

describe('rollback store', () => {
  it('records only ever rise', async () => {
    const store = new MemoryRollbackStore();
    expect(await store.get('acme-sensor')).toBeUndefined();
    await recordInstalled(store, {
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      rootVersion: 1,
    });
    await recordInstalled(store, {
      product: 'acme-sensor',
      version: '1.0.0',
      securityCounter: 1,
      rootVersion: 2,
    });
    expect(await store.get('acme-sensor')).toEqual({
      securityCounter: 3,
      version: '1.4.2',
      rootVersion: 2,
    });
  });

  it('verifyBundle consults it: counter, root version, overrides', async () => {
    const store = new MemoryRollbackStore();
    const trustRoot = pinnedTestRoot();
    const older = goodBundle({ version: '1.3.0', securityCounter: 2 });
    await recordInstalled(store, {
      product: 'acme-sensor',
      version: '1.4.2',
      securityCounter: 3,
      rootVersion: 1,
    });
    await expect(
      verifyBundle(goodBundle(), { trustRoot, now: NOW, rollbackStore: store }),
    ).resolves.toMatchObject({
      rollback: { downgrade: false, requiredCounter: 3 },
    });
    await expect(
      verifyBundle(older, { trustRoot, now: NOW, rollbackStore: store }),
    ).rejects.toMatchObject({ reason: 'rollback.counter' });
    const override = { reason: 'known-bad-release' as const, detail: '1.4.2 drains the battery' };
    await expect(
      verifyBundle(older, { trustRoot, now: NOW, rollbackStore: store, override }),
    ).rejects.toMatchObject({
      reason: 'rollback.override-forbidden',
    });
    await expect(verifyBundle(older, { trustRoot, now: NOW, override })).rejects.toMatchObject({
      reason: 'rollback.override-forbidden',
    });
    const v = await verifyBundle(older, {
      trustRoot,
      now: NOW,
      rollbackStore: store,
      override,
      mode: 'technician',
    });
    expect(v.rollback).toMatchObject({ downgrade: true, requiredCounter: 3 });
  });
});

describe('pinnedRoot', () => {
  const productionRoot = new TextDecoder().decode(pinnedTestRoot().envelope);

  it('demo mode pins the demo root, which verifies bundles signed with the committed demo key', async () => {
    const root = await pinnedRoot({ mode: 'demo' });
    expect(root.keys.map((k) => k.keyid)).toEqual([DEMO_KEY_ID]);
    const demoKeyFile = readFileSync(
      new URL('../../demo/keys/demo-release.key', import.meta.url),
      'utf8',
    );
    const demoSecret = (JSON.parse(demoKeyFile) as { secret: string }).secret;
    const secret = Uint8Array.from(demoSecret.match(/../g)!, (h) => parseInt(h, 16));
    const bytes = createBundle({
      manifest: testManifest(),
      images: testImages(),
      signers: [secret],
    });
    await expect(verifyBundle(bytes, { trustRoot: root, now: NOW })).resolves.toBeDefined();
    // A production build with its own root refuses the demo-signed bundle.
    const prod = await pinnedRoot({ mode: 'production', productionRoot });
    await expect(verifyBundle(bytes, { trustRoot: prod, now: NOW })).rejects.toMatchObject({
      reason: 'signature.unknown-key',
    });
  });

  it('demo/keys/demo-root.json is the root demo builds pin', async () => {
    const file = readFileSync(new URL('../../demo/keys/demo-root.json', import.meta.url));
    expect(loadTrustRoot(file).envelope).toEqual((await pinnedRoot({ mode: 'demo' })).envelope);
  });

  it('production mode needs a root, and refuses one that trusts the demo key', async () => {
    expect((await pinnedRoot({ mode: 'production', productionRoot })).version).toBe(1);
    await expect(pinnedRoot({ mode: 'production' })).rejects.toThrow(UsageError);
    await expect(pinnedRoot({ mode: 'production', productionRoot: '' })).rejects.toThrow(
      UsageError,
    );
    const demoRoot = await pinnedRoot({ mode: 'demo' });
    const demoAsProduction = new TextDecoder().decode(demoRoot.envelope);
    await expect(
      pinnedRoot({ mode: 'production', productionRoot: demoAsProduction }),
    ).rejects.toThrow(/demo key/);
    // A root that lists the demo key beside a real one (threshold 1, signed by the real key)
    // is refused as well.
    const mixed = addSignature(
      createRootEnvelope({
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        threshold: 1,
        publicKeys: [publicKeyOf(key(1)), fromHex(demoRoot.keys[0]!.publicKey)],
      }),
      key(1),
    );
    const mixedText = new TextDecoder().decode(encodeEnvelope(mixed));
    expect(loadTrustRoot(mixedText).keys.map((k) => k.keyid)).toContain(DEMO_KEY_ID);
    await expect(pinnedRoot({ mode: 'production', productionRoot: mixedText })).rejects.toThrow(
      /demo key/,
    );
    await expect(pinnedRoot({ mode: 'staging' as never })).rejects.toThrow(UsageError);
  });
});
