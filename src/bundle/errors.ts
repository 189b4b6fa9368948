/**
 * Why a bundle was rejected. Every rejection throws `BundleError` (code `bundle.rejected`) with a
 * `reason` from the closed union below. The reason codes are stable: the UI, the CLI's `--json`
 * output and the tests switch on them, never on the message text. docs/bundle-format.md
 * ("Reason codes") lists them with the check that produces each.
 */
import { WebflashError, type WebflashErrorOptions } from '../core/errors.ts';

declare module '../core/errors.ts' {
  interface ErrorCodes {
    // bundle rejection: the reason code is in BundleError.reason
    'bundle.rejected': true;
  }
}

/** Stable reason codes for a rejected bundle, trust root or manifest. */
export type BundleReason =
  // container (docs/bundle-format.md, "Container")
  | 'container.malformed'
  | 'container.truncated'
  | 'container.duplicate-entry'
  | 'container.undeclared-entry'
  | 'container.missing-entry'
  | 'container.path'
  | 'container.trailing-data'
  | 'size.exceeded'
  // strict JSON (RFC 8259 grammar with the I-JSON limits of RFC 7493)
  | 'json.malformed'
  | 'json.duplicate-key'
  | 'json.forbidden-key'
  | 'json.number'
  | 'json.limits'
  | 'json.schema'
  // DSSE envelope and signatures
  | 'envelope.payload-type'
  | 'signature.threshold'
  | 'signature.unknown-key'
  | 'signature.invalid'
  // trust root and rotation
  | 'root.invalid'
  | 'root.signature'
  | 'root.version'
  | 'root.expired'
  | 'root.rollback'
  // manifest content and policy
  | 'manifest.invalid'
  | 'expired'
  | 'not-yet-valid'
  | 'product.mismatch'
  | 'target.mismatch'
  | 'rollback.counter'
  | 'rollback.board'
  | 'rollback.override-forbidden'
  // images
  | 'image.hash-mismatch'
  | 'image.size-mismatch';

interface ReasonText {
  /** What happened, in plain words, for a person deciding what to do next. */
  message: string;
  /** What that person can do. */
  hint: string;
}

const TAMPERED = 'Download the bundle again from the official support page.';
const ASK_PUBLISHER = 'Ask the firmware publisher for a correctly built bundle.';

/** One plain-language explanation per reason code (used when no detail overrides it). */
const REASON_TEXT: { readonly [R in BundleReason]: ReasonText } = {
  'container.malformed': {
    message: 'The file is not a valid firmware bundle.',
    hint: 'Check that you picked a .fwb bundle file, then download it again.',
  },
  'container.truncated': {
    message: 'The bundle ended before all of its contents arrived.',
    hint: TAMPERED,
  },
  'container.duplicate-entry': {
    message: 'The bundle contains the same image twice.',
    hint: TAMPERED,
  },
  'container.undeclared-entry': {
    message: 'The bundle contains an image its signed manifest does not list.',
    hint: TAMPERED,
  },
  'container.missing-entry': {
    message: 'An image listed in the signed manifest is missing from the bundle.',
    hint: TAMPERED,
  },
  'container.path': {
    message: 'The bundle contains an entry with a forbidden name.',
    hint: TAMPERED,
  },
  'container.trailing-data': {
    message: 'The bundle has extra data after its last image.',
    hint: TAMPERED,
  },
  'size.exceeded': {
    message: 'The bundle is larger than allowed.',
    hint: TAMPERED,
  },
  'json.malformed': {
    message: 'The signed manifest is not valid JSON.',
    hint: ASK_PUBLISHER,
  },
  'json.duplicate-key': {
    message: 'The signed manifest repeats a field, which makes its meaning ambiguous.',
    hint: ASK_PUBLISHER,
  },
  'json.forbidden-key': {
    message: 'The signed manifest uses a forbidden field name.',
    hint: ASK_PUBLISHER,
  },
  'json.number': {
    message: 'The signed manifest contains a number outside the allowed range.',
    hint: ASK_PUBLISHER,
  },
  'json.limits': {
    message: 'The signed manifest is nested too deeply or is too long.',
    hint: ASK_PUBLISHER,
  },
  'json.schema': {
    message: 'The signed manifest has missing, unknown or wrongly typed fields.',
    hint: ASK_PUBLISHER,
  },
  'envelope.payload-type': {
    message: 'The document in the bundle is not a webflash release manifest.',
    hint: ASK_PUBLISHER,
  },
  'signature.threshold': {
    message: 'The bundle does not carry enough valid signatures from trusted keys.',
    hint: 'Use a bundle signed by the required number of release keys.',
  },
  'signature.unknown-key': {
    message: 'The bundle is signed only by keys this updater does not trust.',
    hint: 'Use the official bundle for this product; bundles signed by others are refused.',
  },
  'signature.invalid': {
    message: 'A signature on the bundle does not match its contents.',
    hint: TAMPERED,
  },
  'root.invalid': {
    message: 'A trust root (the list of release keys) is malformed.',
    hint: ASK_PUBLISHER,
  },
  'root.signature': {
    message:
      'A trust root is not signed by enough of its own keys, or of the keys of the root it replaces.',
    hint: ASK_PUBLISHER,
  },
  'root.version': {
    message: 'The trust roots in the bundle do not follow each other version by version.',
    hint: ASK_PUBLISHER,
  },
  'root.expired': {
    message: 'The list of trusted release keys has expired.',
    hint: 'Update this web app, or use a bundle that carries a newer trust root.',
  },
  'root.rollback': {
    message: 'The bundle relies on older release keys than this updater has already seen.',
    hint: 'Use the newest bundle from the official support page.',
  },
  'manifest.invalid': {
    message: 'The signed manifest is inconsistent.',
    hint: ASK_PUBLISHER,
  },
  expired: {
    message: 'This release has expired and may no longer be installed.',
    hint: 'Download the current release. If it should be valid, check the computer clock.',
  },
  'not-yet-valid': {
    message: 'This release is dated in the future.',
    hint: "Check the computer's date and time.",
  },
  'product.mismatch': {
    message: 'This bundle is for a different product.',
    hint: 'Download the bundle for your product.',
  },
  'target.mismatch': {
    message: 'This bundle is not meant for the connected board.',
    hint: 'Check that the right board is connected and that you picked the matching bundle.',
  },
  'rollback.counter': {
    message: 'This release is older than one already installed and would undo a security fix.',
    hint: 'Install the current release instead.',
  },
  'rollback.board': {
    message: 'The board runs firmware with a newer security level than this release.',
    hint: 'Install the current release instead.',
  },
  'rollback.override-forbidden': {
    message: 'Installing an older release is not allowed here.',
    hint: 'A technician can downgrade with the service tool and a recorded reason.',
  },
  'image.hash-mismatch': {
    message: 'An image in the bundle differs from the one that was signed.',
    hint: TAMPERED,
  },
  'image.size-mismatch': {
    message: 'An image in the bundle does not have its signed size.',
    hint: TAMPERED,
  },
};

/** Every reason code, for tables and exhaustive tests. */
export const BUNDLE_REASONS = Object.freeze(Object.keys(REASON_TEXT) as BundleReason[]);

/** A bundle, trust root or manifest was rejected; `reason` says why. */
export class BundleError extends WebflashError {
  readonly reason: BundleReason;
  /** Technical detail (which entry, which field); also appended to `message`. */
  readonly detail: string | undefined;
  /** For `json.schema`: the JSON path of the member at fault ("targets[0].chip"), when known. */
  readonly field: string | undefined;

  /**
   * @param options.message replaces the reason's usual sentence where the thrower knows better
   *   (a second manifest, not "the same image twice"); the reason code stays the same.
   */
  constructor(
    reason: BundleReason,
    detail?: string,
    {
      message,
      field,
      ...options
    }: WebflashErrorOptions & { message?: string; field?: string } = {},
  ) {
    const text = REASON_TEXT[reason];
    const sentence = message ?? text.message;
    super('bundle.rejected', detail ? `${sentence} (${detail})` : sentence, {
      ...options,
      hints: options.hints ?? [text.hint],
    });
    this.reason = reason;
    this.detail = detail;
    this.field = field;
  }
}

/** Shorthand used throughout the bundle layer: `throw reject('container.path', name)`. */
export function reject(reason: BundleReason, detail?: string, cause?: unknown): BundleError {
  return new BundleError(reason, detail, cause === undefined ? {} : { cause });
}

/** Like `reject`, with a more precise sentence than the reason's usual one. */
export function rejectAs(
  reason: BundleReason,
  message: string,
  detail?: string,
  cause?: unknown,
): BundleError {
  return new BundleError(reason, detail, cause === undefined ? { message } : { message, cause });
}

/** True when `err` is a BundleError with the given reason. */
export function isBundleReason(err: unknown, reason: BundleReason): boolean {
  return err instanceof BundleError && err.reason === reason;
}
