/**
 * Bundle slice: loading a signed release bundle (from the demo URL, a URL, or a file's bytes),
 * its verification verdict and summary; or, in development builds, a raw unsigned image.
 */
import type { VerifiedBundle } from '../../../bundle/verify.ts';
import { formatBytes, hex32 } from '../../../core/bytes.ts';
import { UsageError } from '../../../core/errors.ts';
import { summarizeBundle, type BundleSummary } from '../../../app/bundle-summary.ts';
import { toErrorView } from '../../../app/error-view.ts';
import type { AppServices, BundleInput, ErrorView, RawImage } from '../../../app/types.ts';
import type { AppSlice } from './slice.ts';
import { storeLogger } from './store-log.ts';

/**
 * `empty`: nothing loaded. `loading`: downloading and verifying. `verified`: signatures, hashes
 * and validity checked. `rejected`: refused (see `error`). `unverified`: a raw image that no
 * signature covers (development builds only).
 */
export type BundleStatus = 'empty' | 'loading' | 'verified' | 'rejected' | 'unverified';

export interface BundleState {
  status: BundleStatus;
  /** What was loaded: the file name or URL. */
  source: string | undefined;
  /** Download/verification progress while `loading`. */
  progress: { bytesDone: number; bytesTotal: number | undefined } | undefined;
  /** The verified bundle (only with status `verified`). */
  verified: VerifiedBundle | undefined;
  summary: BundleSummary | undefined;
  /** The raw image (only with status `unverified`). */
  raw: RawImage | undefined;
  error: ErrorView | undefined;
  /**
   * Anti-rollback status at load time, against the counter this app recorded for the product
   * (the board's own counter is checked again when flashing). Undefined until verified.
   */
  rollback?: BundleRollbackStatus | undefined;
  /** The bundle's URL when it was loaded from one (offline use keeps that URL). */
  url?: string | undefined;
  /** "Keep for offline use": undefined until asked; then the answer. */
  offline?: { busy: boolean; kept: boolean; note: string } | undefined;
}

/**
 * `new`: nothing recorded for this product. `ok`: counter at or above the recorded one.
 * `downgrade`: below it: flashing needs a technician's downgrade override.
 */
export interface BundleRollbackStatus {
  status: 'new' | 'ok' | 'downgrade' | 'unknown';
  /** The highest counter recorded for this product, if any. */
  recorded: number | undefined;
  /** The version recorded with it. */
  recordedVersion: string | undefined;
}

export interface BundleSlice {
  bundle: BundleState;
  /** Downloads (or reads) and verifies a bundle; resolves true when it verified. Never rejects. */
  loadBundle: (input: BundleInput) => Promise<boolean>;
  /**
   * Loads a raw image to write at `address` without any signature. Refused (status `rejected`)
   * unless the build allows unverified images.
   */
  loadRawImage: (image: RawImage) => void;
  /** Stops a download/verification in progress. */
  cancelBundleLoad: () => void;
  clearBundle: () => void;
  /**
   * Keeps the verified bundle's URL in the offline cache (service worker). Without a service
   * worker (the dev server) it says so in `bundle.offline.note`. Never rejects.
   */
  keepBundleOffline: () => Promise<boolean>;
}

export const emptyBundle: BundleState = {
  status: 'empty',
  source: undefined,
  progress: undefined,
  verified: undefined,
  summary: undefined,
  raw: undefined,
  error: undefined,
};

export function createBundleSlice(services: AppServices): AppSlice<BundleSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'bundle');
    let loading: AbortController | undefined;

    const guardIdle = (): boolean => {
      if (!get().job.running) return true;
      log.warn('The bundle cannot change while a flash is running.');
      return false;
    };

    return {
      bundle: emptyBundle,
      loadBundle: async (input) => {
        if (!guardIdle()) return false;
        loading?.abort();
        const controller = new AbortController();
        loading = controller;
        const source = input.kind === 'url' ? (input.label ?? input.url) : input.name;
        set({
          bundle: {
            ...emptyBundle,
            status: 'loading',
            source,
            progress: { bytesDone: 0, bytesTotal: undefined },
          },
        });
        log.info(`Checking bundle ${source}`);
        try {
          const verified = await services.verifyBundle({
            source: input.kind === 'url' ? { url: input.url } : input.bytes,
            signal: controller.signal,
            onProgress: (p) => {
              if (loading !== controller) return;
              set((s) => ({
                bundle: {
                  ...s.bundle,
                  progress: { bytesDone: p.bytesDone, bytesTotal: p.bytesTotal },
                },
              }));
            },
          });
          const summary = await summarizeBundle(verified);
          const rollback = await rollbackStatus(services, summary.product, summary.securityCounter);
          if (loading !== controller) return false;
          set({
            bundle: {
              ...emptyBundle,
              status: 'verified',
              source,
              verified,
              summary,
              rollback,
              ...(input.kind === 'url' ? { url: input.url } : {}),
            },
          });
          if (rollback.status === 'downgrade') {
            log.warn(
              `Older release: security counter ${summary.securityCounter} is below ${rollback.recorded} recorded for ${summary.product}. Flashing it needs a downgrade override.`,
            );
          }
          log.info(
            `Bundle verified: ${summary.product} ${summary.version}, ${summary.signers.length} of ${summary.threshold} required signature(s), ${formatBytes(summary.bundleBytes)}.`,
          );
          return true;
        } catch (err) {
          if (loading !== controller) return false;
          const error = toErrorView(err, 'bundle.rejected');
          set({ bundle: { ...emptyBundle, status: 'rejected', source, error } });
          log.error(`Bundle refused: ${error.message}`);
          return false;
        } finally {
          if (loading === controller) loading = undefined;
        }
      },
      loadRawImage: (image) => {
        if (!guardIdle()) return;
        loading?.abort();
        loading = undefined;
        if (!services.unverifiedAllowed) {
          const error = toErrorView(
            new UsageError('This build writes only signed release bundles.', {
              hints: ['Open a signed bundle (.fwb) instead.'],
            }),
          );
          set({ bundle: { ...emptyBundle, status: 'rejected', source: image.name, error } });
          log.error(error.message);
          return;
        }
        set({ bundle: { ...emptyBundle, status: 'unverified', source: image.name, raw: image } });
        log.warn(
          `Unverified image loaded: ${image.name}, ${formatBytes(image.data.length)} at ${hex32(image.address)}. No signature covers it.`,
        );
      },
      cancelBundleLoad: () => {
        if (!loading) return;
        loading.abort();
        loading = undefined;
        set((s) => ({ bundle: { ...emptyBundle, source: s.bundle.source } }));
        log.info('Bundle check cancelled.');
      },
      keepBundleOffline: async () => {
        const { bundle } = get();
        const url = bundle.url;
        if (bundle.status !== 'verified' || url === undefined) return false;
        if (!services.keepOffline) {
          set((s) => ({
            bundle: {
              ...s.bundle,
              offline: {
                busy: false,
                kept: false,
                note: 'This app does not keep bundles offline.',
              },
            },
          }));
          return false;
        }
        set((s) => ({ bundle: { ...s.bundle, offline: { busy: true, kept: false, note: '' } } }));
        let answer: { kept: boolean; note: string };
        try {
          answer = await services.keepOffline(url);
        } catch (err) {
          answer = { kept: false, note: toErrorView(err).message };
        }
        if (get().bundle.url !== url) return false;
        set((s) => ({ bundle: { ...s.bundle, offline: { busy: false, ...answer } } }));
        if (answer.kept) log.info(`Kept for offline use: ${url}`);
        else log.warn(`Not kept for offline use: ${answer.note}`);
        return answer.kept;
      },
      clearBundle: () => {
        if (!guardIdle()) return;
        loading?.abort();
        loading = undefined;
        set({ bundle: emptyBundle });
      },
    };
  };
}

/** The load-time rollback status against the recorded counter (never throws). */
async function rollbackStatus(
  services: AppServices,
  product: string,
  counter: number,
): Promise<BundleRollbackStatus> {
  if (!services.rollbackStore)
    return { status: 'unknown', recorded: undefined, recordedVersion: undefined };
  try {
    const record = await services.rollbackStore.get(product);
    if (!record) return { status: 'new', recorded: undefined, recordedVersion: undefined };
    return {
      status: counter >= record.securityCounter ? 'ok' : 'downgrade',
      recorded: record.securityCounter,
      recordedVersion: record.version,
    };
  } catch {
    return { status: 'unknown', recorded: undefined, recordedVersion: undefined };
  }
}
