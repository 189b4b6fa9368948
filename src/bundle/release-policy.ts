/**
 * The one admission policy for a verified release (docs/threat-model.md, "What each face
 * checks"): trust-root rollback, then security-counter rollback, against the updater's
 * `RollbackStore`. Every face runs it when a bundle is verified (`verifyBundle`, and on the page
 * after the verification worker) and again just before writing (src/job/bundle-source.ts), so a
 * newer root or counter recorded in between still counts.
 *
 * Trust-root rollback follows TUF v1.0 §5.3 (a client that trusts root N never goes back):
 * once a bundle verified with root N was accepted, for any product, a manifest verified only with
 * an older root is refused (`root.rollback`) in every mode; no override exists for it, since it is
 * what makes retired or compromised root keys useless.
 */
import type { Logger } from '../core/log.ts';
import { reject } from './errors.ts';
import {
  checkRollback,
  type DowngradeOverride,
  type RollbackDecision,
  type UpdaterMode,
} from './rollback.ts';
import type { RollbackStore } from './rollback-store.ts';

export interface ReleaseCheck {
  /** The release being installed (from a verified manifest). */
  manifest: {
    readonly product: string;
    readonly version: string;
    readonly securityCounter: number;
  };
  /** Version of the trust root the manifest's signatures were verified with. */
  rootVersion: number;
  store: RollbackStore;
  mode: UpdaterMode;
  /**
   * 'load': the bundle was just verified; a technician may still choose an override, so a lower
   * counter is reported (`needsOverride`) rather than refused. 'flash': everything is enforced.
   * The customer updater enforces everything at both stages.
   */
  stage: 'load' | 'flash';
  /** Counter of the firmware the board runs now, when the protocol can read it. */
  boardReported?: number | undefined;
  override?: DowngradeOverride | undefined;
  logger?: Logger | undefined;
}

/** The outcome of an accepted check. */
export interface ReleaseDecision extends RollbackDecision {
  /** At stage 'load' in technician mode: installing this release will need an override. */
  readonly needsOverride: boolean;
}

/**
 * Applies the root and counter rollback policy.
 * @throws {BundleError} `root.rollback` when a newer trust root was recorded; the reasons of
 *   `checkRollback` (rollback.ts) for counters and overrides.
 * @example await checkRelease({ manifest, rootVersion: 1, store, mode: 'customer', stage: 'load' })
 */
export async function checkRelease(check: ReleaseCheck): Promise<ReleaseDecision> {
  const { manifest, store } = check;
  const record = await store.get(manifest.product);
  const floor = Math.max((await store.getRootVersion()) ?? 0, record?.rootVersion ?? 0);
  if (check.rootVersion < floor) {
    throw reject(
      'root.rollback',
      `verified with root ${check.rootVersion}; root ${floor} was seen before`,
    );
  }
  const recorded = record?.securityCounter;
  const pending =
    check.stage === 'load' && check.mode === 'technician' && check.override === undefined;
  if (pending) {
    const requiredCounter = Math.max(recorded ?? 0, check.boardReported ?? 0);
    const needsOverride = manifest.securityCounter < requiredCounter;
    return Object.freeze({ downgrade: needsOverride, requiredCounter, needsOverride });
  }
  const decision = checkRollback({
    manifest,
    recorded,
    boardReported: check.boardReported,
    mode: check.mode,
    override: check.override,
    logger: check.logger,
  });
  return Object.freeze({ ...decision, needsOverride: false });
}
