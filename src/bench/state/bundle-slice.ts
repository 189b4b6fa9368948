/**
 * Bench bundle slice: the one signed release every board on the bench gets. Verified exactly as
 * in the technician view (`services.verifyBundle`, the verify worker in the app), then hashed as
 * a whole file for the report and the flash log.
 */
import type { VerifiedBundle } from '../../bundle/verify.ts';
import { toErrorView } from '../../app/error-view.ts';
import type { BundleInput, ErrorView } from '../../app/types.ts';
import type { BenchSlice } from './slice.ts';
import type { BenchBundleInfo, BenchServices } from './types.ts';

export interface BenchBundleState {
  status: 'empty' | 'loading' | 'verified' | 'rejected';
  verified: VerifiedBundle | undefined;
  info: BenchBundleInfo | undefined;
  error: ErrorView | undefined;
}

export interface BenchBundleSlice {
  bundle: BenchBundleState;
  /**
   * Loads and verifies the release for the bench; resolves true when it verified. Refused
   * (false) while a board is being flashed. Never rejects.
   */
  loadBundle: (input: BundleInput) => Promise<boolean>;
}

export const emptyBenchBundle: BenchBundleState = {
  status: 'empty',
  verified: undefined,
  info: undefined,
  error: undefined,
};

/**
 * SHA-256 of the bundle file a VerifiedBundle was read from, in lower-case hex.
 * @example bundleSha256(verified) === toHex(sha256(fileBytes))
 */
export function bundleSha256(bundle: VerifiedBundle): string {
  return bundle.bundleSha256;
}

/** What the report and the log say about a release. */
export function bundleInfo(bundle: VerifiedBundle, source: string): BenchBundleInfo {
  const m = bundle.manifest;
  return {
    product: m.product,
    version: m.version,
    sha256: bundleSha256(bundle),
    chips: [...new Set(m.targets.map((t) => t.chip))].sort(),
    bundleBytes: bundle.bundleBytes,
    source,
  };
}

export function createBenchBundleSlice(services: BenchServices): BenchSlice<BenchBundleSlice> {
  return (set, get) => {
    let loading: AbortController | undefined;
    return {
      bundle: emptyBenchBundle,
      loadBundle: async (input) => {
        if (get().tiles.some((t) => t.state === 'running')) return false;
        loading?.abort();
        const controller = new AbortController();
        loading = controller;
        const source = input.kind === 'url' ? (input.label ?? input.url) : input.name;
        set({ bundle: { ...emptyBenchBundle, status: 'loading' } });
        try {
          const verified = await services.verifyBundle({
            source: input.kind === 'url' ? { url: input.url } : input.bytes,
            signal: controller.signal,
            onProgress: () => undefined,
          });
          if (loading !== controller) return false;
          const info = bundleInfo(verified, source);
          set({ bundle: { status: 'verified', verified, info, error: undefined } });
          return true;
        } catch (err) {
          if (loading !== controller) return false;
          const error = toErrorView(err, 'bundle.rejected');
          set({ bundle: { ...emptyBenchBundle, status: 'rejected', error } });
          return false;
        } finally {
          if (loading === controller) loading = undefined;
        }
      },
    };
  };
}
