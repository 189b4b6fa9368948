/**
 * The contract every bootloader protocol offers the flash engine (src/job). A protocol folder
 * (src/protocols/esp, src/protocols/stm32, src/protocols/dfu…) exports one `ProtocolDriver`;
 * the engine knows nothing else about it. Adding a protocol means a transport adapter (if new),
 * a protocol folder with a driver, and a simulator — nothing in the engine changes.
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { BaudSetting } from './link-speed.ts';

/** Protocol ids, as named in bundle manifests (`targets[].protocol`). */
export type ProtocolId =
  | 'esp-serial'
  | 'stm32-usart'
  | 'dfu'
  | 'dfuse'
  | 'avr-stk500v1'
  | 'avr-stk500v2'
  | 'avr109'
  | 'mcuboot-smp';

/** What the board says about itself once connected. Shown in the technician's device panel. */
export interface DeviceIdentity {
  protocol: ProtocolId;
  /** Machine id of the chip, as used in bundle targets: "esp32s3", "stm32f4"… */
  chip: string;
  /** Human name: "ESP32-S3 (revision v0.2)". */
  name: string;
  revision?: string;
  /** MAC address or unique id, when the bootloader can tell. */
  uniqueId?: string;
  /** Flash size in bytes, when known. */
  flashSize?: number;
  bootloaderVersion?: string;
  /** Extra facts for the details panel: label → value. */
  details?: Record<string, string>;
}

/** What the board reports of the firmware it runs now (for rollback checks), when readable. */
export interface InstalledFirmware {
  project?: string;
  version?: string;
  /** Anti-rollback counter the firmware was built with (ESP `secure_version`). */
  securityVersion?: number;
}

/** One contiguous image to place in flash. */
export interface FlashRegion {
  /** Image name from the bundle, for progress and logs. */
  name: string;
  address: number;
  /** DFU alternate setting / slot, for protocols that address images by slot, not address. */
  slot?: number;
  /** 'mcuboot-smp': who confirms the image after its first boot (the bundle target's `confirm`). */
  confirm?: 'host' | 'application';
  data: Uint8Array;
}

type WritePhase = 'compare' | 'erase' | 'write' | 'verify';

export interface WriteProgress {
  phase: WritePhase;
  region: string;
  /**
   * Image bytes (uncompressed) confirmed written so far in this region; in `compare`, image
   * bytes whose comparison is settled (found unchanged or changed).
   */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes sent over the link so far in this region (compressed, framed). */
  wireBytes?: number;
}

export interface SessionOptions {
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

export interface WriteOptions {
  signal?: AbortSignal | undefined;
  onProgress?: (p: WriteProgress) => void;
  /**
   * Number of image bytes already confirmed on the board from an earlier attempt; the driver
   * resumes at the first block boundary at or below it. In `verify`: the bytes an earlier
   * attempt already found equal, which a driver that compares block by block may skip (its
   * verify progress must then count only bytes it has compared).
   */
  resumeFrom?: number;
}

/** One address range of the board's writable memory, as the driver detected it. */
export interface FlashRange {
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** "SPI flash", "Internal Flash"… for messages. */
  readonly name: string;
}

/** An open, synchronised conversation with one board's bootloader. */
export interface FlashSession {
  readonly identity: DeviceIdentity;
  /**
   * Where images may go on this board, as detected (flash id, chip table, DfuSe memory layout).
   * The engine refuses a plan with a region outside every range before erasing anything
   * (src/job/placement.ts). Absent when the driver cannot know (slot-addressed DFU 1.1, an ESP
   * whose flash id did not answer).
   */
  readonly flashRanges?: readonly FlashRange[];
  /** Reads what the board runs now, when the protocol allows it; `undefined` otherwise. */
  readInstalledFirmware?(signal?: AbortSignal): Promise<InstalledFirmware | undefined>;
  /**
   * Refuses a plan the board cannot take before anything is written (e.g. an image over an AVR
   * bootloader's boot section); the engine calls it once with every region, when present.
   */
  checkPlan?(regions: readonly FlashRegion[]): void;
  /**
   * Writes one region. On failure it throws; the error's `confirmedBytes` property (when
   * present, see `ResumableError`) tells the engine where a retry may resume.
   */
  write(region: FlashRegion, options: WriteOptions): Promise<void>;
  /**
   * Delta updates (optional): which erase units of a planned write already hold what writing
   * them would leave, found by digest (MD5, CRC, image hash) or by reading back. The units
   * cover `region.data` in order without gaps, each clipped to the image; one at an edge of the
   * image is `unchanged` only when its whole erase unit is, bytes outside the image included
   * (as the driver's write would leave them: erased, or kept). Writing a part of the region
   * that starts and ends on unit boundaries erases and writes only those units.
   * Returns `undefined` when the driver does not compare: it cannot read or hash the flash, or
   * its cost model says comparing costs more than erasing and writing (see `worthComparing`).
   * Any doubt (a reply it cannot parse) throws; it never reports a unit unchanged unsure.
   * While it reads or hashes, it reports `phase: 'compare'` progress through `onProgress`: the
   * image bytes settled so far, never decreasing, up to `region.data.length`.
   */
  compareUnits?(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[] | undefined>;
  /** Compares the region on the board with `region.data` (read-back, MD5 or CRC). */
  verify(region: FlashRegion, options: WriteOptions): Promise<void>;
  /** Brings the link back to a known state after a timeout or garbled reply. */
  resync(signal?: AbortSignal): Promise<void>;
  /** Starts the new firmware. */
  reset(): Promise<void>;
  /** Releases the link; idempotent. */
  close(): Promise<void>;
}

/** One erase unit of a planned write, as byte offsets into the region's data. */
export interface DeltaUnit {
  /** First image byte in this unit (offset into `region.data`). */
  start: number;
  /** One past the last image byte in this unit. */
  end: number;
  /** The board already holds what a write of this unit would leave: it is skipped. */
  unchanged: boolean;
}

/**
 * The share of erase units a delta update usually leaves unchanged (a delta update changes a
 * few blocks, and rewriting an identical image must cost next to nothing): the delta cost
 * models' assumption (`worthComparing`, the ESP block size in esp/delta.ts).
 */
export const EXPECTED_UNCHANGED = 0.9;

/**
 * The delta cost model shared by the drivers: compare only when reading or hashing a unit
 * costs less than the erase and write it may save, weighted by the share of units an update
 * usually leaves unchanged (`expectedUnchanged`, default `EXPECTED_UNCHANGED`). With p the share unchanged, the
 * delta costs compare + (1 − p)·(erase + write) against erase + write for a full write, so it
 * pays when compare < p·(erase + write).
 * @example worthComparing({ compareMs: 90, eraseWriteMs: 115 }) // true
 */
export function worthComparing(cost: {
  compareMs: number;
  eraseWriteMs: number;
  expectedUnchanged?: number;
}): boolean {
  return cost.compareMs < (cost.expectedUnchanged ?? EXPECTED_UNCHANGED) * cost.eraseWriteMs;
}

/**
 * What the engine passes to a driver's connect function. `Rate`: what `baudRate` may be — a
 * `BaudSetting` from the engine; a number for a driver that does not take 'auto' (the registry
 * resolves 'auto' for it).
 */
export interface ConnectOptions<Rate extends BaudSetting = BaudSetting> extends SessionOptions {
  /**
   * The line speed to flash at, when the protocol can change it; 'auto': the fastest the port's
   * adapter and the bootloader carry (link-speed.ts).
   */
  baudRate?: Rate | undefined;
  /** The job's own signal, always set. */
  signal: AbortSignal;
}

/**
 * Opens a session on a port: the only part of a protocol the engine needs up front. `Port` is
 * what the protocol connects through (a SerialPortHandle, a UsbDeviceHandle). The protocol
 * registry (registry.ts) builds one per job.
 */
export interface ProtocolDriver<Port, Rate extends BaudSetting = number> {
  /** The protocol id, as in bundle targets. */
  readonly id: ProtocolId;
  /**
   * The driver takes `baudRate: 'auto'` (the registry's drivers, the ESP and STM32 drivers).
   * The engine hands any other driver its default rate instead.
   */
  readonly autoBaud?: boolean;
  connect(port: Port, options: ConnectOptions<Rate>): Promise<FlashSession>;
}

/** Marks an error that happened mid-write, carrying how far the board is known to be good. */
export interface ResumableError {
  confirmedBytes: number;
}

export function confirmedBytesOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'confirmedBytes' in err) {
    const n = (err as ResumableError).confirmedBytes;
    return typeof n === 'number' ? n : undefined;
  }
  return undefined;
}
