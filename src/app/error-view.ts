/** Turns anything thrown into the plain `ErrorView` the store keeps and the UI shows. */
import { BundleError } from '../bundle/errors.ts';
import { asWebflashError, type ErrorCode } from '../core/errors.ts';
import type { ErrorView } from './types.ts';

/**
 * The view of `err`: code, class name, message, hints, and the bundle reason when there is one.
 * Errors that are not ours become `fallback` with the original message.
 * @example toErrorView(new TimeoutError('SYNC', 100)).code === 'timeout'
 */
export function toErrorView(err: unknown, fallback: ErrorCode = 'transport.io'): ErrorView {
  const e = asWebflashError(err, fallback);
  const view: ErrorView = {
    code: e.code,
    kind: e.name,
    message: e.message,
    hints: [...e.hints],
  };
  if (e instanceof BundleError) view.reason = e.reason;
  return view;
}
