/**
 * The trust root a build of the app pins (docs/publishing.md, "Build configuration"). Demo mode
 * trusts only the demo root (demo-root.ts, whose secret key is public in demo/keys/); a
 * production build trusts only the root it was configured with and refuses to start if that
 * root lists the demo key, so demo-signed bundles can never install on a production updater.
 *
 * The demo root is imported only when demo mode asks for it, so production builds of the
 * customer updater do not carry it (docs/embedding.md, "Size"); the production check needs only
 * the demo key's id (demo-key.ts).
 */
import { UsageError } from '../core/errors.ts';
import { DEMO_KEY_ID } from './demo-key.ts';
import { loadTrustRoot, type TrustRoot } from './trust-root.ts';

/** Which root a build trusts. */
export type BuildMode = 'demo' | 'production';

export interface PinnedRootOptions {
  mode: BuildMode;
  /** The production root envelope (root.json contents), embedded at build time. */
  productionRoot?: string | Uint8Array | undefined;
}

/** The demo root, which only demo builds pin. */
export async function demoRoot(): Promise<TrustRoot> {
  return loadTrustRoot((await import('./demo-root.ts')).DEMO_ROOT_JSON);
}

/**
 * The root this build pins.
 * Rejects with a UsageError in production mode without a root, or with a root that trusts the
 * demo key; with a BundleError when the configured root is malformed or not signed by its own
 * keys.
 * @example await pinnedRoot({ mode: 'production', productionRoot: import.meta.env.WEBFLASH_ROOT })
 */
export async function pinnedRoot(options: PinnedRootOptions): Promise<TrustRoot> {
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
  if (root.keys.some((k) => k.keyid === DEMO_KEY_ID)) {
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
