/**
 * The customer updater's words: short, plain, and always ending in something the person can
 * do. Chosen from error codes, bundle reasons and whether the device's memory was touched —
 * never from message text (docs/engine.md, "Recovery messages", is the technician's version).
 */
import { BundleError } from '../bundle/errors.ts';
import type { WebflashError } from '../core/errors.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { Transport, UnsupportedReason } from './support.ts';

/** What a failure screen says. */
export interface FailureText {
  title: string;
  /** What happened and what state the device is in. */
  message: string;
  /** What to do, in order. */
  steps: string[];
}

/** Titles and explanations of the screens shown when an update cannot run here. */
export const UNSUPPORTED_TEXT: { readonly [R in UnsupportedReason]: FailureText } = {
  insecure: {
    title: 'This page is not secure',
    message:
      'Browsers only let secure (https) pages talk to USB devices, and this page was opened over plain http.',
    steps: ['Open this page with an address that starts with https://.'],
  },
  'blocked-by-embedder': {
    title: 'This page does not allow USB access',
    message:
      'The updater is shown inside another page that does not give it permission to use USB devices.',
    steps: [
      'Open the updater in its own tab.',
      'Website owners: add allow="serial; usb" to the iframe.',
    ],
  },
  mobile: {
    title: 'Use a computer for this update',
    message: 'Phones and tablets cannot connect to the device to update it.',
    steps: ['Open this page in Chrome or Edge on a Windows, macOS, Linux or ChromeOS computer.'],
  },
  'no-api': {
    title: 'This browser cannot update your device',
    message: 'Updating over USB needs a browser that can talk to USB devices.',
    steps: ['Use Chrome or Edge on a computer.'],
  },
};

/** How a person restarts each kind of device into update mode by hand. */
const UPDATE_MODE: Record<ProtocolId, string> = {
  'esp-serial': 'hold the BOOT button, press and release RESET, then release BOOT',
  'stm32-usart': 'set the BOOT0 switch, then press RESET',
  dfu: 'hold the BOOT button while plugging the device in',
  dfuse: 'hold the BOOT button while plugging the device in',
  'avr-stk500v1': 'press RESET, then start the update within a second',
  'avr-stk500v2': 'press RESET, then start the update within a second',
  avr109: 'press RESET twice quickly, then start the update within 8 seconds',
  'mcuboot-smp': 'hold the recovery button while pressing RESET',
};

export interface FailureContext {
  error: WebflashError;
  /** True once the device's memory may have been changed. */
  flashTouched: boolean;
  protocol?: ProtocolId | undefined;
  /** How the device is reached (USB devices get USB-specific steps). */
  transport?: Transport | undefined;
  /** Whether the update file was being fetched, or the device updated. Default 'install'. */
  stage?: 'download' | 'install';
}

const NOTHING_CHANGED = 'Nothing was changed on your device.';
const SUPPORT = "Contact the manufacturer's support.";
const INCOMPLETE =
  'The update did not finish, so your device will not start normally until it is updated again.';

/**
 * The note on the button after the device chooser was closed without a choice. A USB device
 * that is not in its update mode is not in the list at all (the chooser lists only the
 * release's USB ids), so over USB the note says how to get it there.
 * @example noDeviceNote('serial') // 'No device was chosen. Press the button to try again.'
 */
export function noDeviceNote(transport: Transport): string {
  return transport === 'usb'
    ? `No device was chosen. If yours was not in the list, ${UPDATE_MODE.dfu}, then press the button to try again.`
    : 'No device was chosen. Press the button to try again.';
}

/**
 * The failure screen for an error, whether it came from loading the update file or from the
 * device.
 * @example failureText({ error: new BundleError('target.mismatch'), flashTouched: false }).title
 *   // 'This update is not for the connected device'
 */
export function failureText(ctx: FailureContext): FailureText {
  const { error } = ctx;
  const manual = ctx.protocol ? UPDATE_MODE[ctx.protocol] : undefined;
  const state = ctx.flashTouched ? INCOMPLETE : NOTHING_CHANGED;
  const usb = ctx.transport === 'usb';
  // A DFU 1.1 device whose update stopped part-way stays in its update mode (DFU 1.1 §5.1),
  // where the next attempt updates it.
  const staysInUpdateMode = ctx.protocol === 'dfu' && ctx.flashTouched;

  if (error instanceof BundleError) return bundleText(error);
  if (
    ctx.stage === 'download' &&
    error.code !== 'bundle.origin-refused' &&
    error.code !== 'usage.invalid-argument'
  ) {
    return {
      title: 'The update could not be downloaded',
      message: `${error.message} ${NOTHING_CHANGED}`,
      steps: ['Check your internet connection, then press Try again.'],
    };
  }
  switch (error.code) {
    case 'bundle.origin-refused':
      return {
        title: 'This update comes from an unknown place',
        message: error.message,
        steps: [...error.hints],
      };
    case 'usage.invalid-argument':
      return {
        title: 'This update page is not set up correctly',
        message: `${error.message} ${NOTHING_CHANGED}`,
        steps: [SUPPORT],
      };
    case 'transport.device-lost':
      return {
        title: 'The device was disconnected',
        message: state,
        steps: [
          usb && manual && !staysInUpdateMode
            ? `To plug it back in, ${manual}.`
            : `Plug the device back in with the USB cable.${staysInUpdateMode ? ' It stays in its update mode.' : ''}`,
          'Press Try again and keep the cable plugged in until the update finishes.',
        ],
      };
    case 'transport.port-busy':
    case 'transport.open-failed':
      return {
        title: 'The device is in use by another program',
        message: state,
        steps: [
          'Close other programs or browser tabs that use the device.',
          // Linux lets only users the device's udev rules name open a USB device.
          ...(usb ? ["On Linux, install the device's USB rules from its manufacturer."] : []),
          'Press Try again.',
        ],
      };
    case 'transport.driver-missing':
      // Over WebUSB on Windows the transport names the driver and how to install it.
      return {
        title: 'A USB driver is missing',
        message: `${error.message} ${state}`,
        steps: [
          ...(error.hints.length > 0
            ? error.hints
            : ["Install the USB driver from the manufacturer's support page."]),
          'Press Try again.',
        ],
      };
    case 'transport.unavailable':
      return { ...UNSUPPORTED_TEXT['no-api'] };
    case 'protocol.no-sync':
    case 'timeout':
    case 'framing.invalid':
    case 'protocol.bad-reply':
      return {
        title: 'The device did not respond',
        message: state,
        steps: [
          'Unplug the device, plug it back in, then press Try again.',
          ...(manual ? [`If it still does not respond, ${manual}, then press Try again.`] : []),
          'Try another USB cable: some cables only carry power.',
        ],
      };
    case 'protocol.wrong-chip':
      return bundleText(new BundleError('target.mismatch'));
    case 'protocol.unsupported':
      return {
        title: 'This updater cannot install this update',
        message: `${error.message} ${NOTHING_CHANGED}`,
        steps: [...error.hints, SUPPORT].filter((step, i, all) => all.indexOf(step) === i),
      };
    case 'protocol.read-protected':
      return {
        title: 'This device is locked',
        // A read-protected STM32 bootloader refuses erase and write (ST AN3155, AN3156).
        message: `Its memory is protected, so the update cannot be installed. ${NOTHING_CHANGED}`,
        steps: [`${SUPPORT} Unlocking the device erases it, which needs their tools.`],
      };
    case 'verify.mismatch':
      return {
        title: 'The update could not be checked on the device',
        message: state,
        steps: [
          'Press Try again.',
          "If it fails the same way, contact the manufacturer's support.",
        ],
      };
    case 'aborted':
      // Stopped, e.g. while the device waited in its update mode to be chosen again:
      // plugged in again, it starts as it was.
      return {
        title: 'The update was stopped',
        message: state,
        steps: ['Unplug the device, plug it back in, then press Try again.'],
      };
    default:
      return {
        title: 'The update did not finish',
        message: state,
        steps: staysInUpdateMode
          ? [
              'Your device stays in its update mode. Press Try again to update it.',
              'If it does not respond, unplug the device, plug it back in, then press Try again.',
            ]
          : [
              'Unplug the device, plug it back in, then press Try again.',
              ...(manual ? [`If that does not help, ${manual}, then press Try again.`] : []),
            ],
      };
  }
}

function bundleText(error: BundleError): FailureText {
  const reason = error.reason;
  if (reason.startsWith('target.')) {
    return {
      title: 'This update is not for the connected device',
      message: NOTHING_CHANGED,
      steps: [
        'Check that you connected the right device, then press Try again.',
        'Make sure you are on the update page for your product.',
      ],
    };
  }
  if (reason.startsWith('rollback.')) {
    return {
      title: 'Your device already has a newer version',
      message: `This update is older than the software your device has. ${NOTHING_CHANGED}`,
      steps: ['No update is needed. You can unplug your device.'],
    };
  }
  if (reason === 'expired' || reason === 'not-yet-valid' || reason === 'root.expired') {
    return {
      title: 'This update is out of date',
      message: `The update file is no longer (or not yet) valid. ${NOTHING_CHANGED}`,
      steps: [
        "Check that your computer's date and time are correct, then reload this page.",
        "If it still fails, contact the manufacturer's support.",
      ],
    };
  }
  if (reason === 'product.mismatch') {
    return {
      title: 'This update is for a different product',
      message: NOTHING_CHANGED,
      steps: ['Make sure you are on the update page for your product.'],
    };
  }
  return {
    title: 'The update file could not be trusted',
    message: `It may be damaged, or it was changed after the manufacturer published it. ${NOTHING_CHANGED}`,
    steps: [
      'Reload this page to download it again.',
      "If it still fails, contact the manufacturer's support.",
    ],
  };
}

/** "About 2 minutes left", "About 40 seconds left", or undefined while unknown. */
export function timeLeftText(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  const seconds = ms / 1000;
  if (seconds < 5) return 'A few seconds left';
  if (seconds < 60) return `About ${Math.ceil(seconds / 5) * 5} seconds left`;
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? 'About 1 minute left' : `About ${minutes} minutes left`;
}
