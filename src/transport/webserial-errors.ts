/**
 * Turning Web Serial's DOMExceptions into TransportErrors with hints (W3C Web Serial API,
 * "requestPort()", "open()", and the read/write error tables of "readable"/"writable").
 */
import { TransportError, WebflashError } from '../core/errors.ts';

/** Read errors after which the port produces a new `readable` (Web Serial "readable" steps). */
const RECOVERABLE_READ_ERRORS: ReadonlySet<string> = new Set([
  'BufferOverrunError',
  'BreakError',
  'FramingError',
  'ParityError',
]);

function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '';
}

/** True for read errors that only lose some bytes; the read loop goes on with a new reader. */
export function isRecoverableReadError(err: unknown): boolean {
  return RECOVERABLE_READ_ERRORS.has(errorName(err));
}

export type SerialAction = 'request' | 'open' | 'read' | 'write' | 'signals' | 'close';

/**
 * Maps an error from a Web Serial call to a TransportError with plain-language hints; the
 * original error is kept as `cause`.
 */
export function mapSerialError(err: unknown, action: SerialAction): TransportError {
  if (err instanceof TransportError) return err;
  if (err instanceof WebflashError) {
    return new TransportError(err.code, err.message, { cause: err, hints: err.hints });
  }
  const name = errorName(err);
  const detail = err instanceof Error && err.message ? ` (${err.message})` : '';
  switch (name) {
    case 'NotFoundError':
      if (action === 'request') {
        return new TransportError('transport.no-port-selected', 'No serial port was selected', {
          cause: err,
          hints: [
            'Plug the board in, then choose it in the list the browser shows.',
            'If it is not listed, the USB cable may be charge-only, or a USB-serial driver is missing.',
          ],
        });
      }
      return lost(err);
    case 'InvalidStateError':
      return new TransportError(
        'transport.port-busy',
        action === 'open'
          ? 'The serial port is already open'
          : `The serial port is not in a state to ${action}${detail}`,
        {
          cause: err,
          hints: [
            'Close other tabs or programs using this port (serial monitor, IDE, another webflash tab).',
            'Unplug and replug the board if nothing else uses it.',
          ],
        },
      );
    case 'SecurityError':
      return new TransportError(
        'transport.unavailable',
        `Access to serial ports is blocked${detail}`,
        {
          cause: err,
          hints: [
            'Open webflash over https (or on localhost) in Chrome or Edge on a desktop computer.',
            'If webflash is embedded in another page, that page must allow the "serial" feature.',
          ],
        },
      );
    case 'NetworkError':
      if (action === 'open') {
        return new TransportError(
          'transport.open-failed',
          `The serial port could not be opened${detail}`,
          {
            cause: err,
            hints: [
              'Another program may hold the port: close serial monitors and IDEs.',
              'On Linux, your user may need to be in the "dialout" group.',
            ],
          },
        );
      }
      return lost(err);
    default:
      return new TransportError(
        'transport.io',
        `Serial port error while trying to ${action}${detail}`,
        {
          cause: err,
          hints: ['Unplug and replug the board, then try again.'],
        },
      );
  }
}

function lost(err: unknown): TransportError {
  return new TransportError('transport.device-lost', 'The board was disconnected', {
    cause: err,
    hints: ['Check the USB cable and plug the board back in.'],
  });
}

/** The error for a missing `navigator.serial`. */
export function serialUnavailable(): TransportError {
  return new TransportError('transport.unavailable', 'This browser cannot talk to serial ports', {
    hints: ['Use Chrome or Edge on a desktop computer, over https or on localhost.'],
  });
}
