/**
 * Waiting for a USB device that may come back under an identity the page cannot see yet. A DFU
 * 1.1 device switched from run-time to DFU mode (DFU 1.1 §5.1: DFU_DETACH, USB reset,
 * re-enumeration) often comes back with another product id. Browsers keep WebUSB permissions
 * per vendor id, product id and serial number (WebUSB §3 "Permission API"), and neither list nor
 * announce a device the page has no permission for (WebUSB §5 `getDevices`, `connect` events),
 * so only the browser's chooser shows it, and the chooser opens only from a click (WebUSB §5.1
 * `requestDevice`, transient activation).
 *
 * `ReselectingUsbWatcher` therefore waits a moment for the device to return under an identity
 * the page may already open, then asks the person (`ask`: the technician console's prompt, the
 * customer updater's "one more step") and takes whichever comes first; the other is withdrawn
 * through its signal. Pure: the asking and the chooser are the caller's.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError } from '../core/errors.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceWatcher } from './usb.ts';

/** How long a device may take to come back by itself before the person is asked. */
export const RESELECT_GRACE_MS = 1500;

export interface ReselectingWatcherOptions {
  /** The browser's watcher (WebUsbWatcher); without one only the person can answer. */
  base: UsbDeviceWatcher | undefined;
  clock: Clock;
  /**
   * Asks the person to choose the device again and resolves with it. `signal` aborts when the
   * device came back by itself or the wait ended: take the question away then. A rejection
   * (the person gave up) ends the wait with that error.
   */
  ask: (filters: readonly UsbDeviceFilter[], signal: AbortSignal) => Promise<UsbDeviceHandle>;
  /** The longest wait in all, the person included; the driver's own timeout if it is longer. */
  timeoutMs: number;
  /** Default RESELECT_GRACE_MS. */
  graceMs?: number;
  /** What the TimeoutError suggests doing next. */
  timeoutHints?: readonly string[];
}

/**
 * A `UsbDeviceWatcher` for the DFU driver that asks the person when the device does not come
 * back by itself.
 * @example connectDfu(device, { ...options, watcher: new ReselectingUsbWatcher({ base, clock, ask, timeoutMs }) })
 */
export class ReselectingUsbWatcher implements UsbDeviceWatcher {
  constructor(private readonly options: ReselectingWatcherOptions) {}

  list(filters: readonly UsbDeviceFilter[]): Promise<UsbDeviceHandle[]> {
    return this.options.base ? this.options.base.list(filters) : Promise.resolve([]);
  }

  /**
   * Resolves with the device once it is back, by itself or chosen by the person.
   * @throws {TimeoutError} after the longer of `options.timeoutMs` and the watcher's timeout,
   *   {AbortError} through `options.signal`, or what `ask` rejected with.
   */
  async waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<UsbDeviceHandle> {
    const { clock, base } = this.options;
    const total = Math.max(options.timeoutMs, this.options.timeoutMs);
    const grace = Math.min(this.options.graceMs ?? RESELECT_GRACE_MS, total);
    if (options.signal?.aborted) throw new AbortError();
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(new AbortError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const never = new Promise<never>(() => undefined);
    try {
      // Back under an identity the page may open: nobody needs to do anything. Its own
      // timeout and abort lose to the deadline below.
      const byItself = base
        ? base
            .waitForDevice(filters, {
              timeoutMs: total,
              signal: inner.signal,
              ...(options.exclude ? { exclude: options.exclude } : {}),
            })
            .catch(() => never)
        : never;
      const asked = sleep(clock, grace, inner.signal).then(() =>
        this.options.ask(filters, inner.signal),
      );
      const deadline = sleep(clock, total, inner.signal).then((): never => {
        throw new TimeoutError('Waiting for the device in its DFU mode', total, {
          hints: [...(this.options.timeoutHints ?? [])],
        });
      });
      return await Promise.race([byItself, asked, deadline]);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      inner.abort(new AbortError());
    }
  }
}
