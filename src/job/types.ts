/**
 * The engine's public vocabulary: phases, events, options and the final result. Everything here
 * is plain data so the store can keep it and the CLI can print it.
 */
import type { RecoveryContext } from './recovery.ts';
import type { Clock } from '../core/clock.ts';
import type { WebflashError } from '../core/errors.ts';
import type { LogEntry, Logger } from '../core/log.ts';
import type { DeviceIdentity, InstalledFirmware, ProtocolDriver } from '../protocols/driver.ts';
import type { BaudSetting } from '../protocols/link-speed.ts';
import type { BoardFacts, FlashPlan, FlashSource } from './source.ts';

/** Where a job is. `done`, `failed` and `cancelled` are final. */
export type JobPhase =
  | 'idle'
  | 'connecting'
  | 'identifying'
  | 'checking'
  | 'comparing'
  | 'erasing'
  | 'writing'
  | 'verifying'
  | 'resetting'
  | 'done'
  | 'failed'
  | 'cancelled';

/**
 * The phases in which bytes move and progress is reported. `comparing` (a delta update asks the
 * board which erase units it already holds) comes before each region's write.
 */
export type TransferPhase = 'comparing' | 'erasing' | 'writing' | 'verifying';

interface PhaseEvent {
  phase: JobPhase;
  previous: JobPhase;
  /** Milliseconds on the job's clock. */
  time: number;
}

export interface ProgressEvent {
  phase: TransferPhase;
  /** Image name of the region being worked on. */
  region: string;
  /** 0-based index of the region and how many there are. */
  regionIndex: number;
  regionCount: number;
  /**
   * Image bytes done in this phase over all regions, and the phase's total. It does not go back
   * when a retry resumes a little before where the last attempt got to; it does go back when a
   * region that failed verification is written again from the start.
   */
  bytesDone: number;
  bytesTotal: number;
  /** The same for the current region alone. */
  regionBytesDone: number;
  regionBytesTotal: number;
  /** `bytesDone / bytesTotal` as 0…100. */
  percent: number;
  /** Smoothed rate of image bytes per second; `undefined` until measurable. */
  bytesPerSecond: number | undefined;
  /** Milliseconds left in this phase at the smoothed rate; `undefined` while unknown. */
  etaMs: number | undefined;
  /** 1 on the first try of this region, 2 after the first retry… */
  attempt: number;
}

export interface RetryEvent {
  region: string;
  phase: TransferPhase;
  /** The attempt that is about to start (2 for the first retry). */
  attempt: number;
  /** Failed attempts in a row without new confirmed bytes that end the job. */
  maxAttempts: number;
  /** Attempts in all after which the job ends, progress or not. */
  maxAttemptsTotal: number;
  /** Failed attempts in a row that confirmed no new bytes, the last one included. */
  attemptsWithoutProgress: number;
  /** What went wrong in the previous attempt. */
  error: WebflashError;
  /** Image bytes the board confirmed; the next attempt continues from here. */
  resumeFrom: number;
  /** Pause before the next attempt, in milliseconds. */
  delayMs: number;
}

/** A region as it ended up on the board. */
export interface RegionReport {
  name: string;
  address: number;
  bytes: number;
  /** Write attempts it took (1 when nothing went wrong). */
  attempts: number;
  verified: boolean;
  /** Delta update: erase units the board already held (skipped) of all units; absent when not compared. */
  delta?: DeltaFigure;
}

/** "n of m blocks unchanged": erase units skipped by a delta update, of all units compared. */
export interface DeltaFigure {
  unchanged: number;
  total: number;
}

export interface JobSuccess {
  ok: true;
  identity: DeviceIdentity;
  regions: RegionReport[];
  /** Delta update over all regions that were compared; absent when none was (delta off…). */
  delta?: DeltaFigure;
  /** Milliseconds from start to finish on the job's clock. */
  durationMs: number;
  /**
   * Set when the firmware is written and verified but something after that needs a person,
   * e.g. the board did not restart by itself.
   */
  notice?: string;
}

export interface JobFailure {
  ok: false;
  /** True when the job stopped because its AbortSignal fired. */
  cancelled: boolean;
  error: WebflashError;
  /** The phase the job was in when it stopped. */
  phase: JobPhase;
  /**
   * How to get the board back into a good state, in plain language: what `advise` said (the
   * technician console and the bench pass `recoveryAdvice`); empty without an advisor.
   */
  recovery: string;
  /** The board, if the job got far enough to identify it. */
  identity?: DeviceIdentity;
  /** True once any byte may have been written to flash. */
  flashTouched: boolean;
  durationMs: number;
}

export type JobResult = JobSuccess | JobFailure;

/** Everything a job emits. */
export interface JobEvents {
  phase: PhaseEvent;
  progress: ProgressEvent;
  log: LogEntry;
  /** The board identified itself. */
  device: DeviceIdentity;
  /** What the board reports it runs now (only when the protocol can tell). */
  installed: InstalledFirmware;
  retry: RetryEvent;
  /** Emitted once, last. */
  result: JobResult;
}

/** What the engine passes to a driver's connect function (src/protocols/driver.ts). */
export type { ConnectOptions } from '../protocols/driver.ts';

/**
 * Opens a session on a port: the only part of a protocol driver the engine needs up front
 * (src/protocols/driver.ts `ProtocolDriver`; the protocol registry builds them).
 */
/** A protocol driver; one without `autoBaud` never sees 'auto' (the engine passes no rate). */
export type Connector<Port> = ProtocolDriver<Port>;

/** `'regions'`: erase only what is written (the default). `'all'`: erase the whole chip first. */
export type EraseMode = 'regions' | 'all';

/** Per-phase overall deadlines, in milliseconds (backstops; drivers time out each command). */
export interface PhaseTimeouts {
  connect: number;
  identify: number;
  check: number;
  eraseAll: number;
  /** Added to the time the region takes at the link speed, per write or verify attempt. */
  transferBase: number;
  /** Multiplies the time the region would take at the link speed (10 bits per byte). */
  transferFactor: number;
  /** Bringing the link back in step after a failed attempt. */
  resync: number;
  reset: number;
}

/** Settings of one job. All optional. */
export interface JobSettings {
  /**
   * Line speed: a rate, or 'auto' for the fastest the port's adapter and the bootloader carry
   * (src/protocols/link-speed.ts). Default: the protocol's own default rate.
   */
  baudRate?: BaudSetting;
  eraseMode?: EraseMode;
  /** Read back / hash each region after writing; default true. */
  verify?: boolean;
  /** Start the new firmware at the end; default true. */
  reset?: boolean;
  /**
   * Delta update: before writing, ask the board which erase units already hold the image
   * (`FlashSession.compareUnits`) and erase and write only the others; default true. Off
   * writes every unit, as a full write.
   */
  delta?: boolean;
  /**
   * Failed attempts in a row, without new bytes confirmed, after which a region's write or
   * verify gives up; at least 1, default 3.
   */
  maxAttempts?: number;
  /**
   * Attempts per region in all, even while each makes progress (a delta update that writes a
   * region in parts counts them together); default 10.
   */
  maxAttemptsTotal?: number;
  /** First pause before a retry; doubles each time up to `retryMaxDelayMs`. Default 250 ms. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  timeouts?: Partial<PhaseTimeouts>;
}

export interface FlashJobOptions<Port> {
  port: Port;
  connector: Connector<Port>;
  /** What to write: a verified bundle target, or (only with `allowUnverified`) a raw image. */
  source: FlashSource;
  clock: Clock;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
  settings?: JobSettings;
  /**
   * Development only: lets a raw, unsigned image be written. Without it such a source is
   * refused before the port is touched.
   */
  allowUnverified?: boolean;
  /**
   * Recovery advice for a failed job (`JobFailure.recovery`), usually `recoveryAdvice`
   * (recovery.ts). Injected, so a face with words of its own (the customer updater) does not
   * carry the technician's.
   */
  advise?: (ctx: RecoveryContext) => string;
  /**
   * The face's own rules for what will be written (kept ranges, placement), run in the check
   * phase once the board has identified itself and the images are chosen, before anything is
   * erased or written. Throws to refuse; the job then fails with nothing touched.
   */
  checkPlan?: (plan: FlashPlan, board: BoardFacts) => void | Promise<void>;
}

/** A session that can erase the whole chip (optional capability of a driver). */
export interface ChipEraser {
  eraseAll(options: { signal?: AbortSignal | undefined }): Promise<void>;
}
