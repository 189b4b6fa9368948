/** The customer updater's error codes. */

declare module '../core/errors.ts' {
  interface ErrorCodes {
    // the customer updater refused a bundle address outside its allowed origins
    'bundle.origin-refused': true;
  }
}

export {};
