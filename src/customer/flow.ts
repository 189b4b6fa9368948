/**
 * The customer updater's state machine: a vanilla zustand store (no React) that walks one
 * person through one update — get the update file ready (download + verify), one button,
 * choose the device, install with progress and time left, then success or a failure screen that
 * says what to do. It subscribes to the flash engine's events (docs/engine.md, "Events") and
 * never offers options: customer mode refuses downgrades (bundle rollback policy) and only a
 * `VerifiedBundle` can reach the engine.
 *
 * Once the update file is verified, the bundle's targets, the browser and the vendor's
 * `transport` setting decide how the device is reached (transport-choice.ts): Web Serial or
 * WebUSB.
 *
 * States: loading → ready → choosing → installing → success | failed; `unsupported` when the
 * browser or page cannot update a device at all. A DFU 1.1 device that restarts in its update
 * mode under a new USB identity interrupts installing with `choose-again`: the browser lets the
 * page open that identity only once the person picks it in the chooser, which takes a click.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle, VerifyProgress } from '../bundle/verify.ts';
import type { Clock } from '../core/clock.ts';
import { asWebflashError, type ErrorCode, UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { fromVerifiedBundle } from '../job/bundle-source.ts';
import { runFlashJob, type JobListeners } from '../job/runner.ts';
import type { Connector, JobPhase, JobSettings, ProgressEvent } from '../job/types.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import { BundleError, type BundleReason } from '../bundle/errors.ts';
import { failureText, type FailureText, noDeviceNote, UNSUPPORTED_TEXT } from './messages.ts';
import type { Support, Transport, UnsupportedReason } from './support.ts';
import { chooseTransport } from './transport-choice.ts';

/** What the release is, from its verified manifest. */
interface Release {
  product: string;
  version: string;
}

/** The step of an install the person sees. */
export type InstallStep = 'connecting' | 'checking' | 'installing' | 'verifying' | 'restarting';

/** What the updater shows now. */
export type Screen =
  | { kind: 'unsupported'; reason: UnsupportedReason; text: FailureText }
  | { kind: 'loading'; percent: number | undefined }
  | { kind: 'ready'; note: string | undefined }
  | { kind: 'choosing' }
  | {
      kind: 'installing';
      step: InstallStep;
      /** 0…100 over the whole install, or undefined while not measurable. */
      percent: number | undefined;
      msLeft: number | undefined;
    }
  /** The device restarted in its update mode as a new USB device: it must be chosen again. */
  | { kind: 'choose-again'; cancelled: boolean }
  | { kind: 'success'; notice: string | undefined }
  | {
      kind: 'failed';
      text: FailureText;
      code: ErrorCode;
      reason: BundleReason | undefined;
      /** True once the device's memory may have been changed. */
      flashTouched: boolean;
      /** What "Try again" does: load the update file again, or install again. */
      retry: 'reload' | 'install' | 'none';
    };

export interface UpdaterState {
  screen: Screen;
  /** Known once the update file is verified. */
  release: Release | undefined;
  /** The device's name, once it identified itself ("ESP32-S3"). */
  device: string | undefined;
  /** How the device is reached, once the update file is verified. */
  transport: Transport | undefined;
}

/** A device the person chose, and the driver that talks to it. */
export interface PortChoice {
  port: unknown;
  connector: Connector<unknown>;
  protocol: ProtocolId;
  /**
   * Engine settings for this device: the line speed to flash at, where the protocol can change
   * it; a longer connect deadline where a person may have to choose the device again.
   */
  settings?: JobSettings | undefined;
}

/**
 * The "choose it again" step, offered by the USB driver while it waits for a device that
 * restarted in its update mode under a USB identity the page may not open yet.
 */
export interface ChooseAgainStep {
  /** True once the chooser was closed without a choice. */
  cancelled: boolean;
  /** Opens the browser's chooser for the device's new identity. Call from a click. */
  choose(): Promise<void>;
  /** Stops waiting: the update ends on a failure screen that says what to do. */
  giveUp(): void;
}

/** What the updater needs from the page (browser services, or fakes in tests). */
export interface CustomerServices {
  clock: Clock;
  /**
   * Downloads and verifies the update file.
   * @throws {BundleError} when it is refused; {OriginRefusedError} for a disallowed origin.
   */
  loadBundle(options: {
    url: URL;
    expectedProduct: string | undefined;
    signal: AbortSignal;
    onProgress: (p: VerifyProgress) => void;
  }): Promise<VerifiedBundle>;
  /**
   * Asks the person to choose the device over `transport` (runs in the click's user
   * activation) and picks the driver for the bundle's protocol.
   * @throws {TransportError} 'transport.no-port-selected' when the person closes the chooser.
   */
  choosePort(options: {
    bundle: VerifiedBundle;
    transport: Transport;
    signal: AbortSignal;
    /** Shows the "choose it again" step while the install waits (undefined: it is over). */
    chooseAgain: (step: ChooseAgainStep | undefined) => void;
  }): Promise<PortChoice>;
  /** Where installed releases are remembered (anti-rollback). */
  rollbackStore?: RollbackStore | undefined;
  logger?: Logger | undefined;
}

export interface UpdaterOptions {
  services: CustomerServices;
  support: Support;
  /**
   * The update file's address, already checked against the allowed origins.
   * @throws {OriginRefusedError} or {UsageError}, shown as a failure screen.
   */
  bundleUrl: () => URL;
  /**
   * The product id the page is for (the element's `product` attribute or the build's
   * `VITE_WEBFLASH_PRODUCT`); a bundle for another product is refused. Required: without it the
   * updater stops before downloading, with a message for the vendor.
   */
  product?: string | undefined;
  /** Board id, for products whose targets share a chip. */
  board?: string | undefined;
  /** The vendor's choice of transport, for bundles with both serial and USB targets. */
  transport?: Transport | undefined;
  /** Engine settings (line speed…); not offered to the person. */
  settings?: JobSettings | undefined;
}

/** The customer updater. */
export interface Updater {
  readonly store: StoreApi<UpdaterState>;
  /** Downloads and verifies the update file (done once at start; again by `retry`). */
  prepare(): Promise<void>;
  /** The one button: choose the device and install. Call from a click handler. */
  start(): Promise<void>;
  /** "Choose device" on the `choose-again` screen. Call from a click handler. */
  chooseAgain(): Promise<void>;
  /** Gives up choosing the device again: the update ends on a failure screen. */
  giveUp(): void;
  /** "Try again" on a failure screen. */
  retry(): Promise<void>;
  /** Stops whatever runs. */
  dispose(): void;
}

/** Share of the bar for installing; verifying fills the rest up to 99 %, restarting 100 %. */
const WRITE_SHARE = 90;

interface InstallProgress {
  percent: number;
  msLeft: number | undefined;
}

/**
 * The install's overall percentage and time left from the engine's progress events, fed in
 * order. Installing fills 0…90 %: writing alone, or, once the job compares images with the
 * device (a delta update), comparing and writing half each; an erase keeps the bar where it is.
 * @example const meter = installMeter(); meter({ phase: 'writing', percent: 50, … }) // { percent: 45, … }
 */
export function installMeter(): (p: ProgressEvent) => InstallProgress {
  let compared: number | undefined;
  let written = 0;
  const installing = (msLeft: number | undefined): InstallProgress => {
    const share = compared === undefined ? written : (compared + written) / 2;
    return { percent: Math.floor((share * WRITE_SHARE) / 100), msLeft };
  };
  return (p) => {
    const pct = Math.min(100, Math.max(0, p.percent));
    switch (p.phase) {
      case 'comparing':
        compared = pct;
        return installing(undefined);
      case 'erasing':
        return installing(undefined);
      case 'writing':
        written = pct;
        return installing(p.etaMs);
      case 'verifying':
        return {
          percent: WRITE_SHARE + Math.floor((pct * (99 - WRITE_SHARE)) / 100),
          msLeft: p.etaMs,
        };
    }
  };
}

/** Failures that trying again cannot fix: the page's setup, or a release this device must not get. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['bundle.origin-refused', 'usage.invalid-argument']);
const NO_PRODUCT =
  'This updater does not know which product it updates. Website owner: add ' +
  '<webflash-update product="your-product-id">, or build with VITE_WEBFLASH_PRODUCT.';

const FINAL_REASONS = /^(rollback\.|product\.mismatch$)/;

const STEP_OF: Partial<Record<JobPhase, InstallStep>> = {
  connecting: 'connecting',
  identifying: 'connecting',
  checking: 'checking',
  comparing: 'installing',
  erasing: 'installing',
  writing: 'installing',
  verifying: 'verifying',
  resetting: 'restarting',
};

/**
 * Creates the updater. It starts in `unsupported` when `support` says so, else in `loading`
 * (call `prepare()`).
 * @example
 * const updater = createUpdater({ services, support, bundleUrl: () => new URL('/fw.fwb', location.href) });
 * void updater.prepare();
 * button.onclick = () => void updater.start();
 */
export function createUpdater(options: UpdaterOptions): Updater {
  const { services, support } = options;
  const initial: Screen = support.ok
    ? { kind: 'loading', percent: undefined }
    : { kind: 'unsupported', reason: support.reason, text: UNSUPPORTED_TEXT[support.reason] };
  const store = createStore<UpdaterState>()(() => ({
    screen: initial,
    release: undefined,
    device: undefined,
    transport: undefined,
  }));
  const set = (screen: Screen): void => store.setState({ screen });
  const log = services.logger;
  let verified: VerifiedBundle | undefined;
  let controller = new AbortController();
  let disposed = false;
  let busy = false;
  let again: ChooseAgainStep | undefined;
  const connecting: Screen = {
    kind: 'installing',
    step: 'connecting',
    percent: undefined,
    msLeft: undefined,
  };

  const fail = (
    err: unknown,
    ctx: {
      flashTouched: boolean;
      protocol?: ProtocolId | undefined;
      retry: 'reload' | 'install' | 'none';
    },
  ): void => {
    const error = asWebflashError(err, 'transport.io');
    log?.warn(`Update stopped: [${error.code}] ${error.message}`);
    const reason = error instanceof BundleError ? error.reason : undefined;
    set({
      kind: 'failed',
      text: failureText({
        error,
        flashTouched: ctx.flashTouched,
        protocol: ctx.protocol,
        transport: store.getState().transport,
        stage: ctx.retry === 'reload' ? 'download' : 'install',
      }),
      code: error.code,
      reason,
      flashTouched: ctx.flashTouched,
      retry:
        FINAL.has(error.code) || (reason !== undefined && FINAL_REASONS.test(reason))
          ? 'none'
          : ctx.retry,
    });
  };

  const prepare = async (): Promise<void> => {
    if (!support.ok || disposed || busy) return;
    busy = true;
    verified = undefined;
    set({ kind: 'loading', percent: undefined });
    try {
      const url = options.bundleUrl();
      // Rollback records are kept per product: an updater that does not know its own product
      // could install another product's release as a "first" one (docs/embedding.md).
      if (!options.product) {
        log?.error(NO_PRODUCT); // the browser console, where the website owner looks
        throw new UsageError(NO_PRODUCT);
      }
      const bundle = await services.loadBundle({
        url,
        expectedProduct: options.product,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytesTotal === undefined || p.bytesTotal === 0) return;
          set({ kind: 'loading', percent: Math.floor((100 * p.bytesDone) / p.bytesTotal) });
        },
      });
      if (disposed) return;
      const m = bundle.manifest;
      store.setState({ release: { product: m.product, version: m.version } });
      let transport: Transport;
      try {
        transport = chooseTransport({
          targets: m.targets,
          available: support.transports,
          pinned: options.transport,
        });
      } catch (err) {
        // The release needs a connection this browser lacks (WebUSB, Web Serial) or that no
        // updater has: trying again cannot help.
        fail(err, { flashTouched: false, retry: 'none' });
        return;
      }
      verified = bundle;
      store.setState({ transport });
      set({ kind: 'ready', note: undefined });
    } catch (err) {
      if (!disposed) fail(err, { flashTouched: false, retry: 'reload' });
    } finally {
      busy = false;
    }
  };

  const start = async (): Promise<void> => {
    const bundle = verified;
    const transport = store.getState().transport;
    if (!bundle || !transport || disposed || busy) return;
    busy = true;
    const signal = controller.signal;
    let choice: PortChoice;
    set({ kind: 'choosing' });
    try {
      choice = await services.choosePort({
        bundle,
        transport,
        signal,
        // Withdrawn once the device is back (or the wait ended: a failure screen follows).
        chooseAgain: (step) => {
          again = step;
          set(step ? { kind: 'choose-again', cancelled: step.cancelled } : connecting);
        },
      });
    } catch (err) {
      busy = false;
      if (disposed) return;
      const error = asWebflashError(err, 'transport.io');
      if (error.code === 'transport.no-port-selected') {
        set({ kind: 'ready', note: noDeviceNote(transport) });
        return;
      }
      fail(error, { flashTouched: false, retry: 'install' });
      return;
    }
    set(connecting);
    store.setState({ device: undefined });
    const run = {
      port: choice.port,
      connector: choice.connector,
      source: fromVerifiedBundle(bundle, {
        mode: 'customer',
        rollbackStore: services.rollbackStore,
        board: options.board,
        logger: log,
      }),
      clock: services.clock,
      signal,
      logger: log,
      settings: { ...choice.settings, ...options.settings },
    };
    const meter = installMeter();
    const on: JobListeners = {
      phase: (e) => {
        const step = STEP_OF[e.phase];
        const now = store.getState().screen;
        if (!step || now.kind !== 'installing' || now.step === step) return;
        const percent = step === 'restarting' ? 99 : now.percent;
        set({ kind: 'installing', step, percent, msLeft: undefined });
      },
      progress: (p) => {
        const now = store.getState().screen;
        if (now.kind !== 'installing') return;
        set({ ...now, ...meter(p) });
      },
      device: (identity) => store.setState({ device: identity.name }),
    };
    try {
      const result = await runFlashJob({ ...run, on });
      if (disposed) return;
      if (result.ok) {
        set({ kind: 'success', notice: result.notice });
      } else {
        fail(result.error, {
          flashTouched: result.flashTouched,
          protocol: choice.protocol,
          retry: 'install',
        });
      }
    } finally {
      busy = false;
    }
  };

  return {
    store,
    prepare,
    start,
    chooseAgain: async () => again?.choose(),
    giveUp: () => again?.giveUp(),
    retry: async () => {
      const screen = store.getState().screen;
      if (screen.kind !== 'failed' || busy) return;
      if (screen.retry === 'reload' || !verified) await prepare();
      else if (screen.retry === 'install') await start();
    },
    dispose: () => {
      disposed = true;
      controller.abort();
      controller = new AbortController();
    },
  };
}
