/**
 * The flash engine's error codes: the plan was refused in the check phase, before anything was
 * erased. `plan.keep-range` is thrown by a face's `checkPlan` (a range the technician asked to
 * keep), `plan.out-of-flash` by the placement check (src/job/placement.ts).
 */
import { asWebflashError, type WebflashError } from '../core/errors.ts';

declare module '../core/errors.ts' {
  interface ErrorCodes {
    // the flash plan would write or erase over a flash range the technician asked to keep
    'plan.keep-range': true;
    // the flash plan would write beyond the memory the board reported
    'plan.out-of-flash': true;
  }
}

/**
 * What the engine makes of anything thrown: the WebflashError itself, or one with the code
 * 'transport.io' that keeps it as cause.
 */
export function asJobError(err: unknown): WebflashError {
  return asWebflashError(err, 'transport.io');
}
