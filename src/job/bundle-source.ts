/**
 * A verified bundle as a job's source: once the board has identified itself, pick the bundle
 * target that matches it (bundle `checkTarget`) and apply the release policy (bundle
 * `checkRelease`: trust-root floor, the counter this updater recorded and the one the board
 * reports) — all before anything is written. After a successful write the release is recorded.
 */
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { checkRollback, type DowngradeOverride, type UpdaterMode } from '../bundle/rollback.ts';
import { checkRelease } from '../bundle/release-policy.ts';
import { recordInstalled, type RollbackStore } from '../bundle/rollback-store.ts';
import { checkTarget } from '../bundle/target.ts';
import { VerifiedBundle } from '../bundle/verify.ts';
import type { SourceRegion, VerifiedSource } from './source.ts';

export interface BundleSourceOptions {
  /** 'customer' never downgrades; 'technician' may, with `override`. */
  mode: UpdaterMode;
  /** Where installed releases are remembered; without one only the board's counter counts. */
  rollbackStore?: RollbackStore | undefined;
  /** A technician's permission to install an older release. */
  override?: DowngradeOverride | undefined;
  /** Board id, for products whose targets share a chip. */
  board?: string | undefined;
  /** Where an accepted downgrade is logged. */
  logger?: Logger | undefined;
}

/**
 * Wraps a VerifiedBundle for `FlashJob`.
 * @throws {UsageError} if `bundle` did not come from `verifyBundle`.
 * @example
 * const source = fromVerifiedBundle(verified, { mode: 'customer', rollbackStore });
 * await new FlashJob({ port, connector, source, clock }).run();
 */
export function fromVerifiedBundle(
  bundle: VerifiedBundle,
  options: BundleSourceOptions,
): VerifiedSource {
  if (!VerifiedBundle.is(bundle)) {
    throw new UsageError('fromVerifiedBundle: expected a bundle returned by verifyBundle()');
  }
  const m = bundle.manifest;
  const { rollbackStore } = options;
  return {
    kind: 'verified',
    label: `${m.product} ${m.version}`,
    async resolve({ identity, installed, port }) {
      const { regions } = checkTarget(bundle, {
        chip: identity.chip,
        protocol: identity.protocol,
        ...(options.board === undefined ? {} : { board: options.board }),
        ...(port?.usbVendorId === undefined ? {} : { usbVendorId: port.usbVendorId }),
        ...(port?.usbProductId === undefined ? {} : { usbProductId: port.usbProductId }),
      });
      const policy = {
        boardReported: installed?.securityVersion,
        mode: options.mode,
        override: options.override,
        logger: options.logger,
      };
      // The same policy as at load time (release-policy.ts), now enforced: the trust-root floor
      // and the counters may have risen since the bundle was verified.
      if (rollbackStore) {
        await checkRelease({
          manifest: m,
          rootVersion: bundle.root.version,
          store: rollbackStore,
          stage: 'flash',
          ...policy,
        });
      } else checkRollback({ manifest: m, ...policy });
      return regions.map((r): SourceRegion => ({
        name: r.name,
        address: r.address ?? 0,
        data: r.data,
        ...(r.slot === undefined ? {} : { slot: r.slot }),
        ...(r.confirm === undefined ? {} : { confirm: r.confirm }),
      }));
    },
    async onWritten() {
      if (!rollbackStore) return;
      await recordInstalled(rollbackStore, {
        product: m.product,
        version: m.version,
        securityCounter: m.securityCounter,
        rootVersion: bundle.root.version,
      });
    },
  };
}
