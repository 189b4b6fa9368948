/**
 * The fault hooks the campaign uses: duplicated and delayed bytes on the serial wire, the reply
 * tamper hook, the seeded reply fuzzer, and USB transfer faults (three strikes, stalls).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { TransportError } from '../../src/core/errors.ts';
import type { SimInResult, SimOutResult } from '../../src/sim/usb/sim-usb-device.ts';
import { UsbFaultInjector } from '../../src/sim/usb/usb-faults.ts';
import { ReplyFuzzer } from '../../src/sim/reply-fuzzer.ts';
import { LINK_IDEAL, SerialWire, type DeviceSide } from '../../src/sim/serial-wire.ts';
import type { UsbSetup } from '../../src/transport/usb.ts';

/** A device that answers every byte it gets with the same byte. */
function echoWire(seed: number) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  let side!: DeviceSide;
  const wire = new SerialWire({
    clock,
    link: LINK_IDEAL,
    seed,
    device: { attach: (s) => (side = s), receive: (d) => side.send(d) },
  });
  return { clock, wire };
}

/** Sends `data` through the echo board; returns what came back within a second of quiet. */
async function roundTrip(wire: SerialWire, data: Uint8Array) {
  const link = await wire.port!.open({ baudRate: 115200 });
  await link.write(data);
  const got: number[] = [];
  for (;;) {
    const chunk = await link.input.read(4096, { timeoutMs: 1000 }).catch(() => undefined);
    if (!chunk) break;
    got.push(...chunk);
  }
  await link.close();
  return Uint8Array.from(got);
}

describe('serial wire faults', () => {
  it('duplicates bytes at duplicateRate, and counts them', async () => {
    const { wire } = echoWire(3);
    wire.setFaults({ seed: 3, duplicateRate: 0.01, direction: 'to-host' });
    const data = new Uint8Array(2000).map((_, i) => i & 0xff);
    const got = await roundTrip(wire, data);
    expect(wire.stats.duplicated).toBeGreaterThan(5);
    expect(wire.stats.dropped + wire.stats.corrupted).toBe(0);
    expect(got.length).toBeGreaterThanOrEqual(data.length);
  });

  it('the reply tamper sees what the device sends and replaces it', async () => {
    const { wire } = echoWire(1);
    wire.setReplyTamper((reply) => reply.map((b) => b ^ 0xff));
    const got = await roundTrip(wire, Uint8Array.of(1, 2, 3));
    expect([...got]).toEqual([0xfe, 0xfd, 0xfc]);
  });
});

describe('ReplyFuzzer', () => {
  it('is deterministic for a seed and rewrites about `rate` of the replies', () => {
    const run = (seed: number) => {
      const f = new ReplyFuzzer({ seed, rate: 0.2 });
      const out = Array.from({ length: 500 }, (_, i) => [
        ...f.rewrite(Uint8Array.of(i & 0xff, 1, 2, 3)),
      ]);
      return { out, total: f.total };
    };
    expect(run(9)).toEqual(run(9));
    expect(run(9).total).toBeGreaterThan(60);
    expect(run(9).total).toBeLessThan(140);
  });

  it('leaves the first replies alone and stops at its limit', () => {
    const f = new ReplyFuzzer({ seed: 1, rate: 1, skipFirst: 3, limit: 2 });
    const reply = Uint8Array.of(7, 7, 7);
    for (let i = 0; i < 3; i++) expect(f.rewrite(reply)).toBe(reply);
    for (let i = 0; i < 10; i++) f.rewrite(reply);
    expect(f.total).toBe(2);
  });
});

describe('UsbFaultInjector', () => {
  const setup: UsbSetup = {
    requestType: 'class',
    recipient: 'interface',
    request: 3,
    value: 0,
    index: 0,
  };
  const inOk = (): Promise<SimInResult> =>
    Promise.resolve({ status: 'ok', data: new Uint8Array(6) });
  const outOk = (): Promise<SimOutResult> => Promise.resolve({ status: 'ok', bytesWritten: 64 });

  it('turns damaged packets into retransmissions, and three in a row into a transfer error', async () => {
    const faults = new UsbFaultInjector({ seed: 5, byteRate: 0.02 });
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      await faults.controlOut(setup, new Uint8Array(64), outOk).catch((e: unknown) => {
        expect(e).toBeInstanceOf(TransportError);
        errors++;
      });
    }
    expect(faults.counts.retry).toBeGreaterThan(1000);
    expect(errors).toBe(faults.counts.error + faults.counts.lost);
    expect(errors).toBeGreaterThan(0);
  });

  it('a confused device rewrites IN data and stalls OUT transfers it took', async () => {
    const fuzzer = new ReplyFuzzer({ seed: 2, rate: 1, kinds: ['truncate'] });
    const faults = new UsbFaultInjector({ seed: 2, fuzzer, stallRate: 1 });
    expect((await faults.controlIn(setup, 6, inOk)).data.length).toBeLessThan(6);
    let acted = false;
    const r = await faults.controlOut(setup, new Uint8Array(1), () => {
      acted = true;
      return outOk();
    });
    expect(acted).toBe(true);
    expect(r.status).toBe('stall');
  });
});
