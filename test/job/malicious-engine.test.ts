/**
 * Nothing reaches a board unless the bundle verified: every case of the malicious-bundle corpus
 * (test/bundle/corpus.ts) is pushed through the path the app takes — verify, then hand the
 * result to the engine driving a simulated ESP32-S3 — and the board's flash must come out
 * exactly as it went in, with no erase or program operation counted.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import { verifyBundle, type VerifiedBundle } from '../../src/bundle/verify.ts';
import { fromVerifiedBundle } from '../../src/job/bundle-source.ts';
import { FlashJob } from '../../src/job/engine.ts';
import type { Connector } from '../../src/job/types.ts';
import type { FlashSource } from '../../src/job/source.ts';
import { chipById } from '../../src/protocols/esp/chips.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, SerialWire } from '../../src/sim/serial-wire.ts';
import type { SimSerialPort } from '../../src/sim/sim-serial-port.ts';
import { caseVerifyOptions, maliciousCases, type MaliciousCase } from '../bundle/corpus.ts';
import { pinnedTestRoot } from '../bundle/fixtures.ts';

/** A board whose flash already holds a known firmware, so "untouched" is a real comparison. */
function board(chip: string) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const flash = new FlashModel({ size: 4 * 1024 * 1024 });
  const existing = new Uint8Array(64 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
  flash.load(0x10000, existing);
  const device = new EspDevice({
    chip: chipById(chip)!,
    flash,
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0x0a, 0x0b, 0x0c]),
    resetCircuit: 'auto-reset',
  });
  const wire = new SerialWire({
    clock,
    device,
    link: LINK_CP2102,
    seed: 1,
    usbVendorId: 0x10c4,
    usbProductId: 0xea60,
  });
  return { clock, flash, wire, before: flash.snapshot() };
}

async function verifyCase(c: MaliciousCase): Promise<VerifiedBundle | BundleError> {
  try {
    return await verifyBundle(c.bytes, await caseVerifyOptions(c, pinnedTestRoot()));
  } catch (err) {
    if (err instanceof BundleError) return err;
    throw err;
  }
}

/**
 * The ESP driver, but the board reports `securityVersion` as its running firmware's anti-rollback
 * counter (as an ESP32 does from its app descriptor), so board-side rollback cases apply.
 */
function reportingDriver(securityVersion: number | undefined): Connector<SimSerialPort> {
  if (securityVersion === undefined) return espDriver;
  return {
    id: espDriver.id,
    async connect(port, options) {
      const session = await espDriver.connect(port, options);
      return new Proxy(session, {
        get(target, key) {
          if (key === 'readInstalledFirmware') return () => Promise.resolve({ securityVersion });
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
    },
  };
}

describe('malicious bundles never reach the flash', () => {
  // Cases about a board that speaks another protocol cannot be staged on a simulated ESP board;
  // test/bundle/malicious.test.ts covers them at the bundle layer.
  const cases = maliciousCases().filter(
    (c) => (c.conditions.board?.protocol ?? 'esp-serial') === 'esp-serial',
  );

  it('covers the whole corpus', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s: the board is untouched', async (_id, c) => {
    const outcome = await verifyCase(c);
    const b = board(c.conditions.board?.chip ?? 'esp32s3');
    let source: FlashSource;
    if (outcome instanceof BundleError) {
      // Rejected at verification: the app has no VerifiedBundle, only the raw bytes. The engine
      // must refuse them as an unverified source (production default: allowUnverified false).
      source = { kind: 'unverified', name: 'bundle', address: 0x10000, data: c.bytes };
    } else {
      // Verified but wrong for this board (target, rollback): the engine's check must stop it.
      source = fromVerifiedBundle(outcome, {
        mode: 'customer',
        rollbackStore: new MemoryRollbackStore(),
      });
    }
    const job = new FlashJob({
      port: b.wire.port!,
      connector: reportingDriver(c.conditions.boardReported),
      source,
      clock: b.clock,
      settings: {},
    });
    const result = await job.run();
    expect(result.ok, `${c.id} must not flash`).toBe(false);
    if (!result.ok) {
      // Either the bundle layer or the engine's own check names the corpus's reason.
      const reason =
        outcome instanceof BundleError ? outcome.reason : (result.error as BundleError).reason;
      expect(reason, c.description).toBe(c.expect);
      if (outcome instanceof BundleError) expect(result.error.code).toBe('usage.invalid-argument');
    }
    expect(equalBytes(b.flash.snapshot(), b.before), `${c.id}: flash changed`).toBe(true);
    expect(b.flash.counters.programOps, `${c.id}: program operations`).toBe(0);
    expect(b.flash.counters.chipErases, `${c.id}: chip erases`).toBe(0);
    expect(
      b.flash.counters.sectorErases.every((n) => n === 0),
      `${c.id}: sector erases`,
    ).toBe(true);
  });
});
