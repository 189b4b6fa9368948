/**
 * A small in-memory FlashSession for engine tests: a flat flash array, blocks that take a fixed
 * virtual time, and a script of faults that each fire once at a chosen place.
 */
import { sleep, type Clock } from '../../src/core/clock.ts';
import { AbortError, TimeoutError, VerificationError } from '../../src/core/errors.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import type {
  DeltaUnit,
  DeviceIdentity,
  FlashRange,
  FlashRegion,
  FlashSession,
  InstalledFirmware,
  WriteOptions,
} from '../../src/protocols/driver.ts';
import type { ConnectOptions, Connector } from '../../src/job/types.ts';

export type FaultOp =
  'connect' | 'readInstalled' | 'compare' | 'write' | 'verify' | 'resync' | 'reset' | 'eraseAll';

export interface Fault {
  op: FaultOp;
  region?: string;
  /** For write/verify: fire when the block starting at this byte is about to be done. */
  atByte?: number;
  /** Thrown when the fault fires. `confirmedBytes` is added for write faults unless `bare`. */
  error?: () => Error;
  bare?: boolean;
  /** Never settle; with `ignoreSignal` not even when the signal fires. */
  hang?: boolean;
  ignoreSignal?: boolean;
  /** For verify: corrupt the stored flash of the region before verifying (a real mismatch). */
  corrupt?: boolean;
  /** Fire again every time instead of once. */
  repeat?: boolean;
}

export interface FakeSessionOptions {
  clock: Clock;
  identity?: Partial<DeviceIdentity>;
  flashSize?: number;
  blockSize?: number;
  msPerBlock?: number;
  installed?: InstalledFirmware;
  faults?: Fault[];
  withEraseAll?: boolean;
  /**
   * Offer delta updates: `compareUnits` compares the fake flash block by block (a quarter of
   * `msPerBlock` each), reporting compare progress; 'decline' answers that it does not compare.
   */
  withDelta?: boolean | 'decline';
  /** What the session reports as its memory (src/job/placement.ts); default: not reported. */
  flashRanges?: FlashRange[];
}

export interface WriteCall {
  region: string;
  resumeFrom: number | undefined;
}

export class FakeSession implements FlashSession {
  identity: DeviceIdentity;
  readonly flash: Uint8Array;
  readonly calls: string[] = [];
  readonly writes: WriteCall[] = [];
  /** The `resumeFrom` of every verify call. */
  readonly verifies: WriteCall[] = [];
  closed = false;
  closeCount = 0;
  /** Operations in progress (to check nothing is left running after close). */
  active = 0;
  flashRanges?: FlashRange[];
  readInstalledFirmware?: (signal?: AbortSignal) => Promise<InstalledFirmware | undefined>;
  eraseAll?: (options: { signal?: AbortSignal | undefined }) => Promise<void>;
  compareUnits?: (region: FlashRegion, options: WriteOptions) => Promise<DeltaUnit[] | undefined>;
  private readonly clock: Clock;
  private readonly blockSize: number;
  private readonly msPerBlock: number;
  readonly faults: Fault[];

  constructor(options: FakeSessionOptions) {
    this.clock = options.clock;
    this.identity = {
      protocol: 'esp-serial',
      chip: 'esp32s3',
      name: 'ESP32-S3 (fake)',
      ...options.identity,
    };
    this.flash = new Uint8Array(options.flashSize ?? 0x40000).fill(0xff);
    this.blockSize = options.blockSize ?? 1024;
    this.msPerBlock = options.msPerBlock ?? 100;
    this.faults = [...(options.faults ?? [])];
    if (options.flashRanges) this.flashRanges = options.flashRanges;
    if (options.installed !== undefined) {
      const installed = options.installed;
      this.readInstalledFirmware = async (signal) => {
        this.calls.push('readInstalled');
        await this.maybeFault('readInstalled', undefined, undefined, signal);
        return installed;
      };
    }
    if (options.withDelta) {
      const decline = options.withDelta === 'decline';
      this.compareUnits = async (region, { signal, onProgress }) => {
        this.calls.push(`compare:${region.name}`);
        if (decline) return undefined;
        const units: DeltaUnit[] = [];
        const bytesTotal = region.data.length;
        for (let start = 0; start < bytesTotal; start += this.blockSize) {
          await this.maybeFault('compare', region.name, start, signal);
          await sleep(this.clock, this.msPerBlock / 4, signal);
          const end = Math.min(bytesTotal, start + this.blockSize);
          const have = this.flash.subarray(region.address + start, region.address + end);
          const unchanged = have.every((b, i) => b === region.data[start + i]);
          units.push({ start, end, unchanged });
          onProgress?.({ phase: 'compare', region: region.name, bytesDone: end, bytesTotal });
        }
        return units;
      };
    }
    if (options.withEraseAll) {
      this.eraseAll = async ({ signal }) => {
        this.calls.push('eraseAll');
        await this.maybeFault('eraseAll', undefined, undefined, signal);
        await sleep(this.clock, 1000, signal);
        this.flash.fill(0xff);
      };
    }
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    this.calls.push(`write:${region.name}`);
    this.writes.push({ region: region.name, resumeFrom: options.resumeFrom });
    this.assertOpen();
    const { data } = region;
    const start = Math.floor((options.resumeFrom ?? 0) / this.blockSize) * this.blockSize;
    this.active++;
    try {
      for (let off = start; off < data.length; off += this.blockSize) {
        await this.maybeFault('write', region.name, off, options.signal, off);
        await sleep(this.clock, this.msPerBlock, options.signal);
        const end = Math.min(data.length, off + this.blockSize);
        this.flash.set(data.subarray(off, end), region.address + off);
        options.onProgress?.({
          phase: 'write',
          region: region.name,
          bytesDone: end,
          bytesTotal: data.length,
        });
      }
    } finally {
      this.active--;
    }
  }

  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    this.calls.push(`verify:${region.name}`);
    this.verifies.push({ region: region.name, resumeFrom: options.resumeFrom });
    this.assertOpen();
    this.active++;
    try {
      const { data } = region;
      for (let off = 0; off < data.length; off += this.blockSize) {
        await this.maybeFault('verify', region.name, off, options.signal);
        await sleep(this.clock, this.msPerBlock / 4, options.signal);
        const end = Math.min(data.length, off + this.blockSize);
        options.onProgress?.({
          phase: 'verify',
          region: region.name,
          bytesDone: end,
          bytesTotal: data.length,
        });
      }
      const stored = this.flash.subarray(region.address, region.address + data.length);
      if (!equalBytes(stored, data)) {
        throw new VerificationError(`${region.name}: flash content differs`);
      }
    } finally {
      this.active--;
    }
  }

  async resync(signal?: AbortSignal): Promise<void> {
    this.calls.push('resync');
    this.assertOpen();
    await this.maybeFault('resync', undefined, undefined, signal);
    await sleep(this.clock, 50, signal);
  }

  async reset(): Promise<void> {
    this.calls.push('reset');
    this.assertOpen();
    await this.maybeFault('reset', undefined, undefined, undefined);
  }

  /** Opens the session again (the connector hands out the same board on a reconnect). */
  reopen(): void {
    this.closed = false;
    this.calls.push('open');
  }

  async close(): Promise<void> {
    this.calls.push('close');
    this.closeCount++;
    this.closed = true;
    this.wakeHangs();
  }

  private hangs: (() => void)[] = [];

  private wakeHangs(): void {
    for (const wake of this.hangs.splice(0)) wake();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('FakeSession: used after close');
  }

  private async maybeFault(
    op: FaultOp,
    region: string | undefined,
    at: number | undefined,
    signal: AbortSignal | undefined,
    confirmed?: number,
  ): Promise<void> {
    const i = this.faults.findIndex(
      (f) =>
        f.op === op &&
        (f.region === undefined || f.region === region) &&
        (f.atByte === undefined ||
          (at !== undefined && at <= f.atByte && f.atByte < at + this.blockSize)),
    );
    if (i < 0) return;
    const fault = this.faults[i]!;
    if (!fault.repeat) this.faults.splice(i, 1);
    if (fault.corrupt && region !== undefined) {
      const addr = this.regionAddress.get(region);
      if (addr !== undefined) this.flash[addr] = (this.flash[addr] ?? 0) ^ 0x55;
    }
    if (fault.hang) {
      await new Promise<void>((_resolve, reject) => {
        // Closing the session ends even a hang that ignores its signal, like a closed port would.
        this.hangs.push(() => reject(new Error('FakeSession: closed while waiting')));
        if (!fault.ignoreSignal && signal) {
          if (signal.aborted) reject(new AbortError());
          signal.addEventListener('abort', () => reject(new AbortError()), { once: true });
        }
      });
    }
    if (fault.error) {
      const err = fault.error();
      if (op === 'write' && confirmed !== undefined && !fault.bare) {
        Object.assign(err, { confirmedBytes: confirmed });
      }
      throw err;
    }
  }

  /** Region addresses, for `corrupt` faults; set by the test through `placeRegions`. */
  readonly regionAddress = new Map<string, number>();

  placeRegions(regions: readonly FlashRegion[]): void {
    for (const r of regions) this.regionAddress.set(r.name, r.address);
  }
}

/** A connector handing out `session` after `connectMs`, with optional connect faults. */
export class FakeConnector implements Connector<unknown> {
  readonly id = 'esp-serial' as const;
  connects = 0;
  lastOptions: ConnectOptions | undefined;

  constructor(
    private readonly session: FakeSession,
    private readonly options: {
      clock: Clock;
      connectMs?: number;
      hang?: boolean;
      error?: () => Error;
      /** Connect calls (1 = the first) that fail with a TimeoutError. */
      failOn?: readonly number[];
      /** Identity the board reports from the second connect on. */
      identityOnReconnect?: Partial<DeviceIdentity>;
    },
  ) {}

  async connect(_port: unknown, options: ConnectOptions): Promise<FlashSession> {
    this.connects++;
    this.lastOptions = options;
    if (this.options.hang) {
      await new Promise<never>(() => undefined);
    }
    await sleep(this.options.clock, this.options.connectMs ?? 200, options.signal);
    if (this.options.error) throw this.options.error();
    if (this.options.failOn?.includes(this.connects)) throw new TimeoutError('SYNC reply', 100);
    if (this.connects > 1) {
      this.session.reopen();
      const next = this.options.identityOnReconnect;
      if (next) this.session.identity = { ...this.session.identity, ...next };
    }
    return this.session;
  }
}
