/** The flash log's error codes. */

declare module '../core/errors.ts' {
  interface ErrorCodes {
    // another tab or process appended the same entry number first (AuditConflictError)
    'audit.conflict': true;
  }
}

export {};
