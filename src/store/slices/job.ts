/**
 * Job slice: starts the flash engine (src/job) on the chosen port with the loaded bundle,
 * subscribes to its events and keeps phase, progress (rate, ETA), retries and the result.
 * Cancellation goes through the job's AbortSignal.
 */
import { fromVerifiedBundle } from '../../job/bundle-source.ts';
import { FlashJob } from '../../job/engine.ts';
import type { FlashSource } from '../../job/source.ts';
import type {
  JobPhase,
  JobResult,
  ProgressEvent,
  RegionReport,
  RetryEvent,
} from '../../job/types.ts';
import { toErrorView } from '../error-view.ts';
import { flashBlocker } from '../selectors.ts';
import type { AppServices, ErrorView } from '../types.ts';
import type { AppSlice, AppState } from './slice.ts';
import { storeLogger } from './store-log.ts';

/** The outcome of the last job, as plain data. */
export type JobOutcome =
  | {
      ok: true;
      durationMs: number;
      regions: readonly RegionReport[];
      /** Something a person still has to do (e.g. press RESET). */
      notice: string | undefined;
    }
  | {
      ok: false;
      cancelled: boolean;
      error: ErrorView;
      /** The phase the job stopped in. */
      phase: JobPhase;
      /** How to get the board back into a good state. */
      recovery: string;
      flashTouched: boolean;
      durationMs: number;
    };

export interface JobState {
  phase: JobPhase;
  running: boolean;
  /** True once Cancel was pressed, until the job has stopped. */
  cancelling: boolean;
  progress: ProgressEvent | undefined;
  /** The last retry, while the job runs. */
  retry: RetryEvent | undefined;
  outcome: JobOutcome | undefined;
  /** Verified or raw images: what the running/last job writes. */
  verifiedSource: boolean;
}

export interface JobSlice {
  job: JobState;
  /**
   * Flashes the loaded bundle to the chosen port. Resolves with the outcome, or undefined when
   * a flash cannot start now (see `flashBlocker`). Never rejects.
   */
  startFlash: () => Promise<JobOutcome | undefined>;
  /** Cancels the running job (its AbortSignal fires). */
  cancelFlash: () => void;
  /** Clears the last outcome and progress (not while running). */
  dismissOutcome: () => void;
}

export const idleJob: JobState = {
  phase: 'idle',
  running: false,
  cancelling: false,
  progress: undefined,
  retry: undefined,
  outcome: undefined,
  verifiedSource: true,
};

function toOutcome(result: JobResult): JobOutcome {
  if (result.ok) {
    return {
      ok: true,
      durationMs: result.durationMs,
      regions: result.regions,
      notice: result.notice,
    };
  }
  return {
    ok: false,
    cancelled: result.cancelled,
    error: toErrorView(result.error),
    phase: result.phase,
    recovery: result.recovery,
    flashTouched: result.flashTouched,
    durationMs: result.durationMs,
  };
}

function sourceOf(state: AppState, services: AppServices, get: () => AppState): FlashSource {
  const { bundle } = state;
  if (bundle.status === 'verified' && bundle.verified) {
    return fromVerifiedBundle(bundle.verified, {
      mode: 'technician',
      rollbackStore: services.rollbackStore,
      logger: storeLogger(get, services, 'bundle'),
    });
  }
  const raw = bundle.raw!;
  return { kind: 'unverified', name: raw.name, address: raw.address, data: raw.data };
}

export function createJobSlice(services: AppServices): AppSlice<JobSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'app');
    let controller: AbortController | undefined;

    return {
      job: idleJob,
      startFlash: async () => {
        const state = get();
        const blocker = flashBlocker(state, { unverifiedAllowed: services.unverifiedAllowed });
        if (blocker) {
          log.warn(`Cannot flash: ${blocker}`);
          return undefined;
        }
        const source = sourceOf(state, services, get);
        const ctl = new AbortController();
        controller = ctl;
        set({
          job: { ...idleJob, running: true, verifiedSource: source.kind === 'verified' },
          device: undefined,
          installed: undefined,
        });
        let port = state.port!;
        if (services.refreshPort) {
          try {
            port = await services.refreshPort(port);
            if (port !== state.port) {
              set({ port });
              log.info(`Found ${port.label} again.`);
            }
          } catch (err) {
            log.warn(`Could not look for the port again: ${toErrorView(err).message}`);
          }
        }
        const job = new FlashJob({
          port: port.handle,
          connector: services.connector,
          source,
          clock: services.clock,
          signal: ctl.signal,
          settings: {
            baudRate: state.settings.baudRate,
            verify: state.settings.verifyAfterWrite,
          },
          allowUnverified: services.unverifiedAllowed && state.settings.allowUnverified,
        });
        const offs = [
          job.on('phase', (e) => set((s) => ({ job: { ...s.job, phase: e.phase } }))),
          job.on('progress', (p) => set((s) => ({ job: { ...s.job, progress: p } }))),
          job.on('retry', (r) => set((s) => ({ job: { ...s.job, retry: r } }))),
          job.on('log', (entry) => get().appendLog(entry)),
          job.on('device', (identity) => set({ device: identity })),
          job.on('installed', (installed) => set({ installed })),
        ];
        try {
          const result = await job.run();
          const outcome = toOutcome(result);
          set((s) => ({
            job: {
              ...s.job,
              phase: job.phase,
              running: false,
              cancelling: false,
              retry: undefined,
              outcome,
            },
            ...(result.ok ? { device: result.identity } : {}),
          }));
          return outcome;
        } finally {
          for (const off of offs) off();
          if (controller === ctl) controller = undefined;
        }
      },
      cancelFlash: () => {
        if (!controller || controller.signal.aborted) return;
        log.info('Cancel requested.');
        set((s) => ({ job: { ...s.job, cancelling: true } }));
        controller.abort();
      },
      dismissOutcome: () => {
        if (get().job.running) return;
        set({ job: idleJob });
      },
    };
  };
}
