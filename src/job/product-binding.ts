/**
 * The technician console's product binding as a source wrapper: once the board has identified
 * itself, and before anything else is checked or written, the product it last received (the
 * flash log) must be the release's, unless a technician gave the override with a reason (bundle
 * `checkProductBinding`). A separate module, so the customer updater, which binds to the product
 * its page names instead, does not carry it.
 */
import type { Logger } from '../core/log.ts';
import { checkProductBinding } from '../bundle/product-binding.ts';
import type { DowngradeOverride, UpdaterMode } from '../bundle/rollback.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';
import type { DeviceIdentity } from '../protocols/driver.ts';
import type { VerifiedSource } from './source.ts';

export interface ProductBindingOptions {
  /** The product the board last received, when known (e.g. from the flash log). */
  boardProduct: (identity: DeviceIdentity) => Promise<string | undefined>;
  mode: UpdaterMode;
  override?: DowngradeOverride | undefined;
  logger?: Logger | undefined;
}

/**
 * @example bindToBoardProduct(fromVerifiedBundle(bundle, o), bundle, { boardProduct, mode })
 */
export function bindToBoardProduct(
  source: VerifiedSource,
  bundle: VerifiedBundle,
  options: ProductBindingOptions,
): VerifiedSource {
  return {
    ...source,
    resolve: async (board) => {
      checkProductBinding({
        product: bundle.manifest.product,
        boardProduct: await options.boardProduct(board.identity),
        mode: options.mode,
        override: options.override,
        logger: options.logger,
      });
      return source.resolve(board);
    },
  };
}
