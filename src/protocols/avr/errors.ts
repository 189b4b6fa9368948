/** The AVR bootloaders' own error codes (beyond the protocol layer's, src/protocols/errors.ts). */

declare module '../../core/errors.ts' {
  interface ErrorCodes {
    // an image would write over the bootloader's own flash section (BootloaderOverlapError)
    'plan.bootloader-overlap': true;
  }
}

export {};
