import { describe, expect, it } from 'vitest';
import { sleep, VirtualClock } from '../../core/clock.ts';
import { AbortError, TimeoutError } from '../../core/errors.ts';
import type { UsbDeviceHandle, UsbDeviceWatcher } from '../../transport/usb.ts';
import { PromptingUsbWatcher } from './prompting-usb-watcher.ts';
import type { ReselectRequest } from '../../app/types.ts';

const handle = (label: string): UsbDeviceHandle => ({
  info: { label, vendorId: 0x1209, productId: 2, deviceVersion: 0x100, configurations: [] },
  connected: true,
  open: () => Promise.reject(new Error('not opened in these tests')),
});

/** A base watcher that finds the device after `afterMs`, or never. */
function base(clock: VirtualClock, afterMs: number | undefined): UsbDeviceWatcher {
  return {
    list: () => Promise.resolve([]),
    waitForDevice: async (_filters, options) => {
      if (afterMs === undefined) {
        await sleep(clock, options.timeoutMs, options.signal);
        throw new TimeoutError('base', options.timeoutMs);
      }
      await sleep(clock, afterMs, options.signal);
      return handle('found by itself');
    },
  };
}

function rig(options: { foundAfterMs?: number; personAfterMs?: number; timeoutMs?: number }) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const asked: { request: ReselectRequest; at: number; withdrawn: boolean }[] = [];
  const watcher = new PromptingUsbWatcher({
    base: base(clock, options.foundAfterMs),
    clock,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    chooseAgain: async (request, signal) => {
      const entry = { request, at: clock.now(), withdrawn: false };
      asked.push(entry);
      signal.addEventListener('abort', () => (entry.withdrawn = true));
      if (options.personAfterMs === undefined) {
        await new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(new AbortError())),
        );
      }
      await sleep(clock, options.personAfterMs ?? 0, signal);
      return handle('chosen again');
    },
  });
  return { clock, asked, watcher };
}

describe('PromptingUsbWatcher', () => {
  it('takes a device that comes back by itself, without asking', async () => {
    const { asked, watcher, clock } = rig({ foundAfterMs: 300 });
    const found = await watcher.waitForDevice([{ vendorId: 0x1209 }], { timeoutMs: 6000 });
    expect(found.info.label).toBe('found by itself');
    expect(asked).toEqual([]);
    expect(clock.now()).toBe(300);
  });

  it('asks after the grace period and takes the device the person chose', async () => {
    const { asked, watcher, clock } = rig({ personAfterMs: 4000 });
    const found = await watcher.waitForDevice([{ vendorId: 0x1209 }], { timeoutMs: 6000 });
    expect(found.info.label).toBe('chosen again');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.at).toBe(1500);
    expect(asked[0]!.request.filters).toEqual([{ vendorId: 0x1209 }]);
    expect(asked[0]!.request.reason).toMatch(/choose it in the browser’s list/);
    // Longer than the driver's 6 s: a person needs time.
    expect(clock.now()).toBe(5500);
  });

  it('withdraws the prompt when the device turns up by itself meanwhile', async () => {
    const { asked, watcher } = rig({ foundAfterMs: 2000 });
    const found = await watcher.waitForDevice([{ vendorId: 0x1209 }], { timeoutMs: 6000 });
    expect(found.info.label).toBe('found by itself');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.withdrawn).toBe(true);
  });

  it('gives up with a TimeoutError that says what to do', async () => {
    const { asked, watcher, clock } = rig({ timeoutMs: 20_000 });
    const err = await watcher
      .waitForDevice([{ vendorId: 0x1209 }], { timeoutMs: 6000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(20_000);
    expect((err as TimeoutError).hints[0]).toMatch(/Choose the device again/);
    expect(clock.now()).toBe(20_000);
    expect(asked[0]!.withdrawn).toBe(true);
  });

  it('stops with AbortError when the job is cancelled', async () => {
    const { asked, watcher, clock } = rig({});
    const ctl = new AbortController();
    const waiting = watcher.waitForDevice([{ vendorId: 0x1209 }], {
      timeoutMs: 6000,
      signal: ctl.signal,
    });
    await sleep(clock, 3000);
    ctl.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(asked[0]!.withdrawn).toBe(true);
  });

  it('refuses at once when already cancelled', async () => {
    const { watcher } = rig({});
    await expect(
      watcher.waitForDevice([], { timeoutMs: 10, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
  });
});
