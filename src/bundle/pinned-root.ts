/**
 * The trust root a build of the app pins (docs/publishing.md, "Build configuration"). Demo mode
 * trusts only the demo root (demo-root.ts, whose secret key is public in demo/keys/); a
 * production build trusts only the root it was configured with and refuses to start if that
 * root lists a demo key, so demo-signed bundles can never install on a production updater.
 */
import { UsageError } from '../core/errors.ts';
import { DEMO_ROOT_JSON } from './demo-root.ts';
import { loadTrustRoot, type TrustRoot } from './trust-root.ts';

/** Which root a build trusts. */
export type BuildMode = 'demo' | 'production';

export interface PinnedRootOptions {
  mode: BuildMode;
  /** The production root envelope (root.json contents), embedded at build time. */
  productionRoot?: string | Uint8Array | undefined;
}

/** The demo root, loaded once. */
export function demoRoot(): TrustRoot {
  return loadTrustRoot(DEMO_ROOT_JSON);
}

/**
 * The root this build pins.
 * @throws {UsageError} in production mode without a root, or with a root that trusts a demo key.
 * @throws {BundleError} when the configured root is malformed or not signed by its own keys.
 * @example pinnedRoot({ mode: 'production', productionRoot: import.meta.env.WEBFLASH_ROOT })
 */
export function pinnedRoot(options: PinnedRootOptions): TrustRoot {
  if (options.mode === 'demo') return demoRoot();
  if (options.mode !== 'production')
    throw new UsageError(`pinnedRoot: unknown build mode "${String(options.mode)}"`);
  if (options.productionRoot === undefined || options.productionRoot.length === 0) {
    throw new UsageError(
      'A production build needs a trust root: set WEBFLASH_TRUST_ROOT to the root.json file.',
      {
        hints: ['Create one with `webflash root create` (docs/publishing.md).'],
      },
    );
  }
  const root = loadTrustRoot(options.productionRoot);
  const demoIds = new Set(demoRoot().keys.map((k) => k.keyid));
  const leaked = root.keys.filter((k) => demoIds.has(k.keyid));
  if (leaked.length > 0) {
    throw new UsageError(
      'The production trust root lists the public demo key; refusing to build.',
      {
        hints: [
          'Create production keys with `webflash keygen` and a new root (docs/publishing.md).',
        ],
      },
    );
  }
  return root;
}
