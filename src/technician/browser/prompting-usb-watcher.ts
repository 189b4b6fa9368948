/**
 * A USB device watcher that asks the technician for help. A DFU 1.1 device switched from
 * run-time to DFU mode (DFU 1.1 §5.1: DFU_DETACH, USB reset, re-enumeration) often comes back
 * with another product id. Browsers key WebUSB permissions on vendor id, product id and serial
 * number (WebUSB §3 "Permission API"; Chromium keeps one grant per identity), so the new
 * identity is invisible to the page until the person picks it in the chooser — which needs a
 * click. This watcher waits a moment for the device to return by itself (an identity already
 * allowed), then asks through `chooseAgain`, and takes whichever answer comes first.
 */
import type { Clock } from '../../core/clock.ts';
import type { UsbDeviceHandle, UsbDeviceWatcher } from '../../transport/usb.ts';
import { ReselectingUsbWatcher } from '../../transport/reselecting-usb-watcher.ts';
import type { ReselectRequest } from '../../app/types.ts';

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

const REASON =
  'The device restarted in its DFU mode as a new USB device, which this page may use only ' +
  'once you choose it in the browser’s list.';

/**
 * Watches for a re-enumerated device, asking the technician to choose it again when needed
 * (src/transport/reselecting-usb-watcher.ts).
 * @example
 * const watcher = new PromptingUsbWatcher({ base: new WebUsbWatcher(o), clock, chooseAgain });
 * await connectDfu(handle, { ...options, watcher });
 */
export class PromptingUsbWatcher extends ReselectingUsbWatcher {
  constructor(options: PromptingWatcherOptions) {
    super({
      base: options.base,
      clock: options.clock,
      ask: (filters, signal) => options.chooseAgain({ filters, reason: REASON }, signal),
      timeoutMs: options.timeoutMs ?? RESELECT_TIMEOUT_MS,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      timeoutHints: [
        'Press "Choose the device again" and pick the board in the browser’s list.',
        'Or unplug the board and plug it in again in DFU mode, then press Flash again.',
      ],
    });
  }
}
