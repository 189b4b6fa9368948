/**
 * The flash engine: plan → connect → identify → check → (erase) → write → verify → reset, with
 * typed events, retries that resume from the bytes the board confirmed, an overall deadline per
 * step, and cancellation through an AbortSignal. Protocol-agnostic: all it knows of a bootloader
 * is the `FlashSession` contract (src/protocols/driver.ts) and a `Connector`. See docs/engine.md.
 */
import type { Clock } from '../core/clock.ts';
import { asWebflashError, ProtocolError, UsageError, VerificationError } from '../core/errors.ts';
import { createLogger, silentLogger, type LogEntry, type Logger } from '../core/log.ts';
import type {
  DeviceIdentity,
  FlashRegion,
  FlashSession,
  InstalledFirmware,
  ProtocolDriver,
  WriteProgress,
} from '../protocols/driver.ts';
import type { BaudSetting } from '../protocols/link-speed.ts';
import { Emitter, type EventSource } from './emitter.ts';
import { asJobError } from './errors.ts';
import { isTransferPhase, ProgressTracker, transferPhaseOf } from './progress.ts';
import { isRetryable, requireSameBoard } from './retry.ts';
import { checkPlacement } from './placement.ts';
import { totalDelta, writeWithDelta } from './delta.ts';
import {
  admitSource,
  planRegions,
  portInfoOf,
  type FlashPlan,
  type VerifiedSource,
} from './source.ts';
import { verifyWithRetry, type RetryLimits, type TransferContext } from './transfer.ts';
import type {
  ChipEraser,
  FlashJobOptions,
  JobEvents,
  JobFailure,
  JobPhase,
  JobResult,
  JobSuccess,
  PhaseTimeouts,
  RegionReport,
} from './types.ts';
import {
  abortReason,
  closeWithDeadline,
  defaultTimeouts,
  transferTimeoutMs,
  withDeadline,
} from './watchdog.ts';

const finalPhases: ReadonlySet<JobPhase> = new Set(['done', 'failed', 'cancelled']);

/**
 * One flash job. Create it, subscribe with `on()`, then `run()` once.
 * @example
 * const job = new FlashJob({ port, connector: espDriver, source, clock: realClock, signal });
 * job.on('progress', (p) => console.log(`${p.percent.toFixed(0)} %`));
 * const result = await job.run();
 * if (!result.ok) console.log(result.error.message, result.recovery); // with `advise: recoveryAdvice`
 */
export class FlashJob<Port> implements EventSource<JobEvents> {
  private readonly events = new Emitter<JobEvents>();
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly log: Logger;
  private readonly timeouts: PhaseTimeouts;
  private readonly limits: RetryLimits;
  private current: JobPhase = 'idle';
  private started = false;
  private flashTouched = false;
  private session: FlashSession | undefined;
  /** The board as it first identified itself (kept across reconnects). */
  private board: DeviceIdentity | undefined;
  private progress: ProgressTracker | undefined;

  /** @throws {UsageError} for settings out of range. */
  constructor(private readonly options: FlashJobOptions<Port>) {
    const settings = options.settings ?? {};
    this.clock = options.clock;
    this.signal = options.signal ?? new AbortController().signal;
    this.timeouts = { ...defaultTimeouts, ...settings.timeouts };
    this.limits = {
      maxAttempts: settings.maxAttempts ?? 3,
      maxAttemptsTotal: settings.maxAttemptsTotal ?? 10,
      baseDelayMs: settings.retryBaseDelayMs ?? 250,
      maxDelayMs: settings.retryMaxDelayMs ?? 2000,
    };
    for (const key of ['maxAttempts', 'maxAttemptsTotal'] as const) {
      const n = this.limits[key];
      if (!Number.isInteger(n) || n < 1) {
        throw new UsageError(`FlashJob: ${key} must be an integer ≥ 1, got ${n}`);
      }
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
   * `JobFailure` with the error and recovery advice (and as the `result` event), after the
   * session is closed.
   * @throws {UsageError} if called a second time.
   */
  async run(): Promise<JobResult> {
    if (this.started) throw new UsageError('FlashJob.run() may be called only once');
    this.started = true;
    const t0 = this.clock.now();
    let result: JobResult;
    try {
      result = await this.steps(t0);
    } catch (err) {
      result = this.failure(err, t0);
    }
    if (this.session) await this.closeSession(this.session);
    result.durationMs = this.clock.now() - t0;
    this.setPhase(result.ok ? 'done' : result.cancelled ? 'cancelled' : 'failed');
    this.events.emit('result', result);
    return result;
  }

  private async steps(t0: number): Promise<JobSuccess> {
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
    this.session = await this.connect();
    const identity = (this.board = this.session.identity);

    this.setPhase('identifying');
    this.log.info(`Connected: ${identity.name}`);
    this.events.emit('device', identity);
    const installed = await this.readInstalled();

    this.setPhase('checking');
    const plan = admitted ?? (await this.resolve(source as VerifiedSource, identity, installed));
    this.session.checkPlan?.(plan.regions);
    checkPlacement(plan.regions, this.session.flashRanges); // before anything is erased
    await this.checkPlan(plan, identity, installed);
    this.throwIfAborted();

    if ((settings?.eraseMode ?? 'regions') === 'all') await this.eraseAll();

    const reports = await this.transferAll(plan);
    this.throwIfAborted();
    if (source.kind === 'verified') await this.written(source);

    let notice: string | undefined;
    let after = identity;
    if (settings?.reset ?? true) {
      this.setPhase('resetting');
      notice = await this.reset();
      // A driver that reads the board again after the restart (MCUboot: the image list) has
      // a fresh identity: pass it on.
      const fresh = this.session.identity;
      if (fresh !== identity) {
        after = fresh;
        this.events.emit('device', fresh);
      }
    }
    const success: JobSuccess = {
      ok: true,
      identity: after,
      regions: reports,
      durationMs: this.clock.now() - t0,
    };
    const delta = totalDelta(reports.map((r) => r.delta));
    if (delta) success.delta = delta;
    if (notice !== undefined) success.notice = notice;
    return success;
  }

  /**
   * Writes every region (a delta update compares each one just before writing it), then
   * verifies every region (when verifying).
   */
  private async transferAll(plan: FlashPlan): Promise<RegionReport[]> {
    const progress = new ProgressTracker({ clock: this.clock, regions: plan.regions });
    this.progress = progress;
    const ctx = this.transferContext(progress);
    const reports: RegionReport[] = plan.regions.map((r) => ({
      name: r.name,
      address: r.address,
      bytes: r.data.length,
      attempts: 0,
      verified: false,
    }));
    const settings = this.options.settings;
    // After a chip erase every unit differs: comparing would only cost time.
    const delta = (settings?.delta ?? true) && (settings?.eraseMode ?? 'regions') !== 'all';
    for (let i = 0; i < plan.regions.length; i++) {
      const written = await writeWithDelta(ctx, plan.regions[i]!, i, delta);
      reports[i]!.attempts = written.attempts;
      if (written.delta) reports[i]!.delta = written.delta;
    }
    if (this.options.settings?.verify ?? true) {
      this.setPhase('verifying');
      for (let i = 0; i < plan.regions.length; i++) {
        reports[i]!.attempts += await verifyWithRetry(ctx, plan.regions[i]!, i);
        reports[i]!.verified = true;
      }
    }
    return reports;
  }

  private transferContext(progress: ProgressTracker): TransferContext {
    return {
      clock: this.clock,
      signal: this.signal,
      log: this.log,
      limits: this.limits,
      progress,
      session: () => this.requireSession(),
      recover: () => this.recover(),
      deadline: (region, verb, step) => this.transferDeadline(region, verb, step),
      setPhase: (phase) => this.setPhase(phase),
      markTouched: () => {
        this.flashTouched = true;
      },
      onProgress: (p, index, attempt) => this.onDriverProgress(p, index, attempt),
      onRetry: (event) => this.events.emit('retry', event),
    };
  }

  private connect(): Promise<FlashSession> {
    const { connector, port, settings } = this.options;
    return withDeadline(
      {
        clock: this.clock,
        timeoutMs: this.timeouts.connect,
        signal: this.signal,
        what: 'Connecting to the board',
        discard: (late: FlashSession) => void late.close().catch(() => undefined),
      },
      (signal) => {
        const rate = settings?.baudRate;
        const baudRate = rate === 'auto' && connector.autoBaud !== true ? undefined : rate;
        return (connector as ProtocolDriver<Port, BaudSetting>).connect(port, {
          clock: this.clock,
          logger: this.log.child(connector.id),
          signal,
          baudRate,
        });
      },
    );
  }

  /**
   * Brings the conversation back after a failed attempt: `resync()` first; when the board does
   * not answer that (it restarted, or lost the line speed), close and connect again — the
   * driver's reset sequence puts it back into the bootloader — and check it is the same board.
   */
  private async recover(): Promise<void> {
    const old = this.session;
    // No session: the reconnect of an earlier attempt failed, so connect again straight away.
    if (old) {
      try {
        await this.deadline('resync', 'Resynchronising', (s) => old.resync(s));
        return;
      } catch (err) {
        const e = asJobError(err);
        if (this.signal.aborted) throw abortReason(this.signal, e);
        if (!isRetryable(e) && e.code !== 'protocol.no-sync') throw e;
        this.log.warn(`The board did not answer a resync (${e.message}); connecting again.`);
      }
      await this.closeSession(old);
      this.session = undefined;
    }
    const fresh = await this.connect();
    this.session = fresh;
    requireSameBoard(this.board!, fresh.identity);
    this.log.info(`Connected again: ${fresh.identity.name}`);
  }

  private async readInstalled(): Promise<InstalledFirmware | undefined> {
    const session = this.requireSession();
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
      const e = asJobError(err);
      if (this.signal.aborted) throw abortReason(this.signal, e);
      if (!isRetryable(e)) throw e;
      this.log.warn(`Could not read the installed firmware (${e.message}); continuing without it.`);
      await this.recover();
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

  /** The face's own rules for the plan (`checkPlan`), before anything is erased or written. */
  private async checkPlan(
    plan: FlashPlan,
    identity: DeviceIdentity,
    installed: InstalledFirmware | undefined,
  ): Promise<void> {
    const check = this.options.checkPlan;
    if (!check) return;
    const board = { identity, installed, port: portInfoOf(this.options.port) };
    await this.deadline('check', 'Checking the plan', async () => {
      try {
        await check(plan, board);
      } catch (err) {
        throw asWebflashError(err, 'usage.invalid-argument');
      }
    });
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
      this.log.error(`Could not record the installed release: ${asJobError(err).message}`);
    }
  }

  private async eraseAll(): Promise<void> {
    const session = this.requireSession();
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

  /** Restarts the board. Failing to is not a failure of the job: it returns a notice instead. */
  private async reset(): Promise<string | undefined> {
    const session = this.requireSession();
    try {
      await this.deadline('reset', 'Restarting the board', () => session.reset());
      this.log.info('The board is starting the new firmware.');
      return undefined;
    } catch (err) {
      const e = asJobError(err);
      if (this.signal.aborted) throw abortReason(this.signal, e);
      // The bootloader refused the new firmware at the restart (MCUboot): the update failed.
      if (e instanceof VerificationError) throw e;
      if (e.code === 'transport.device-lost') {
        // USB-native boards leave the bus when they restart: that is the reset working.
        this.log.info('The board left the bus while restarting.');
        return undefined;
      }
      this.log.warn(`The board did not restart by itself (${e.message}).`);
      return 'The firmware is written and verified, but the board did not restart by itself. Press RESET (or unplug and replug it) to start the new firmware.';
    }
  }

  private onDriverProgress(p: WriteProgress, index: number, attempt: number): void {
    const tracker = this.progress;
    if (!tracker) return;
    const phase = transferPhaseOf(p);
    if (phase !== this.current && !finalPhases.has(this.current)) this.setPhase(phase);
    this.events.emit('progress', tracker.update({ phase, index, bytesDone: p.bytesDone, attempt }));
  }

  /** The deadline of one write or verify attempt, scaled to the region's size. */
  private transferDeadline(
    region: FlashRegion,
    verb: string,
    step: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const baud = this.options.settings?.baudRate;
    const timeoutMs = transferTimeoutMs(region.data.length, baud, this.timeouts);
    const what = `${verb} ${region.name}`;
    return withDeadline({ clock: this.clock, timeoutMs, signal: this.signal, what }, step);
  }

  private deadline<T>(
    which: keyof PhaseTimeouts,
    what: string,
    step: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = this.timeouts[which];
    return withDeadline({ clock: this.clock, timeoutMs, signal: this.signal, what }, step);
  }

  private failure(err: unknown, t0: number): JobFailure {
    const cancelled = this.signal.aborted;
    const error = cancelled ? abortReason(this.signal, err) : asJobError(err);
    const phase = this.current;
    const identity = this.session?.identity ?? this.board;
    const recovery =
      this.options.advise?.({
        phase,
        error,
        cancelled,
        flashTouched: this.flashTouched,
        protocol: identity?.protocol ?? this.options.connector.id,
      }) ?? '';
    if (cancelled) this.log.warn(`Cancelled while ${phase}.`);
    else this.log.error(`Failed while ${phase}: ${error.message}`);
    const durationMs = this.clock.now() - t0;
    const { flashTouched } = this;
    const failure: JobFailure = {
      ...{ ok: false, cancelled, error, phase, recovery, flashTouched, durationMs },
      ...(identity ? { identity } : {}),
    };
    return failure;
  }

  /** Closes a session under a deadline of its own (the job's signal may have fired already). */
  private async closeSession(session: FlashSession): Promise<void> {
    await closeWithDeadline(
      { clock: this.clock, timeoutMs: this.timeouts.reset, log: this.log },
      () => session.close(),
    );
  }

  private requireSession(): FlashSession {
    if (!this.session) throw new UsageError('FlashJob: no open session');
    return this.session;
  }

  private setPhase(phase: JobPhase): void {
    if (phase === this.current) return;
    const previous = this.current;
    this.current = phase;
    if (isTransferPhase(phase)) this.progress?.enter(phase);
    this.events.emit('phase', { phase, previous, time: this.clock.now() });
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw abortReason(this.signal);
  }
}
