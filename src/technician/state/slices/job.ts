/**
 * Job slice: starts the flash engine (src/job) on the chosen port or USB device with the loaded
 * bundle, speaking the protocol picked for it (connection.ts), subscribes to the engine's
 * events and keeps phase, progress (rate, ETA), retries and the result. Cancellation goes
 * through the job's AbortSignal. A DFU device that re-enumerates with a new identity is chosen
 * again through a prompt (`reselect`, `chooseDeviceAgain`).
 */
import type { DowngradeOverride } from '../../../bundle/rollback.ts';
import { AbortError, UsageError } from '../../../core/errors.ts';
import { fromVerifiedBundle } from '../../../job/bundle-source.ts';
import { bindToBoardProduct } from '../../../job/product-binding.ts';
import { recoveryAdvice } from '../../../job/recovery.ts';
import { runFlashJob, type JobListeners } from '../../../job/runner.ts';
import type { BoardFacts, FlashPlan, FlashSource } from '../../../job/source.ts';
import type { ProtocolId } from '../../../protocols/driver.ts';
import type { JobPhase, JobResult, ProgressEvent, RetryEvent } from '../../../job/types.ts';
import type { UsbDeviceFilter, UsbDeviceHandle } from '../../../transport/usb.ts';
import { planConnection, type ConnectionPlan } from '../connection.ts';
import { assertKeepRanges, ESP_ERASE_BLOCK, type PlannedRegion } from '../../../app/keep-ranges.ts';
import { toErrorView } from '../../../app/error-view.ts';
import { flashBlocker } from '../selectors.ts';
import type { AppServices, ErrorView, ReselectRequest } from '../../../app/types.ts';
import type { AppSlice, AppState } from './slice.ts';
import { storeLogger } from './store-log.ts';
import { flashRecordOf, toOutcome, type JobOutcome } from './job-outcome.ts';

export { READ_PROTECTED_RECOVERY, type JobOutcome } from './job-outcome.ts';

/** A running job waits for the technician to choose a re-enumerated USB device again. */
export interface ReselectPrompt {
  /** Why, in plain words. */
  reason: string;
  /** The identity the device should have now. */
  filters: readonly UsbDeviceFilter[];
  /** True while the browser's chooser is open. */
  choosing: boolean;
  /** Why the last attempt failed (chooser cancelled…); the job keeps waiting. */
  error: ErrorView | undefined;
}

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
  /** The protocol the running/last job speaks, once chosen. */
  protocol?: ProtocolId | undefined;
  /** Set while the job waits for the technician to choose the USB device again. */
  reselect?: ReselectPrompt | undefined;
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
  /**
   * Answers the `reselect` prompt: opens the browser's USB chooser (needs the click that
   * calls it) for the device's new identity. Resolves true when the job got its device.
   */
  chooseDeviceAgain: () => Promise<boolean>;
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

/**
 * The technician's downgrade override from the settings, or undefined without a reason.
 * @throws {UsageError} for a reason without a detail, before anything is touched.
 */
export function downgradeOverrideOf(settings: AppState['settings']): DowngradeOverride | undefined {
  if (settings.downgradeReason === undefined) return undefined;
  const detail = settings.downgradeDetail.trim();
  if (detail === '') {
    throw new UsageError(
      'A downgrade override needs a detail: say why this older release goes on.',
      {
        hints: ['Type the ticket number or what was observed next to the reason.'],
      },
    );
  }
  return { reason: settings.downgradeReason, detail };
}

/** Erase granularity for the keep-range check (keep-ranges.ts). */
function eraseBlockOf(protocol: ProtocolId): number {
  return protocol === 'esp-serial' ? ESP_ERASE_BLOCK : 1;
}

/**
 * Every region the job could write with `protocol`: the images of each bundle target for that
 * protocol (the board picks one after connecting), or the raw image.
 */
export function candidateRegions(
  state: Pick<AppState, 'bundle'>,
  protocol: ProtocolId,
): PlannedRegion[] {
  const { bundle } = state;
  if (bundle.status === 'verified' && bundle.verified) {
    return bundle.verified.manifest.targets
      .filter((t) => t.protocol === protocol)
      .flatMap((t) =>
        t.images
          .filter((im) => im.address !== undefined)
          .map((im) => ({ name: im.name, address: im.address!, size: im.size })),
      );
  }
  const raw = bundle.raw;
  return raw ? [{ name: raw.name, address: raw.address, size: raw.data.length }] : [];
}

function sourceOf(
  state: AppState,
  services: AppServices,
  get: () => AppState,
  override: DowngradeOverride | undefined,
): FlashSource {
  const { bundle } = state;
  if (bundle.status === 'verified' && bundle.verified) {
    const logger = storeLogger(get, services, 'bundle');
    const policy = { mode: 'technician' as const, override, logger };
    return bindToBoardProduct(
      fromVerifiedBundle(bundle.verified, { ...policy, rollbackStore: services.rollbackStore }),
      bundle.verified,
      { ...policy, boardProduct: async (id) => (await get().lookUpBoard(id.uniqueId))?.product },
    );
  }
  const raw = bundle.raw!;
  return { kind: 'unverified', name: raw.name, address: raw.address, data: raw.data };
}

export function createJobSlice(services: AppServices): AppSlice<JobSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'app');
    let controller: AbortController | undefined;
    let pending:
      { request: ReselectRequest; answer: (handle: UsbDeviceHandle) => void } | undefined;

    const setReselect = (reselect: ReselectPrompt | undefined): void =>
      set((s) => ({ job: { ...s.job, reselect } }));

    /** ConnectorContext.chooseAgain: shows the prompt until it is answered or withdrawn. */
    const chooseAgain = (request: ReselectRequest, signal: AbortSignal): Promise<UsbDeviceHandle> =>
      new Promise<UsbDeviceHandle>((resolve, reject) => {
        const done = (): void => {
          signal.removeEventListener('abort', onAbort);
          if (pending?.request === request) pending = undefined;
          setReselect(undefined);
        };
        const onAbort = (): void => {
          done();
          reject(new AbortError());
        };
        if (signal.aborted) {
          reject(new AbortError());
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        pending = {
          request,
          answer: (handle) => {
            done();
            resolve(handle);
          },
        };
        setReselect({
          reason: request.reason,
          filters: request.filters,
          choosing: false,
          error: undefined,
        });
        log.warn(`Waiting for the device to be chosen again: ${request.reason}`);
      });

    /** Finds the chosen port or device again (replugged, re-enumerated) before a flash. */
    const refresh = async (): Promise<void> => {
      const state = get();
      try {
        if (state.transport === 'usb' && state.usbDevice && services.refreshUsbDevice) {
          const usbDevice = await services.refreshUsbDevice(state.usbDevice);
          if (usbDevice !== state.usbDevice) {
            set({ usbDevice });
            log.info(`Found ${usbDevice.label} again.`);
          }
        } else if (state.transport === 'serial' && state.port && services.refreshPort) {
          const port = await services.refreshPort(state.port);
          if (port !== state.port) {
            set({ port });
            log.info(`Found ${port.label} again.`);
          }
        }
      } catch (err) {
        log.warn(`Could not look for the port again: ${toErrorView(err).message}`);
      }
    };

    /** Ends a job that could not start: nothing was touched. */
    const refuse = async (err: unknown, override?: DowngradeOverride): Promise<JobOutcome> => {
      const error = toErrorView(err, 'usage.invalid-argument');
      const outcome: JobOutcome = {
        ok: false,
        cancelled: false,
        error,
        phase: 'idle',
        recovery: 'Nothing was written and the board keeps its current firmware.',
        flashTouched: false,
        durationMs: 0,
      };
      log.error(`Cannot flash: ${error.message}`);
      set((s) => ({ job: { ...s.job, phase: 'failed', running: false, outcome } }));
      await get().recordFlash(flashRecordOf(get(), outcome, override));
      return outcome;
    };

    return {
      job: idleJob,
      startFlash: async () => {
        const before = get();
        const blocker = flashBlocker(before, { unverifiedAllowed: services.unverifiedAllowed });
        if (blocker) {
          log.warn(`Cannot flash: ${blocker}`);
          return undefined;
        }
        const ctl = new AbortController();
        controller = ctl;
        set({
          job: { ...idleJob, running: true, verifiedSource: before.bundle.status === 'verified' },
          device: undefined,
          installed: undefined,
        });
        // Another flash takes the port from the serial monitor.
        await get().stopMonitor();
        let override: DowngradeOverride | undefined;
        let source: FlashSource;
        try {
          override = downgradeOverrideOf(before.settings);
          source = sourceOf(before, services, get, override);
        } catch (err) {
          if (controller === ctl) controller = undefined;
          return refuse(err);
        }
        await refresh();
        const state = get();
        let plan: ConnectionPlan;
        try {
          plan = planConnection(services, {
            transport: state.transport,
            port: state.port,
            usbDevice: state.usbDevice,
            targets:
              state.bundle.status === 'verified'
                ? state.bundle.verified?.manifest.targets
                : undefined,
            serialProtocol: state.settings.serialProtocol,
            allowReadoutUnprotect: state.settings.allowReadoutUnprotect,
            chooseAgain,
          });
          // Before the port is opened: no image of any candidate target may touch a kept range.
          assertKeepRanges({
            regions: candidateRegions(state, plan.protocol),
            keep: state.settings.keepRanges,
            eraseMode: state.settings.eraseMode,
            eraseBlock: eraseBlockOf(plan.protocol),
          });
        } catch (err) {
          if (controller === ctl) controller = undefined;
          return refuse(err, override);
        }
        set((s) => ({ job: { ...s.job, protocol: plan.protocol } }));
        log.info(`Protocol: ${plan.protocol}`);
        if (state.settings.eraseMode === 'all') log.warn('Erase mode: the whole chip.');
        if (override) {
          log.warn(`Downgrade override allowed (${override.reason}): ${override.detail}`);
        }
        const common = {
          source,
          clock: services.clock,
          signal: ctl.signal,
          settings: {
            baudRate: state.settings.baudRate,
            verify: state.settings.verifyAfterWrite,
            eraseMode: state.settings.eraseMode,
            timeouts: plan.timeouts,
          },
          allowUnverified: services.unverifiedAllowed && state.settings.allowUnverified,
          advise: recoveryAdvice,
        };
        const on: JobListeners = {
          phase: (e) => set((s) => ({ job: { ...s.job, phase: e.phase } })),
          progress: (p) => set((s) => ({ job: { ...s.job, progress: p } })),
          retry: (r) => set((s) => ({ job: { ...s.job, retry: r } })),
          log: (entry) => get().appendLog(entry),
          device: (identity) => set({ device: identity }),
          installed: (installed) => set({ installed }),
        };
        const unprotectOffered = !state.settings.allowReadoutUnprotect;
        const outcomeOf = (result: JobResult): JobOutcome =>
          toOutcome(result, unprotectOffered ? plan.protocol : undefined);
        const { keepRanges, eraseMode } = state.settings;
        const run = {
          ...common,
          on,
          // The images the board's target picked, checked against the kept ranges before
          // anything is erased or written.
          checkPlan: (p: FlashPlan, board: BoardFacts) =>
            assertKeepRanges({
              regions: p.regions.map((r) => ({
                name: r.name,
                address: r.address,
                size: r.data.length,
              })),
              keep: keepRanges,
              eraseMode,
              eraseBlock: eraseBlockOf(board.identity.protocol),
            }),
          record: (result: JobResult) =>
            get().recordFlash(flashRecordOf(get(), outcomeOf(result), override)),
        };
        try {
          const result =
            plan.transport === 'serial'
              ? await runFlashJob({ ...run, port: plan.port, connector: plan.connector })
              : await runFlashJob({ ...run, port: plan.port, connector: plan.connector });
          const outcome = outcomeOf(result);
          set((s) => ({
            job: {
              ...s.job,
              phase: result.ok ? 'done' : result.cancelled ? 'cancelled' : 'failed',
              running: false,
              cancelling: false,
              retry: undefined,
              reselect: undefined,
              outcome,
            },
            // The chip-erasing permission and the downgrade override are for one job only.
            settings: {
              ...s.settings,
              allowReadoutUnprotect: false,
              downgradeReason: undefined,
              downgradeDetail: '',
            },
            ...(result.ok ? { device: result.identity } : {}),
          }));
          if (result.ok && plan.transport === 'serial' && get().settings.monitorAfterFlash) {
            void get().startMonitor();
          }
          return outcome;
        } finally {
          if (controller === ctl) controller = undefined;
          pending = undefined;
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
      chooseDeviceAgain: async () => {
        const asked = pending;
        const prompt = get().job.reselect;
        if (!asked || !prompt || prompt.choosing) return false;
        if (!services.requestUsbDevice) return false;
        setReselect({ ...prompt, choosing: true, error: undefined });
        try {
          const chosen = await services.requestUsbDevice({ filters: asked.request.filters });
          if (pending !== asked) return false;
          log.info(`USB device chosen again: ${chosen.label}`);
          asked.answer(chosen.handle);
          return true;
        } catch (err) {
          const error = toErrorView(err, 'transport.no-port-selected');
          if (pending === asked) setReselect({ ...prompt, choosing: false, error });
          log.warn(`The device was not chosen again: ${error.message}`);
          return false;
        }
      },
    };
  };
}
