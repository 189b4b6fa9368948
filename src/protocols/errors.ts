/**
 * The protocol layer's error codes (thrown as `ProtocolError`, src/core/errors.ts, with the
 * opcode and the bootloader's status): shared by every bootloader folder.
 */

declare module '../core/errors.ts' {
  interface ErrorCodes {
    'protocol.no-sync': true;
    'protocol.bad-reply': true;
    'protocol.command-failed': true;
    'protocol.unsupported': true;
    'protocol.wrong-chip': true;
    'protocol.read-protected': true;
  }
}

export {};
