/**
 * Anti-rollback policy (docs/bundle-format.md, "Rollback"). A release carries a monotonic
 * `securityCounter`; it may not replace firmware with a higher counter, whether that counter was
 * recorded by this updater (`RollbackStore`) or reported by the board itself (ESP
 * `secure_version`, when the protocol can read it). Only a technician may downgrade, with an
 * explicit override that carries a typed reason and is written to the log; the customer
 * updater refuses every override.
 */
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { reject } from './errors.ts';

/** Why a technician installs an older release. Closed list; the detail text says the rest. */
export const DOWNGRADE_REASONS = [
  'known-bad-release',
  'returned-unit-diagnostics',
  'factory-rework',
  'test-bench',
] as const;
export type DowngradeReason = (typeof DOWNGRADE_REASONS)[number];

/** A technician's explicit permission to install an older release. */
export interface DowngradeOverride {
  readonly reason: DowngradeReason;
  /** Free text for the log: ticket number, what was observed. 1–500 characters. */
  readonly detail: string;
}

/** The customer updater never downgrades; the technician tool may, with an override. */
export type UpdaterMode = 'customer' | 'technician';

export interface RollbackCheck {
  /** The release being installed (from a verified manifest). */
  manifest: {
    readonly product: string;
    readonly version: string;
    readonly securityCounter: number;
  };
  /** Highest counter this updater recorded for the product, if any. */
  recorded?: number | undefined;
  /** Counter of the firmware the board runs now, when the protocol can read it. */
  boardReported?: number | undefined;
  mode: UpdaterMode;
  override?: DowngradeOverride | undefined;
  /** Where an accepted downgrade is recorded. */
  logger?: Logger | undefined;
}

/** The outcome of an accepted check. */
export interface RollbackDecision {
  /** True when an override allowed a lower counter. */
  readonly downgrade: boolean;
  /** The counter that would have been required without the override. */
  readonly requiredCounter: number;
  readonly override?: DowngradeOverride;
}

/**
 * Decides whether a release may be installed.
 * @throws {BundleError} `rollback.board` when the board reports a higher counter,
 *   `rollback.counter` when a higher counter was recorded, `rollback.override-forbidden` when an
 *   override is offered to the customer updater.
 * @throws {UsageError} for an override without a known reason or detail.
 * @example checkRollback({ manifest, recorded: 3, mode: 'customer' }) // { downgrade: false, … }
 */
export function checkRollback(check: RollbackCheck): RollbackDecision {
  const { manifest, recorded, boardReported, mode, override } = check;
  if (override !== undefined) {
    if (mode !== 'technician') {
      throw reject(
        'rollback.override-forbidden',
        'the customer updater does not accept downgrade overrides',
      );
    }
    validateOverride(override);
  }
  const counter = manifest.securityCounter;
  const requiredCounter = Math.max(recorded ?? 0, boardReported ?? 0);
  if (counter >= requiredCounter) return Object.freeze({ downgrade: false, requiredCounter });

  const detail = `${manifest.product} ${manifest.version} has security counter ${counter}`;
  if (override === undefined) {
    if (boardReported !== undefined && counter < boardReported) {
      throw reject('rollback.board', `${detail}; the board runs counter ${boardReported}`);
    }
    throw reject('rollback.counter', `${detail}; counter ${recorded} was installed before`);
  }
  check.logger?.warn(
    `Downgrade by technician override (${override.reason}): installing ${detail} where ` +
      `${requiredCounter} is required. Detail: ${override.detail}`,
  );
  return Object.freeze({
    downgrade: true,
    requiredCounter,
    override: Object.freeze({ ...override }),
  });
}

function validateOverride(o: DowngradeOverride): void {
  if (!(DOWNGRADE_REASONS as readonly string[]).includes(o.reason)) {
    throw new UsageError(`override.reason must be one of ${DOWNGRADE_REASONS.join(', ')}`);
  }
  if (typeof o.detail !== 'string' || o.detail.trim() === '' || o.detail.length > 500) {
    throw new UsageError('override.detail must say why, in 1–500 characters');
  }
}
