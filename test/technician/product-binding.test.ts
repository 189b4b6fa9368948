/**
 * Product binding in the technician console: the flash log tells what a board last received
 * (src/audit/board-product.ts); the console shows it, and installing another product on that
 * board needs the override with a reason (src/bundle/release-policy.ts `checkProductBinding`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, MemoryAuditStore } from '../../src/audit/index.ts';
import { lastRelease } from '../../src/audit/board-product.ts';
import { checkProductBinding } from '../../src/bundle/product-binding.ts';
import { createAppStore, resetAppStore, type AppStore } from '../../src/technician/state/app-store.ts';
import { productChange } from '../../src/technician/state/index.ts';
import { goodBundle } from '../bundle/fixtures.ts';
import { testServices } from './services.ts';

const MAC = '24:6f:28:01:02:03';
const stores: AppStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) resetAppStore(store);
});

function setup() {
  const base = testServices({ session: { identity: { uniqueId: MAC } } });
  const services = { ...base, auditLog: new AuditLog({ store: new MemoryAuditStore() }) };
  const store = createAppStore(services);
  store.getState().setMonitorAfterFlash(false);
  stores.push(store);
  return { store, services };
}

async function load(store: AppStore, bytes: Uint8Array): Promise<void> {
  expect(await store.getState().loadBundle({ kind: 'bytes', name: 'b.fwb', bytes })).toBe(true);
}

describe('checkProductBinding', () => {
  it('passes the same or an unknown product, refuses another without a technician override', () => {
    const base = { product: 'b', mode: 'technician' as const };
    expect(() => checkProductBinding({ ...base, boardProduct: undefined })).not.toThrow();
    expect(() => checkProductBinding({ ...base, boardProduct: 'b' })).not.toThrow();
    expect(() => checkProductBinding({ ...base, boardProduct: 'a' })).toThrow(
      /last received "a"; the bundle is for "b" \(installing it needs an override\)/,
    );
    const override = { reason: 'factory-rework' as const, detail: 'rebuilt as b' };
    expect(() => checkProductBinding({ ...base, boardProduct: 'a', override })).not.toThrow();
    expect(() =>
      checkProductBinding({ ...base, mode: 'customer', boardProduct: 'a', override }),
    ).toThrow(expect.objectContaining({ reason: 'product.mismatch' }) as Error);
  });
});

describe('technician console: product a board last received', () => {
  it('is shown, and another product needs the override with a reason', async () => {
    const { store, services } = setup();
    expect(await store.getState().choosePort({ board: 'esp32s3' })).toBe(true);
    await load(store, goodBundle());
    expect((await store.getState().startFlash())?.ok).toBe(true);
    expect(store.getState().flashLog.board).toMatchObject({
      product: 'acme-sensor',
      version: '1.4.2',
    });
    expect(lastRelease(await services.auditLog.entries(), MAC)?.product).toBe('acme-sensor');

    // Product B, security counter 0: nothing recorded for B, but the board had A.
    await load(store, goodBundle({ product: 'other-board', securityCounter: 0 }));
    expect(productChange(store.getState())).toEqual({
      boardProduct: 'acme-sensor',
      bundleProduct: 'other-board',
    });
    const writes = services.session.writes.length;
    const refused = await store.getState().startFlash();
    expect(refused?.ok === false && refused.error.reason).toBe('product.mismatch');
    expect(services.session.writes.length).toBe(writes);

    store.getState().setDowngrade('factory-rework', 'unit rebuilt as other-board, ticket 77');
    expect((await store.getState().startFlash())?.ok).toBe(true);
    const log = store
      .getState()
      .log.entries.map((e) => e.message)
      .join('\n');
    expect(log).toContain('Product change by technician override (factory-rework)');
    expect(store.getState().flashLog.board?.product).toBe('other-board');
    expect(productChange(store.getState())).toBeUndefined();
  });
});
