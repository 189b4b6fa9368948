/**
 * Headlines and extra steps for errors, chosen by the error's code (and a bundle's reason) —
 * never by parsing message text. The error's own message and hints, and the engine's recovery
 * text, are shown with them.
 */
import type { ErrorCode } from '../../core/errors.ts';
import type { ErrorView } from '../state/index.ts';

const TITLES: Partial<Record<ErrorCode, string>> = {
  'transport.unavailable': 'This browser cannot talk to serial ports',
  'transport.no-port-selected': 'No board was chosen',
  'transport.port-busy': 'The port is in use by another program',
  'transport.open-failed': 'The port could not be opened',
  'transport.device-lost': 'The board was disconnected',
  'transport.io': 'The connection to the board failed',
  'transport.closed': 'The connection was closed',
  'transport.driver-missing': 'The USB driver for the board is missing',
  'framing.invalid': 'The board sent garbled data',
  'framing.overflow': 'The board sent too much data',
  'protocol.no-sync': 'The board did not answer',
  'protocol.bad-reply': 'The board gave an unexpected answer',
  'protocol.command-failed': 'The bootloader refused a command',
  'protocol.unsupported': 'This board does not support that',
  'protocol.wrong-chip': 'This bundle is not for this board',
  'protocol.read-protected': 'The chip is read-protected',
  timeout: 'The board stopped answering',
  aborted: 'Cancelled',
  'verify.mismatch': 'Verification failed',
  'bundle.rejected': 'The bundle was refused',
  'usage.invalid-argument': 'This cannot be done',
  'plan.keep-range': 'The flash would overwrite a range you asked to keep',
};

/** The headline for an error. */
export function errorTitle(error: ErrorView): string {
  if (error.reason?.startsWith('target.')) return 'This bundle is not for this board';
  if (error.reason?.startsWith('rollback.')) return 'This would install an older release';
  return TITLES[error.code] ?? 'Something went wrong';
}

/** Board-side steps that often help, by code: added after the error's own hints. */
const STEPS: Partial<Record<ErrorCode, readonly string[]>> = {
  'protocol.no-sync': [
    'Hold BOOT and press RESET, then release BOOT, to put the board into its bootloader.',
    'Try another USB cable: some carry power only.',
  ],
  timeout: ['Try a lower baud rate in the options.', 'Hold BOOT and press RESET, then try again.'],
  'framing.invalid': ['Try a lower baud rate in the options.'],
  'protocol.bad-reply': ['Try a lower baud rate in the options.'],
  'transport.port-busy': [
    'Close serial monitors, IDEs and other tabs that use the port (only one program or tab can open it at a time).',
  ],
  'transport.open-failed': [
    'Close other programs that use the port, then try again.',
    'Linux: add yourself to the "dialout" group (sudo usermod -aG dialout $USER), log out and in, or add a udev rule for the board.',
    'Try a lower baud rate in the options.',
  ],
  'transport.driver-missing': [
    'Windows: install the USB-to-serial driver for the chip on the board (Silicon Labs CP210x or WCH CH340/CH343), then plug the board in again.',
    'macOS: recent versions include CP210x and CH34x drivers; on older versions install the vendor driver and allow it in System Settings → Privacy & Security.',
    'Linux: the drivers are built in; check that the board appears (dmesg) and that you are in the "dialout" group.',
  ],
  'transport.device-lost': ['Check the USB cable and plug the board back in.'],
  'transport.unavailable': ['Use Chrome or Edge on a desktop computer.'],
};

/**
 * The steps to show, in order and without repeats: the error's own hints, then the steps for
 * its code.
 */
export function errorSteps(error: ErrorView): string[] {
  return [...new Set([...error.hints, ...(STEPS[error.code] ?? [])])];
}
