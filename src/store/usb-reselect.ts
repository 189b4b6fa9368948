/**
 * A USB device watcher that asks the technician for help. A DFU 1.1 device switched from
 * run-time to DFU mode (DFU 1.1 §5.1: DFU_DETACH, USB reset, re-enumeration) often comes back
 * with another product id. Browsers key WebUSB permissions on vendor id, product id and serial
 * number (WebUSB §3 "Permission API"; Chromium keeps one grant per identity), so the new
 * identity is invisible to the page until the person picks it in the chooser — which needs a
 * click. This watcher waits a moment for the device to return by itself (an identity already
 * allowed), then asks through `chooseAgain`, and takes whichever answer comes first.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError, asWebflashError } from '../core/errors.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceWatcher } from '../transport/usb.ts';
import type { ReselectRequest } from './types.ts';

export interface PromptingWatcherOptions {
  /** The browser's watcher (WebUsbWatcher); without one only the person can answer. */
  base: UsbDeviceWatcher | undefined;
  clock: Clock;
  chooseAgain: (request: ReselectRequest, signal: AbortSignal) => Promise<UsbDeviceHandle>;
  /** How long the device may take to come back by itself before the person is asked. Default 1500 ms. */
  graceMs?: number;
  /** The longest wait in all, the person included. Default 90 s. */
  timeoutMs?: number;
}

/** Default of `PromptingWatcherOptions.timeoutMs`. */
export const RESELECT_TIMEOUT_MS = 90_000;

/**
 * Watches for a re-enumerated device, asking the technician to choose it again when needed.
 * @example
 * const watcher = new PromptingUsbWatcher({ base: new WebUsbWatcher(o), clock, chooseAgain });
 * await connectDfu(handle, { ...options, watcher });
 */
export class PromptingUsbWatcher implements UsbDeviceWatcher {
  constructor(private readonly options: PromptingWatcherOptions) {}

  list(filters: readonly UsbDeviceFilter[]): Promise<UsbDeviceHandle[]> {
    return this.options.base ? this.options.base.list(filters) : Promise.resolve([]);
  }

  /**
   * Resolves with the device once it is back, found by itself or chosen by the technician.
   * @throws {TimeoutError} after `timeoutMs` (the driver's shorter timeout is not used: a
   *   person needs longer), {AbortError} through `options.signal`, or the chooser's error
   *   other than a cancelled chooser.
   */
  async waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<UsbDeviceHandle> {
    const { clock, base } = this.options;
    const total = Math.max(options.timeoutMs, this.options.timeoutMs ?? RESELECT_TIMEOUT_MS);
    const grace = Math.min(this.options.graceMs ?? 1500, total);
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(new AbortError());
    if (options.signal?.aborted) throw new AbortError();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const reason =
      'The device restarted in its DFU mode as a new USB device, which this page may use only ' +
      'once you choose it in the browser’s list.';
    try {
      const found: Promise<UsbDeviceHandle>[] = [];
      if (base) {
        found.push(
          base.waitForDevice(filters, {
            timeoutMs: total,
            signal: inner.signal,
            ...(options.exclude ? { exclude: options.exclude } : {}),
          }),
        );
      }
      found.push(
        (async () => {
          await sleep(clock, grace, inner.signal);
          return this.options.chooseAgain({ filters, reason }, inner.signal);
        })(),
      );
      const deadline = (async (): Promise<never> => {
        await sleep(clock, total, inner.signal);
        throw new TimeoutError('Waiting for the device in DFU mode', total, {
          hints: [
            'Press "Choose the device again" and pick the board in the browser’s list.',
            'Or unplug the board and plug it in again in DFU mode, then press Flash again.',
          ],
        });
      })();
      return await Promise.race([firstSuccess(found), deadline]);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      inner.abort(new AbortError());
    }
  }
}

/**
 * The first promise to resolve; when all reject, the most telling error: a timeout or a real
 * failure rather than the AbortErrors of the losers.
 */
function firstSuccess<T>(promises: readonly Promise<T>[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const errors: unknown[] = [];
    for (const p of promises) {
      p.then(resolve, (err: unknown) => {
        errors.push(err);
        if (errors.length === promises.length) {
          const all = errors.map((e) => asWebflashError(e));
          reject(all.find((e) => e.code !== 'aborted') ?? all[0]!);
        }
      });
    }
  });
}
