/**
 * Choosing a DFU 1.1 device again, in the lazy USB chunk. A device switched from its application
 * to DFU mode (DFU 1.1 §5.1: DFU_DETACH, USB reset, re-enumeration) often comes back with
 * another product id. Browsers keep WebUSB permissions per vendor id, product id and serial
 * number (WebUSB §3 "Permission API"), and they neither list nor announce a device the page has
 * no permission for (WebUSB §5 "getDevices", "connect" events), so the page cannot tell it came
 * back: only the chooser shows it, and the chooser opens only from a click (WebUSB §5.1
 * `requestDevice` step 3, transient activation).
 *
 * So this watcher waits a moment for the device to return under an identity the page may
 * already open, then offers the "choose it again" step (flow.ts `ChooseAgainStep`) and takes
 * whichever comes first: the device by itself (the step is then withdrawn) or the person's
 * choice. A closed chooser offers the step again; giving up ends the wait.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceWatcher } from '../transport/usb.ts';
import { requestUsbDevice, WebUsbWatcher, type WebUsbOptions } from '../transport/webusb.ts';
import type { ChooseAgainStep } from './flow.ts';

/**
 * The longest wait for the device, the person's choice included: a customer may take a while
 * to read the step and find the device in the list. Default of `ReselectOptions.timeoutMs`.
 */
export const CHOOSE_AGAIN_TIMEOUT_MS = 15 * 60_000;

/**
 * How long a device may take to come back by itself, under an identity the page may open,
 * before the person is asked (the technician console waits as long, src/store/usb-reselect.ts).
 */
export const CHOOSE_AGAIN_GRACE_MS = 1500;

/**
 * DFU-mode devices of one vendor: interface class 0xFE, subclass 0x01, protocol 0x02 (DFU 1.1
 * §4.2.3 Table 4.4). The chooser lists only the device back in its update mode.
 * @example dfuModeFilters(0x1209) // [{ vendorId: 0x1209, classCode: 0xfe, subclassCode: 1, protocolCode: 2 }]
 */
export function dfuModeFilters(vendorId: number): UsbDeviceFilter[] {
  return [{ vendorId, classCode: 0xfe, subclassCode: 0x01, protocolCode: 0x02 }];
}

export interface ReselectOptions {
  webUsb: WebUsbOptions;
  clock: Clock;
  logger?: Logger | undefined;
  /** Shows the step; `undefined` takes it away. */
  show: (step: ChooseAgainStep | undefined) => void;
  /** Default CHOOSE_AGAIN_GRACE_MS. */
  graceMs?: number;
  /** Default CHOOSE_AGAIN_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * A `UsbDeviceWatcher` for the DFU driver that asks the person to choose the device again.
 * @example connectDfu(device, { ...options, watcher: new ReselectingUsbWatcher({ webUsb, clock, show }) })
 */
export class ReselectingUsbWatcher implements UsbDeviceWatcher {
  private readonly base: WebUsbWatcher;

  constructor(private readonly options: ReselectOptions) {
    this.base = new WebUsbWatcher(options.webUsb);
  }

  list(filters: readonly UsbDeviceFilter[]): Promise<UsbDeviceHandle[]> {
    return this.base.list(filters);
  }

  /**
   * Resolves with the device once it is back, by itself or chosen by the person.
   * @throws {AbortError} when the person gives up, or through `options.signal`;
   *   {TimeoutError} after `timeoutMs` (the driver's shorter timeout is not used: a person
   *   needs longer).
   */
  async waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<UsbDeviceHandle> {
    const { clock, show, webUsb, logger } = this.options;
    const total = Math.max(options.timeoutMs, this.options.timeoutMs ?? CHOOSE_AGAIN_TIMEOUT_MS);
    if (options.signal?.aborted) throw new AbortError();
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(new AbortError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let shown = false;
    try {
      // Back under an identity the page may open: no one needs to do anything. Its timeout
      // and abort lose to the other two.
      const byItself = this.base
        .waitForDevice(filters, {
          timeoutMs: total,
          signal: inner.signal,
          ...(options.exclude ? { exclude: options.exclude } : {}),
        })
        .catch(() => new Promise<never>(() => undefined));
      const chosen = new Promise<UsbDeviceHandle>((resolve, reject) => {
        let open = false;
        const offer = (cancelled: boolean): void => {
          shown = true;
          show({
            cancelled,
            choose: async () => {
              if (open || inner.signal.aborted) return;
              open = true;
              let device: UsbDeviceHandle;
              try {
                device = await requestUsbDevice(filters, webUsb);
              } catch (err) {
                // Closed without a choice, or the browser did not open it: offer it again.
                logger?.warn(`The device was not chosen again: ${String(err)}`);
                open = false;
                if (!inner.signal.aborted) offer(true);
                return;
              }
              logger?.info(`Chosen again: ${device.info.label}`);
              resolve(device);
            },
            giveUp: () =>
              reject(new AbortError('The device was not chosen again in its update mode.')),
          });
        };
        sleep(clock, Math.min(this.options.graceMs ?? CHOOSE_AGAIN_GRACE_MS, total), inner.signal)
          .then(() => {
            logger?.info('The device may be back under a new USB identity: asking to choose it.');
            offer(false);
          })
          .catch(reject);
      });
      const deadline = sleep(clock, total, inner.signal).then(() => {
        throw new TimeoutError('Waiting for the device in its update mode', total);
      });
      return await Promise.race([byItself, chosen, deadline]);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      inner.abort(new AbortError());
      if (shown) show(undefined);
    }
  }
}
