/**
 * Turning WebUSB's DOMExceptions into our TransportErrors with plain-language advice. Pure:
 * it looks only at the exception's `name` and at the user agent string it is given.
 *
 * Windows binds no generic driver to a DFU interface; without WinUSB (installed with Zadig)
 * Chromium rejects `open()` with SecurityError or `claimInterface()` with NetworkError
 * (https://github.com/WICG/webusb/issues/55). That becomes 'transport.driver-missing'.
 */
import { TransportError, errorMessage } from '../core/errors.ts';

const ZADIG_HINTS = [
  'Windows needs the WinUSB driver for this device before a browser can use it.',
  'Download Zadig from https://zadig.akeo.ie and run it.',
  'Choose Options → List All Devices, pick the board (e.g. "STM32 BOOTLOADER" or "DFU in FS Mode").',
  'Select "WinUSB" as the driver, click "Replace Driver" (or "Install Driver"), then reconnect the board and try again.',
];

/** True for a Windows user agent. */
function isWindows(userAgent: string): boolean {
  return /Windows/i.test(userAgent);
}

/** The `name` of a DOMException-like value. */
export function domName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : undefined;
}

/** Turns a WebUSB rejection into a TransportError with plain-language advice. */
export function mapWebUsbError(
  err: unknown,
  context: {
    step: 'request' | 'open' | 'claim' | 'transfer' | 'configure';
    userAgent: string;
    label: string;
  },
): TransportError {
  if (err instanceof TransportError) return err;
  const name = domName(err);
  const { step, label } = context;
  if (step === 'request' && name === 'NotFoundError') {
    return new TransportError('transport.no-port-selected', 'No USB device was chosen.', {
      cause: err,
      hints: ['Put the board in DFU mode, then choose it in the browser’s list.'],
    });
  }
  if (step === 'request' && name === 'SecurityError') {
    return new TransportError(
      'transport.unavailable',
      'The browser refused to show the USB device list.',
      {
        cause: err,
        hints: ['Start the connection with a click on the page, from an https:// address.'],
      },
    );
  }
  if (
    (step === 'open' || step === 'claim') &&
    (name === 'SecurityError' || name === 'NetworkError') &&
    isWindows(context.userAgent)
  ) {
    return new TransportError(
      'transport.driver-missing',
      `Windows has no WinUSB driver installed for ${label}, so the browser cannot use it.`,
      { cause: err, hints: ZADIG_HINTS },
    );
  }
  if (name === 'NotFoundError' && step === 'transfer') {
    return new TransportError('transport.device-lost', `${label} was disconnected.`, {
      cause: err,
      hints: ['Check the cable, put the board back in DFU mode and try again.'],
    });
  }
  if (
    (step === 'open' || step === 'claim') &&
    (name === 'NetworkError' || name === 'InvalidStateError')
  ) {
    return new TransportError(
      'transport.port-busy',
      `${label} is in use by another program or tab.`,
      {
        cause: err,
        hints: [
          'Close other programs and browser tabs that use the board (dfu-util, STM32CubeProgrammer).',
          'On Linux, check the udev rules give your user access to the device.',
        ],
      },
    );
  }
  const message = errorMessage(err);
  return new TransportError(
    step === 'open' ? 'transport.open-failed' : 'transport.io',
    `USB ${step} failed on ${label}: ${message}`,
    { cause: err },
  );
}
