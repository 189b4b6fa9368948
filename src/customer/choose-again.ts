/**
 * Choosing a DFU 1.1 device again, in the lazy USB chunk. A device switched from its application
 * to DFU mode (DFU 1.1 §5.1: DFU_DETACH, USB reset, re-enumeration) often comes back with
 * another product id. Browsers keep WebUSB permissions per vendor id, product id and serial
 * number (WebUSB §3 "Permission API"), and they neither list nor announce a device the page has
 * no permission for (WebUSB §5 "getDevices", "connect" events), so the page cannot tell it came
 * back: only the chooser shows it, and the chooser opens only from a click (WebUSB §5.1
 * `requestDevice` step 3, transient activation).
 *
 * So the watcher (src/transport/reselecting-usb-watcher.ts) waits a moment for the device to return under
 * an identity the page may already open, then offers the "choose it again" step (flow.ts
 * `ChooseAgainStep`) and takes whichever comes first: the device by itself (the step is then
 * withdrawn) or the person's choice. A closed chooser offers the step again; giving up ends the
 * wait.
 */
import type { Clock } from '../core/clock.ts';
import { AbortError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { UsbDeviceFilter, UsbDeviceHandle } from '../transport/usb.ts';
import { RESELECT_GRACE_MS, ReselectingUsbWatcher } from '../transport/reselecting-usb-watcher.ts';
import { requestUsbDevice, WebUsbWatcher, type WebUsbOptions } from '../transport/webusb.ts';
import type { ChooseAgainStep } from './flow.ts';

/**
 * The longest wait for the device, the person's choice included: a customer may take a while
 * to read the step and find the device in the list. Default of `ReselectOptions.timeoutMs`.
 */
export const CHOOSE_AGAIN_TIMEOUT_MS = 15 * 60_000;

/**
 * How long a device may take to come back by itself, under an identity the page may open,
 * before the person is asked (as long as in the technician console).
 */
export const CHOOSE_AGAIN_GRACE_MS = RESELECT_GRACE_MS;

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
 * Offers the "choose it again" step until the person chooses the device or gives up; the step
 * goes when `signal` aborts (the device came back by itself, or the wait ended).
 */
function offerStep(
  options: ReselectOptions,
  filters: readonly UsbDeviceFilter[],
  signal: AbortSignal,
): Promise<UsbDeviceHandle> {
  const { show, webUsb, logger } = options;
  return new Promise<UsbDeviceHandle>((resolve, reject) => {
    let open = false;
    const offer = (cancelled: boolean): void =>
      show({
        cancelled,
        choose: async () => {
          if (open || signal.aborted) return;
          open = true;
          let device: UsbDeviceHandle;
          try {
            device = await requestUsbDevice(filters, webUsb);
          } catch (err) {
            // Closed without a choice, or the browser did not open it: offer it again.
            logger?.warn(`The device was not chosen again: ${String(err)}`);
            open = false;
            if (!signal.aborted) offer(true);
            return;
          }
          logger?.info(`Chosen again: ${device.info.label}`);
          resolve(device);
        },
        giveUp: () => reject(new AbortError('The device was not chosen again in its update mode.')),
      });
    signal.addEventListener('abort', () => show(undefined), { once: true });
    logger?.info('The device may be back under a new USB identity: asking to choose it.');
    offer(false);
  });
}

/**
 * A `UsbDeviceWatcher` for the DFU driver that asks the person to choose the device again.
 * @example connectDfu(device, { ...options, watcher: chooseAgainWatcher({ webUsb, clock, show }) })
 */
export function chooseAgainWatcher(options: ReselectOptions): ReselectingUsbWatcher {
  return new ReselectingUsbWatcher({
    base: new WebUsbWatcher(options.webUsb),
    clock: options.clock,
    ask: (filters, signal) => offerStep(options, filters, signal),
    timeoutMs: options.timeoutMs ?? CHOOSE_AGAIN_TIMEOUT_MS,
    graceMs: options.graceMs ?? CHOOSE_AGAIN_GRACE_MS,
  });
}
