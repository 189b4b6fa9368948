/**
 * What `webflash flash` and `webflash bench` print while a job runs, in three forms: a live
 * progress bar with bytes, rate and ETA on a terminal; plain lines otherwise (logs, CI); and one
 * JSON object per line with `--json`. Also the exit code of each outcome (io.ts `EXIT`).
 */
import { BundleError } from '../bundle/errors.ts';
import { createLogger, type LogEntry, type Logger } from '../core/log.ts';
import type { JobListeners } from '../job/runner.ts';
import type { JobResult, ProgressEvent } from '../job/types.ts';
import { EXIT } from './io.ts';

export type OutputMode = 'tty' | 'plain' | 'json';

/** Phases without a line of their own: final ones, and those whose progress lines say it. */
const QUIET_PHASES: ReadonlySet<string> = new Set([
  'idle',
  'done',
  'failed',
  'cancelled',
  'comparing',
  'erasing',
  'writing',
  'verifying',
]);

/**
 * The exit code of a finished job.
 * @example exitCodeFor({ ok: false, cancelled: true, … }) // EXIT.cancelled
 */
export function exitCodeFor(result: JobResult): number {
  if (result.ok) return EXIT.ok;
  if (result.cancelled) return EXIT.cancelled;
  const { error } = result;
  if (error instanceof BundleError) {
    return error.reason === 'target.mismatch' ? EXIT.wrongBoard : EXIT.rejected;
  }
  const code = error.code;
  if (code === 'protocol.wrong-chip' || code.startsWith('plan.')) return EXIT.wrongBoard;
  if (code === 'transport.device-lost') return EXIT.deviceLost;
  if (
    code.startsWith('protocol.') ||
    code.startsWith('framing.') ||
    code === 'timeout' ||
    code === 'verify.mismatch'
  ) {
    return EXIT.protocol;
  }
  return EXIT.failure;
}

/** The name of an exit code, for `--json` results and messages. */
export function outcomeName(code: number): string {
  const entry = Object.entries(EXIT).find(([, v]) => v === code);
  return entry ? entry[0] : 'failure';
}

const KIB = 1024;

/** "1.2 MiB", "35.0 KiB", "512 B". */
function formatBytes(n: number): string {
  if (n >= KIB * KIB) return `${(n / KIB / KIB).toFixed(1)} MiB`;
  if (n >= KIB) return `${(n / KIB).toFixed(1)} KiB`;
  return `${n} B`;
}

function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--:--';
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** One progress bar line: `writing app  [#####.....]  52%  96.0/182.4 KiB  45.1 KiB/s  ETA 0:02`. */
export function progressLine(p: ProgressEvent, width: number): string {
  const rate = p.bytesPerSecond ? `  ${formatBytes(p.bytesPerSecond)}/s` : '';
  const tail = `${p.percent.toFixed(0).padStart(3)}%  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}${rate}  ETA ${formatEta(p.etaMs)}`;
  const head = `${p.phase} ${p.region}`;
  const barWidth = Math.max(10, Math.min(40, width - head.length - tail.length - 8));
  const filled = Math.round((p.percent / 100) * barWidth);
  return `${head}  [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]  ${tail}`;
}

export interface JobPrinterOptions {
  mode: OutputMode;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Terminal width (tty mode). */
  columns?: number | undefined;
  /** Put before every line (the bench's board name); also the `board` field in JSON. */
  board?: string | undefined;
  /** Print info log lines too (warnings and errors are always printed). */
  verbose?: boolean | undefined;
  /** Milliseconds between progress lines in JSON mode; default 250. */
  jsonProgressMs?: number | undefined;
  now?: () => number;
}

/** Turns job events into output lines. */
export class JobPrinter {
  /** Last 10 % step printed per phase (the ESP driver alternates erasing and writing). */
  private readonly plainSteps = new Map<string, number>();
  private lastJsonAt = -Infinity;
  private lastJsonPhase: string | undefined;
  private barShown = false;
  private readonly now: () => number;

  constructor(private readonly options: JobPrinterOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Writes one JSON event line (json mode). */
  json(event: string, fields: Record<string, unknown>): void {
    const board = this.options.board === undefined ? {} : { board: this.options.board };
    this.options.out(`${JSON.stringify({ event, ...board, ...fields })}\n`);
  }

  /** Writes a line for a person (tty and plain modes); nothing in json mode. */
  line(text: string, stream: 'out' | 'err' = 'out'): void {
    if (this.options.mode === 'json') return;
    this.clearBar();
    const prefix = this.options.board === undefined ? '' : `${this.options.board}  `;
    this.options[stream](`${prefix}${text}\n`);
  }

  private clearBar(): void {
    if (this.barShown) {
      this.options.out('\r\x1b[2K');
      this.barShown = false;
    }
  }

  /** Listeners for `runFlashJob`. */
  listeners(): JobListeners {
    const { mode } = this.options;
    return {
      phase: (e) => {
        if (mode === 'json') this.json('phase', { phase: e.phase });
        else if (!QUIET_PHASES.has(e.phase)) this.line(`${e.phase}…`);
      },
      device: (d) => {
        if (mode === 'json') this.json('device', { identity: d });
        else this.line(`board: ${d.name}${d.uniqueId ? `, ${d.uniqueId}` : ''}`);
      },
      installed: (f) => {
        if (mode === 'json') this.json('installed', { firmware: f });
      },
      retry: (r) => {
        if (mode === 'json') {
          this.json('retry', {
            region: r.region,
            phase: r.phase,
            attempt: r.attempt,
            resumeFrom: r.resumeFrom,
            code: r.error.code,
          });
        } else
          this.line(
            `retrying ${r.region} (attempt ${r.attempt}) from byte ${r.resumeFrom}: ${r.error.message}`,
            'err',
          );
      },
      progress: (p) => this.progress(p),
    };
  }

  private progress(p: ProgressEvent): void {
    const { mode } = this.options;
    if (mode === 'json') {
      const t = this.now();
      // The first and the last event of a phase always go out, so a short phase shows too.
      const edge = p.bytesDone >= p.bytesTotal || p.phase !== this.lastJsonPhase;
      if (!edge && t - this.lastJsonAt < (this.options.jsonProgressMs ?? 250)) return;
      this.lastJsonAt = t;
      this.lastJsonPhase = p.phase;
      this.json('progress', {
        phase: p.phase,
        region: p.region,
        bytesDone: p.bytesDone,
        bytesTotal: p.bytesTotal,
        percent: Math.round(p.percent * 10) / 10,
        bytesPerSecond: p.bytesPerSecond === undefined ? null : Math.round(p.bytesPerSecond),
        etaMs: p.etaMs === undefined ? null : Math.round(p.etaMs),
      });
      return;
    }
    if (mode === 'tty' && this.options.board === undefined) {
      this.options.out(`\r\x1b[2K${progressLine(p, this.options.columns ?? 80)}`);
      this.barShown = true;
      return;
    }
    // Plain lines: one per 10 % step of each phase.
    const step = Math.floor(p.percent / 10) * 10;
    if (step <= (this.plainSteps.get(p.phase) ?? -1)) return;
    this.plainSteps.set(p.phase, step);
    const rate = p.bytesPerSecond ? `, ${formatBytes(p.bytesPerSecond)}/s` : '';
    this.line(
      `${p.phase} ${step}% (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}${rate})`,
    );
  }

  /**
   * A logger that prints through this printer: the job's, the drivers' (the engine hands its
   * entries on to it) and the serial adapter's.
   */
  logger(now: () => number): Logger {
    return createLogger((entry) => this.log(entry), now, 'cli');
  }

  private log(entry: LogEntry): void {
    const { mode, verbose } = this.options;
    if (entry.level === 'debug' || (entry.level === 'info' && !verbose)) return;
    if (mode === 'json') {
      this.json('log', { level: entry.level, source: entry.source, message: entry.message });
    } else this.line(`${entry.level}: ${entry.message}`, 'err');
  }

  /** Prints how a job ended; returns its exit code. */
  result(result: JobResult, extra: Record<string, unknown> = {}): number {
    const code = exitCodeFor(result);
    if (this.options.mode === 'json') {
      this.json('result', {
        ok: result.ok,
        exitCode: code,
        outcome: outcomeName(code),
        durationMs: Math.round(result.durationMs),
        ...(result.ok
          ? { identity: result.identity, regions: result.regions, notice: result.notice ?? null }
          : {
              cancelled: result.cancelled,
              code: result.error.code,
              ...(result.error instanceof BundleError ? { reason: result.error.reason } : {}),
              message: result.error.message,
              phase: result.phase,
              flashTouched: result.flashTouched,
              recovery: result.recovery,
            }),
        ...extra,
      });
      return code;
    }
    this.clearBar();
    const secs = (result.durationMs / 1000).toFixed(1);
    if (result.ok) {
      const bytes = result.regions.reduce((n, r) => n + r.bytes, 0);
      this.line(`verified: ${formatBytes(bytes)} written and verified in ${secs} s`);
      if (result.notice) this.line(result.notice);
    } else {
      const reason = result.error instanceof BundleError ? ` ${result.error.reason}` : '';
      const what = result.cancelled ? 'cancelled' : `failed [${result.error.code}${reason}]`;
      this.line(`${what} after ${secs} s: ${result.error.message}`, 'err');
      for (const hint of result.error.hints) this.line(`  ${hint}`, 'err');
      if (result.recovery) this.line(result.recovery, 'err');
    }
    return code;
  }
}
