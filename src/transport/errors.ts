/**
 * The transport layer's error codes (thrown as `TransportError`, src/core/errors.ts): the port
 * or device misbehaved, vanished or could not be opened.
 */

declare module '../core/errors.ts' {
  interface ErrorCodes {
    'transport.unavailable': true;
    'transport.no-port-selected': true;
    'transport.port-busy': true;
    'transport.open-failed': true;
    'transport.device-lost': true;
    'transport.io': true;
    'transport.closed': true;
    'transport.driver-missing': true;
  }
}

export {};
