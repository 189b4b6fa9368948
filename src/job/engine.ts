/**
 * The flash engine: plan → connect → identify → check → (erase) → write → verify → reset, with
 * typed events, retries that resume from the bytes the board confirmed, an overall deadline per
 * step, and cancellation through an AbortSignal. Protocol-agnostic: all it knows of a bootloader
 * is the `FlashSession` contract (src/protocols/driver.ts) and a `Connector`.
 */
import { sleep, type Clock } from '../core/clock.ts';
import {
  asWebflashError,
  ProtocolError,
  TransportError,
  UsageError,
  VerificationError,
  type WebflashError,
} from '../core/errors.ts';
import type { PortInfo } from '../transport/link.ts';
import { createLogger, silentLogger, type LogEntry, type Logger } from '../core/log.ts';
import {
  confirmedBytesOf,
  type DeviceIdentity,
  type FlashRegion,
  type FlashSession,
  type InstalledFirmware,
  type WriteProgress,
} from '../protocols/driver.ts';
import { Emitter, type EventSource } from './emitter.ts';
import { ProgressTracker } from './progress.ts';
import { recoveryAdvice } from './recovery.ts';
import { backoffDelay, isRetryable } from './retry.ts';
import { admitSource, planRegions, type FlashPlan, type VerifiedSource } from './source.ts';
import type {
  FlashJobOptions,
  JobEvents,
  JobPhase,
  JobResult,
  PhaseTimeouts,
  RegionReport,
  TransferPhase,
} from './types.ts';
import { abortReason, withDeadline } from './watchdog.ts';

/** Deadlines used when the job's settings do not give them. */
export const defaultTimeouts: PhaseTimeouts = {
  connect: 45_000,
  identify: 15_000,
  check: 10_000,
  eraseAll: 180_000,
  transferBase: 60_000,
  transferFactor: 4,
  resync: 15_000,
  reset: 10_000,
};

/** A session that can erase the whole chip (optional capability of a driver). */
export interface ChipEraser {
  eraseAll(options: { signal?: AbortSignal | undefined }): Promise<void>;
}

const finalPhases: ReadonlySet<JobPhase> = new Set(['done', 'failed', 'cancelled']);

/**
 * One flash job. Create it, subscribe with `on()`, then `run()` once.
 * @example
 * const job = new FlashJob({ port, connector: espConnector, source, clock: realClock, signal });
 * job.on('progress', (p) => console.log(`${p.percent.toFixed(0)} %`));
 * const result = await job.run();
 * if (!result.ok) console.log(result.error.message, result.recovery);
 */
export class FlashJob<Port> implements EventSource<JobEvents> {
  private readonly events = new Emitter<JobEvents>();
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly log: Logger;
  private readonly timeouts: PhaseTimeouts;
  private readonly maxAttempts: number;
  private current: JobPhase = 'idle';
  private started = false;
  private flashTouched = false;
  private progress: ProgressTracker | undefined;

  /** @throws {UsageError} for settings out of range. */
  constructor(private readonly options: FlashJobOptions<Port>) {
    this.clock = options.clock;
    this.signal = options.signal ?? new AbortController().signal;
    this.timeouts = { ...defaultTimeouts, ...options.settings?.timeouts };
    this.maxAttempts = options.settings?.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new UsageError(`FlashJob: maxAttempts must be an integer ≥ 1, got ${this.maxAttempts}`);
    }
    const outer = options.logger ?? silentLogger;
    const sink = (entry: LogEntry): void => {
      this.events.emit('log', entry);
      outer.child(entry.source)[entry.level](entry.message);
    };
    this.log = createLogger(sink, () => this.clock.now(), 'engine');
  }

  /** @inheritdoc */
  on<K extends keyof JobEvents>(name: K, listener: (payload: JobEvents[K]) => void): () => void {
    return this.events.on(name, listener);
  }

  /** The phase the job is in now. */
  get phase(): JobPhase {
    return this.current;
  }

  /**
   * Runs the job to the end. Never rejects: failures and cancellation come back as a
   * `JobFailure` with the error and recovery advice (and as the `result` event).
   * @throws {UsageError} if called a second time.
   */
  async run(): Promise<JobResult> {
    if (this.started) throw new UsageError('FlashJob.run() may be called only once');
    this.started = true;
    const t0 = this.clock.now();
    let session: FlashSession | undefined;
    let identity: DeviceIdentity | undefined;
    let result: JobResult;
    try {
      const success = await this.steps((s) => (session = s));
      identity = success.identity;
      result = { ...success, durationMs: this.clock.now() - t0 };
    } catch (err) {
      identity = session?.identity;
      result = this.failure(err, identity, t0);
    }
    if (session) await this.closeSession(session);
    if (result.ok) {
      result.durationMs = this.clock.now() - t0;
      this.setPhase('done');
    } else {
      result.durationMs = this.clock.now() - t0;
      this.setPhase(result.cancelled ? 'cancelled' : 'failed');
    }
    this.events.emit('result', result);
    return result;
  }

  private async steps(
    keep: (s: FlashSession) => void,
  ): Promise<Omit<Extract<JobResult, { ok: true }>, 'durationMs'>> {
    const { source, settings } = this.options;
    const admitted = admitSource(source, {
      allowUnverified: this.options.allowUnverified === true,
    });
    if (admitted) {
      this.log.warn(
        `Writing an unverified image (development setting): ${admitted.label}, ${admitted.totalBytes} bytes.`,
      );
    } else {
      this.log.info(`Release: ${(source as VerifiedSource).label}`);
    }
    this.throwIfAborted();

    this.setPhase('connecting');
    const session = await this.connect();
    keep(session);
    const identity = session.identity;

    this.setPhase('identifying');
    this.log.info(`Connected: ${identity.name}`);
    this.events.emit('device', identity);
    const installed = await this.readInstalled(session);

    this.setPhase('checking');
    const plan = admitted ?? (await this.resolve(source as VerifiedSource, identity, installed));
    this.throwIfAborted();

    if ((settings?.eraseMode ?? 'regions') === 'all') await this.eraseAll(session);

    this.progress = new ProgressTracker({ clock: this.clock, regions: plan.regions });
    const reports: RegionReport[] = plan.regions.map((r) => ({
      name: r.name,
      address: r.address,
      bytes: r.data.length,
      attempts: 0,
      verified: false,
    }));
    this.setPhase('writing');
    for (let i = 0; i < plan.regions.length; i++) {
      reports[i]!.attempts = await this.writeRegion(session, plan, i);
    }
    if (settings?.verify ?? true) {
      this.setPhase('verifying');
      for (let i = 0; i < plan.regions.length; i++) {
        reports[i]!.attempts += await this.verifyRegion(session, plan, i);
        reports[i]!.verified = true;
      }
    }
    this.throwIfAborted();
    if (source.kind === 'verified') await this.written(source);

    let notice: string | undefined;
    if (settings?.reset ?? true) {
      this.setPhase('resetting');
      notice = await this.reset(session);
    }
    return notice === undefined
      ? { ok: true, identity, regions: reports }
      : { ok: true, identity, regions: reports, notice };
  }

  private async connect(): Promise<FlashSession> {
    const { connector, port, settings } = this.options;
    return withDeadline(
      {
        clock: this.clock,
        timeoutMs: this.timeouts.connect,
        signal: this.signal,
        what: 'Connecting to the board',
        discard: (late: FlashSession) => void late.close().catch(() => undefined),
      },
      (signal) =>
        connector.connect(port, {
          clock: this.clock,
          logger: this.log.child(connector.id),
          signal,
          baudRate: settings?.baudRate,
        }),
    );
  }

  private async readInstalled(session: FlashSession): Promise<InstalledFirmware | undefined> {
    if (!session.readInstalledFirmware) return undefined;
    try {
      const installed = await this.deadline('identify', 'Reading the installed firmware', (s) =>
        session.readInstalledFirmware!(s),
      );
      if (installed) {
        this.events.emit('installed', installed);
        const what = [installed.project, installed.version].filter(Boolean).join(' ');
        this.log.info(`Installed firmware: ${what || 'unnamed'}`);
      }
      return installed;
    } catch (err) {
      const e = asWebflashError(err);
      if (!isRetryable(e)) throw e;
      this.log.warn(`Could not read the installed firmware (${e.message}); continuing without it.`);
      await this.deadline('resync', 'Resynchronising', (s) => session.resync(s));
      return undefined;
    }
  }

  /** Lets a verified source pick its images for this board and run its checks. */
  private async resolve(
    source: VerifiedSource,
    identity: DeviceIdentity,
    installed: InstalledFirmware | undefined,
  ): Promise<FlashPlan> {
    const port = portInfoOf(this.options.port);
    const regions = await this.deadline(
      'check',
      'Checking the bundle against the board',
      async () => {
        try {
          return await source.resolve({ identity, installed, port });
        } catch (err) {
          throw asWebflashError(err, 'bundle.rejected');
        }
      },
    );
    const plan = planRegions(regions, { verified: true, label: source.label });
    this.log.info(
      `The release fits this board (${identity.chip}): ${plan.regions.length} image(s), ${plan.totalBytes} bytes.`,
    );
    return plan;
  }

  /** Tells the source its images are on the board; a failure here is logged, not fatal. */
  private async written(source: VerifiedSource): Promise<void> {
    if (!source.onWritten) return;
    try {
      await this.deadline('check', 'Recording the installed release', async () => {
        await source.onWritten?.();
      });
    } catch (err) {
      if (this.signal.aborted) throw abortReason(this.signal, err);
      this.log.error(`Could not record the installed release: ${asWebflashError(err).message}`);
    }
  }

  private async eraseAll(session: FlashSession): Promise<void> {
    const eraser = session as Partial<ChipEraser>;
    if (typeof eraser.eraseAll !== 'function') {
      throw new ProtocolError(
        'protocol.unsupported',
        'This bootloader cannot erase the whole chip at once.',
        { hints: ['Choose "erase only what is written" and press Flash again.'] },
      );
    }
    this.setPhase('erasing');
    this.flashTouched = true;
    this.log.info('Erasing the whole chip…');
    await this.deadline('eraseAll', 'Erasing the chip', (signal) =>
      eraser.eraseAll!.call(session, { signal }),
    );
  }

  /** Writes region `i`, retrying after recoverable errors; returns the attempts it took. */
  private async writeRegion(session: FlashSession, plan: FlashPlan, i: number): Promise<number> {
    const region = plan.regions[i]!;
    let resumeFrom = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) await this.deadline('resync', 'Resynchronising', (s) => session.resync(s));
        this.flashTouched = true;
        await this.transfer(region, 'Writing', (signal) =>
          session.write(region, {
            signal,
            resumeFrom,
            onProgress: (p) => this.onDriverProgress(p, i, attempt),
          }),
        );
        this.log.info(`Wrote ${region.name} (${region.data.length} bytes).`);
        return attempt;
      } catch (err) {
        const e = this.describe(err, 'writing', region, i);
        const confirmed = confirmedBytesOf(err);
        if (confirmed !== undefined) {
          resumeFrom = Math.max(0, Math.min(region.data.length, Math.floor(confirmed)));
        }
        await this.beforeRetry(e, region, 'writing', attempt, resumeFrom);
      }
    }
  }

  /**
   * Verifies region `i`. A timeout or garbled reply is retried after resync; a mismatch rewrites
   * the region once from the start. Returns the extra write attempts a rewrite took.
   */
  private async verifyRegion(session: FlashSession, plan: FlashPlan, i: number): Promise<number> {
    const region = plan.regions[i]!;
    let rewrites = 0;
    let extraAttempts = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) await this.deadline('resync', 'Resynchronising', (s) => session.resync(s));
        await this.transfer(region, 'Verifying', (signal) =>
          session.verify(region, {
            signal,
            onProgress: (p) => this.onDriverProgress({ ...p, phase: 'verify' }, i, attempt),
          }),
        );
        this.log.info(`Verified ${region.name}.`);
        return extraAttempts;
      } catch (err) {
        const e = this.describe(err, 'verifying', region, i);
        if (e instanceof VerificationError && rewrites === 0) {
          rewrites++;
          this.log.warn(`${region.name} did not verify (${e.message}); writing it again.`);
          this.progress?.restartRegion('writing', i);
          this.setPhase('writing');
          extraAttempts += await this.writeRegion(session, plan, i);
          this.setPhase('verifying');
          attempt = 0;
          continue;
        }
        await this.beforeRetry(e, region, 'verifying', attempt, 0);
      }
    }
  }

  /** Throws `e` when it is fatal or attempts are used up; otherwise announces and waits. */
  private async beforeRetry(
    e: WebflashError,
    region: FlashRegion,
    phase: TransferPhase,
    attempt: number,
    resumeFrom: number,
  ): Promise<void> {
    if (this.signal.aborted) throw abortReason(this.signal, e);
    if (!isRetryable(e) || attempt >= this.maxAttempts) throw e;
    const settings = this.options.settings;
    const delayMs = backoffDelay(attempt + 1, {
      baseMs: settings?.retryBaseDelayMs ?? 250,
      maxMs: settings?.retryMaxDelayMs ?? 2000,
    });
    this.log.warn(
      `${phase === 'writing' ? 'Writing' : 'Verifying'} ${region.name} failed (${e.message}); ` +
        `attempt ${attempt + 1} of ${this.maxAttempts} in ${delayMs} ms` +
        (phase === 'writing' ? `, resuming at byte ${resumeFrom}.` : '.'),
    );
    this.events.emit('retry', {
      region: region.name,
      phase,
      attempt: attempt + 1,
      maxAttempts: this.maxAttempts,
      error: e,
      resumeFrom,
      delayMs,
    });
    await sleep(this.clock, delayMs, this.signal).catch((err: unknown) => {
      throw abortReason(this.signal, err);
    });
  }

  private async reset(session: FlashSession): Promise<string | undefined> {
    try {
      await this.deadline('reset', 'Restarting the board', () => session.reset());
      this.log.info('The board is starting the new firmware.');
      return undefined;
    } catch (err) {
      const e = asWebflashError(err);
      if (this.signal.aborted) throw abortReason(this.signal, e);
      if (e.code === 'transport.device-lost') {
        // USB-native boards leave the bus when they restart: that is the reset working.
        this.log.info('The board left the bus while restarting.');
        return undefined;
      }
      this.log.warn(`The board did not restart by itself (${e.message}).`);
      return 'The firmware is written and verified, but the board did not restart by itself. Press RESET (or unplug and replug it) to start the new firmware.';
    }
  }

  private onDriverProgress(p: WriteProgress, i: number, attempt: number): void {
    const tracker = this.progress;
    if (!tracker) return;
    const phase: TransferPhase =
      p.phase === 'erase' ? 'erasing' : p.phase === 'verify' ? 'verifying' : 'writing';
    if (phase !== this.current && !finalPhases.has(this.current)) this.setPhase(phase);
    const event = tracker.update({ phase, index: i, bytesDone: p.bytesDone, attempt });
    this.events.emit('progress', event);
  }

  /** Runs one write or verify attempt under a deadline scaled to the region's size. */
  private transfer(
    region: FlashRegion,
    verb: string,
    step: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const baud = this.options.settings?.baudRate ?? 115_200;
    const linkMs = ((region.data.length * 10) / baud) * 1000;
    const timeoutMs = this.timeouts.transferBase + this.timeouts.transferFactor * linkMs;
    return withDeadline(
      {
        clock: this.clock,
        timeoutMs: Math.ceil(timeoutMs),
        signal: this.signal,
        what: `${verb} ${region.name}`,
      },
      step,
    );
  }

  private deadline<T>(
    which: keyof PhaseTimeouts,
    what: string,
    step: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline(
      { clock: this.clock, timeoutMs: this.timeouts[which], signal: this.signal, what },
      step,
    );
  }

  /** Normalises an error from a transfer; a lost device gets a message saying where it happened. */
  private describe(
    err: unknown,
    phase: TransferPhase,
    region: FlashRegion,
    i: number,
  ): WebflashError {
    const e = asWebflashError(err);
    if (e.code !== 'transport.device-lost') return e;
    const percent = Math.floor(this.progress?.regionPercent(phase, i) ?? 0);
    const doing = phase === 'verifying' ? 'verifying' : 'writing';
    return new TransportError(
      'transport.device-lost',
      `The board was disconnected while ${doing} ${region.name} at ${percent} %.`,
      { cause: e, hints: e.hints },
    );
  }

  private failure(err: unknown, identity: DeviceIdentity | undefined, t0: number): JobResult {
    const cancelled = this.signal.aborted;
    const error = cancelled ? abortReason(this.signal, err) : asWebflashError(err);
    const phase = this.current;
    const recovery = recoveryAdvice({
      phase,
      error,
      cancelled,
      flashTouched: this.flashTouched,
      protocol: identity?.protocol ?? this.options.connector.id,
    });
    if (cancelled) this.log.warn(`Cancelled while ${phase}.`);
    else this.log.error(`Failed while ${phase}: ${error.message}`);
    const failure: JobResult = {
      ok: false,
      cancelled,
      error,
      phase,
      recovery,
      flashTouched: this.flashTouched,
      durationMs: this.clock.now() - t0,
    };
    if (identity) failure.identity = identity;
    return failure;
  }

  private async closeSession(session: FlashSession): Promise<void> {
    try {
      await withDeadline(
        {
          clock: this.clock,
          timeoutMs: this.timeouts.reset,
          signal: new AbortController().signal,
          what: 'Closing the port',
        },
        () => session.close(),
      );
    } catch (err) {
      this.log.warn(`Closing the port failed: ${asWebflashError(err).message}`);
    }
  }

  private setPhase(phase: JobPhase): void {
    if (phase === this.current) return;
    const previous = this.current;
    this.current = phase;
    if (phase === 'erasing' || phase === 'writing' || phase === 'verifying') {
      this.progress?.enter(phase);
    }
    this.events.emit('phase', { phase, previous, time: this.clock.now() });
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw abortReason(this.signal);
  }
}

/**
 * Runs one job and returns its result; `listeners` are attached before it starts.
 * @example const result = await runFlashJob(options, { progress: (p) => draw(p) });
 */
export function runFlashJob<Port>(
  options: FlashJobOptions<Port>,
  listeners: { [K in keyof JobEvents]?: (payload: JobEvents[K]) => void } = {},
): Promise<JobResult> {
  const job = new FlashJob(options);
  for (const name of Object.keys(listeners) as (keyof JobEvents)[]) {
    const fn = listeners[name];
    if (fn) job.on(name, fn as (payload: JobEvents[typeof name]) => void);
  }
  return job.run();
}

/**
 * The USB identity of a port, for target matching: a SerialPortHandle's `info` has
 * `usbVendorId`/`usbProductId`, a USB device handle's `info` has `vendorId`/`productId`.
 */
function portInfoOf(port: unknown): PortInfo | undefined {
  if (typeof port !== 'object' || port === null || !('info' in port)) return undefined;
  const info = port.info;
  if (typeof info !== 'object' || info === null) return undefined;
  const i = info as Partial<PortInfo> & { vendorId?: unknown; productId?: unknown };
  const out: PortInfo = { label: typeof i.label === 'string' ? i.label : 'port' };
  const vid = typeof i.usbVendorId === 'number' ? i.usbVendorId : i.vendorId;
  const pid = typeof i.usbProductId === 'number' ? i.usbProductId : i.productId;
  if (typeof vid === 'number') out.usbVendorId = vid;
  if (typeof pid === 'number') out.usbProductId = pid;
  return out;
}
