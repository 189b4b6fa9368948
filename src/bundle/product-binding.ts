/**
 * Product binding (docs/threat-model.md, "What each face checks"): rollback records are kept per
 * product, so a board that last received product A takes product B only by a technician's
 * override with a reason. A module of its own, so that the customer updater, which binds to the
 * product its page names, does not carry it.
 */
import type { Logger } from '../core/log.ts';
import { reject } from './errors.ts';
import type { DowngradeOverride, UpdaterMode } from './rollback.ts';

export interface ProductBinding {
  /** The product of the release being installed. */
  product: string;
  /** The product the board last received (flash log or the board itself), when known. */
  boardProduct: string | undefined;
  mode: UpdaterMode;
  override?: DowngradeOverride | undefined;
  logger?: Logger | undefined;
}

/**
 * A board that last received product A gets product B only by a technician's override with a
 * reason (the one `checkRollback` takes), because rollback records are kept per product: without
 * this check, B's first release would pass any counter A had reached.
 * @throws {BundleError} `product.mismatch` without an override, or in customer mode.
 * @example checkProductBinding({ product: 'b', boardProduct: 'a', mode: 'customer' }) // throws
 */
export function checkProductBinding(check: ProductBinding): void {
  const { product, boardProduct, override } = check;
  if (boardProduct === undefined || boardProduct === product) return;
  const detail = `this board last received "${boardProduct}"; the bundle is for "${product}"`;
  if (check.mode !== 'technician' || override === undefined) {
    throw reject(
      'product.mismatch',
      check.mode === 'technician' ? `${detail} (installing it needs an override)` : detail,
    );
  }
  check.logger?.warn(
    `Product change by technician override (${override.reason}): ${detail}. ` +
      `Detail: ${override.detail}`,
  );
}
