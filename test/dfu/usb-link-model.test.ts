/**
 * The full-speed bus model (src/sim/usb/usb-link-model.ts) against USB 2.0: 1500 byte times
 * per 1 ms frame, 5 of them taken by the SOF, 13 byte times of overhead per transaction
 * (Table 5-9), so 19 full 64-byte packets per frame; transactions are never split across
 * frames; a transfer ends with its STATUS transaction and the next may follow in the same frame.
 */
import { describe, expect, it } from 'vitest';
import { sleep, VirtualClock } from '../../src/core/clock.ts';
import { UsbLinkModel } from '../../src/sim/usb/usb-link-model.ts';

/** Milliseconds of `n` byte times at 12 Mb/s. */
const bytes = (n: number): number => n / 1500;

function model() {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  return { clock, link: new UsbLinkModel(clock) };
}

describe('USB full-speed bus model', () => {
  it('splits a control transfer into SETUP, 64-byte DATA packets and STATUS', () => {
    const { link } = model();
    expect(link.transactions(0)).toEqual([8, 0]);
    expect(link.transactions(6)).toEqual([8, 6, 0]);
    expect(link.transactions(64)).toEqual([8, 64, 0]);
    expect(link.transactions(130)).toEqual([8, 64, 64, 2, 0]);
    expect(link.transactions(4096)).toHaveLength(66);
  });

  it('fits 19 full packets in a frame: 1216 payload bytes per ms (USB 2.0 Table 5-9)', () => {
    const { link } = model();
    expect(link.packetsPerFrame).toBe(19);
    expect(link.dataStageMs(1216)).toBeCloseTo(1, 12);
    expect(link.dataStageMs(4096)).toBeCloseTo(64 / 19, 12);
  });

  it('times a 4096-byte control OUT transfer from the start of a frame', async () => {
    const { clock, link } = model();
    await link.transfer(4096);
    // frame 0: SOF, SETUP (21), 19 packets (77 each), 11 byte times left over;
    // frames 1 and 2: 19 packets each; frame 3: the last 7 packets and STATUS (13).
    expect(clock.now()).toBeCloseTo(3 + bytes(5 + 7 * 77 + 13), 9);
  });

  it('runs short transfers back to back in the same frame', async () => {
    const { clock, link } = model();
    await link.transfer(6); // a GETSTATUS: 21 + 19 + 13 byte times
    expect(clock.now()).toBeCloseTo(bytes(5 + 53), 9);
    await link.transfer(6);
    expect(clock.now()).toBeCloseTo(bytes(5 + 2 * 53), 9);
  });

  it('moves a transaction that does not fit in the rest of the frame to after the next SOF', async () => {
    const { clock, link } = model();
    await sleep(clock, 1 - bytes(20)); // 20 byte times before the next SOF: the SETUP (21) does not fit
    await link.transfer(0);
    expect(clock.now()).toBeCloseTo(1 + bytes(5 + 21 + 13), 9);
  });

  it('queues a transfer behind one still on the bus', async () => {
    const { clock, link } = model();
    const first = link.schedule(64);
    const second = link.schedule(64);
    expect(first).toBeCloseTo(bytes(5 + 21 + 77 + 13), 9);
    expect(second).toBeCloseTo(first + bytes(21 + 77 + 13), 9);
    await link.transfer(0);
    expect(clock.now()).toBeCloseTo(second + bytes(21 + 13), 9);
  });

  it('DFU download of 4096-byte blocks (DNLOAD + one GETSTATUS each) keeps ≥ 0.95 of the data-stage limit', async () => {
    const { clock, link } = model();
    for (let i = 0; i < 48; i++) {
      await link.transfer(4096);
      await link.transfer(6);
    }
    expect(link.dataStageMs(48 * 4096) / clock.now()).toBeGreaterThanOrEqual(0.95);
  });
});
