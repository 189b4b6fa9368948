/**
 * The 'dfuse' protocol driver: an STM32 system bootloader (or any DfuSe device) over USB, as a
 * `FlashSession` for the flash engine. Writes erase only the sectors an image touches (AN3156
 * §6.3 page erase) unless told to mass-erase, write with DfuSe addressing, verify by UPLOAD
 * read-back and start the application with "leave DFU" (AN3156 §6.5). Pure.
 */
import { ProtocolError } from '../../core/errors.ts';
import { hex32 } from '../../core/bytes.ts';
import { usbId, type UsbDeviceHandle } from '../../transport/usb.ts';
import type {
  FlashRange,
  DeltaUnit,
  DeviceIdentity,
  FlashRegion,
  FlashSession,
  SessionOptions,
  WriteOptions,
} from '../driver.ts';
import { DfuseClient } from './dfuse-client.ts';
import { compareSectors } from './dfuse-delta.ts';
import { chipFromFlashMap } from './dfuse-chips.ts';
import { parseMemoryLayout, sectorsTouched, type MemoryLayout } from './dfuse-layout.ts';
import { clientOptions, openDfu, type OpenedDfu } from './dfu-open.ts';
import { bcdVersion, compareReadBack, readBackProgress, withConfirmed } from './session-util.ts';

export interface DfuseConnectOptions extends SessionOptions {
  /** 'sectors' (default): erase the sectors each image touches; 'mass': one mass erase first. */
  erase?: 'sectors' | 'mass';
  /** Where "leave DFU" jumps; default the lowest address written, else 0x08000000. */
  applicationAddress?: number;
  /** Machine chip id to report when the flash map is not in the table. */
  chip?: string;
  /** Deadline of one control transfer. */
  transferTimeoutMs?: number;
  /** Longest one erase or write may keep the chip busy. Default 60 s (mass erase takes ~30 s). */
  maxBusyMs?: number;
}

interface Memory {
  alternateSetting: number;
  layout: MemoryLayout;
}

class DfuseSession implements FlashSession {
  readonly identity: DeviceIdentity;
  readonly flashRanges: readonly FlashRange[];
  private readonly erased = new Set<number>();
  private massErased = false;
  private currentAlt: number;
  private lowestWritten: number | undefined;
  private closed = false;

  constructor(
    private readonly opened: OpenedDfu,
    private readonly client: DfuseClient,
    private readonly memories: Memory[],
    private readonly options: DfuseConnectOptions,
    handle: UsbDeviceHandle,
  ) {
    this.currentAlt = opened.selected.alternateSetting;
    // The writable segments of every memory the device described (ST UM0424 §4.3.2 strings),
    // adjacent ones joined: an image may span sectors of different sizes.
    const ranges: FlashRange[] = [];
    for (const m of memories) {
      for (const seg of m.layout.segments.filter((g) => g.writable)) {
        const last = ranges.at(-1);
        if (last?.end === seg.start && last.name === m.layout.name.trim()) {
          ranges[ranges.length - 1] = { ...last, end: seg.end };
        } else ranges.push({ start: seg.start, end: seg.end, name: m.layout.name.trim() });
      }
    }
    this.flashRanges = ranges;
    const flash = memories.find((m) => /flash/i.test(m.layout.name)) ?? memories[0];
    const known = opened.alternates[0]?.name
      ? chipFromFlashMap(opened.alternates[0].name)
      : undefined;
    const flashSize = flash
      ? flash.layout.segments.reduce((n, s) => n + (s.end - s.start), 0)
      : undefined;
    const details: Record<string, string> = {
      'USB id': usbId(handle.info.vendorId, handle.info.productId),
    };
    for (const m of memories) details[`alt ${m.alternateSetting}`] = m.layout.name;
    details['wTransferSize'] = String(opened.functional.transferSize);
    this.identity = {
      protocol: 'dfuse',
      chip: known?.chip ?? options.chip ?? 'stm32',
      name: known?.name ?? handle.info.productName ?? 'DfuSe device',
      ...(flashSize !== undefined ? { flashSize } : {}),
      ...(handle.info.serialNumber ? { uniqueId: handle.info.serialNumber } : {}),
      // ST AN2606: bcdDevice 0x2200 is bootloader V2.2 (major and minor in the high byte).
      bootloaderVersion: `DfuSe V${(handle.info.deviceVersion >> 12) & 0xf}.${(handle.info.deviceVersion >> 8) & 0xf}`,
      details,
    };
  }

  private memoryFor(region: FlashRegion): Memory {
    const covers = (mem: Memory): boolean => {
      try {
        sectorsTouched(mem.layout, region.address, Math.max(1, region.data.length));
        return true;
      } catch {
        return false;
      }
    };
    const m = this.memories.find(covers);
    if (!m) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${region.name}: ${hex32(region.address)}+${region.data.length} is outside every memory of the chip.`,
        { hints: ['Check the address of this image in the bundle manifest.'] },
      );
    }
    return m;
  }

  private async select(m: Memory, signal?: AbortSignal): Promise<void> {
    if (m.alternateSetting === this.currentAlt) return;
    await this.client.ensureIdle(signal);
    await this.opened.connection.selectAlternate(
      this.opened.selected.interfaceNumber,
      m.alternateSetting,
    );
    this.currentAlt = m.alternateSetting;
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    const { signal, onProgress } = options;
    const size = this.opened.functional.transferSize;
    const resume = Math.min(
      Math.floor((options.resumeFrom ?? 0) / size) * size,
      region.data.length,
    );
    const total = region.data.length;
    const memory = this.memoryFor(region);
    const sectors = sectorsTouched(memory.layout, region.address, total);
    if (sectors.some((s) => !s.segment.writable)) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${region.name}: memory "${memory.layout.name}" at ${hex32(region.address)} is not writable.`,
      );
    }
    let confirmed = resume;
    try {
      await this.select(memory, signal);
      await this.client.ensureIdle(signal);
      // Erase (AN3156 §6.3): only what the image touches, each sector once per session.
      if (this.options.erase === 'mass' && !this.massErased) {
        onProgress?.({ phase: 'erase', region: region.name, bytesDone: 0, bytesTotal: total });
        await this.client.massErase(signal);
        this.massErased = true;
      }
      if (!this.massErased) {
        const resumeAddress = region.address + resume;
        const todo = sectors.filter(
          (s) =>
            s.segment.erasable &&
            !this.erased.has(s.start) &&
            !(resume > 0 && s.start < resumeAddress),
        );
        let done = 0;
        for (const s of todo) {
          onProgress?.({ phase: 'erase', region: region.name, bytesDone: done, bytesTotal: total });
          await this.client.erasePage(s.start, signal);
          this.erased.add(s.start);
          done = Math.min(total, s.start + s.size - region.address);
        }
      }
      onProgress?.({ phase: 'write', region: region.name, bytesDone: resume, bytesTotal: total });
      await this.client.writeMemory(region.address + resume, region.data.subarray(resume), {
        signal,
        onProgress: (p) => {
          confirmed = resume + p.bytesDone;
          onProgress?.({
            phase: 'write',
            region: region.name,
            bytesDone: confirmed,
            bytesTotal: total,
            wireBytes: confirmed - resume,
          });
        },
      });
      this.lowestWritten = Math.min(this.lowestWritten ?? region.address, region.address);
    } catch (err) {
      throw withConfirmed(err, confirmed);
    }
  }

  /** Delta update: UPLOAD-compare of each sector before it is erased (dfuse-delta.ts). */
  async compareUnits(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[] | undefined> {
    if (this.massErased || this.options.erase === 'mass') return undefined;
    const memory = this.memoryFor(region);
    const sectors = sectorsTouched(memory.layout, region.address, region.data.length);
    await this.select(memory, options.signal);
    await this.client.ensureIdle(options.signal);
    return compareSectors(this.client, region, sectors, {
      transferSize: this.opened.functional.transferSize,
      erases: (s) => s.segment.erasable && !this.erased.has(s.start),
      signal: options.signal,
      onProgress: options.onProgress,
    });
  }

  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    const memory = this.memoryFor(region);
    await this.select(memory, options.signal);
    await this.client.ensureIdle(options.signal);
    const data = await this.client.readMemory(region.address, region.data.length, {
      signal: options.signal,
      ...readBackProgress(region, options.onProgress),
    });
    compareReadBack(region.name, region.address, region.data, data);
  }

  async resync(signal?: AbortSignal): Promise<void> {
    await this.client.ensureIdle(signal);
  }

  /** Starts the application (leave DFU); the chip disconnects. */
  async reset(): Promise<void> {
    const flash = this.memories.find((m) => /flash/i.test(m.layout.name)) ?? this.memories[0];
    if (flash) await this.select(flash);
    await this.client.ensureIdle();
    const address =
      this.options.applicationAddress ?? this.lowestWritten ?? flash?.layout.segments[0]?.start;
    await this.client.leave(address);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opened.connection.close();
  }

  /** Removes read protection: the chip erases all its flash and restarts (AN3156 §6.4). */
  async removeReadProtection(signal?: AbortSignal): Promise<void> {
    await this.client.ensureIdle(signal).catch(() => undefined);
    await this.client.readUnprotect(signal);
    await this.close();
  }
}

/** A DfuSe session with its extra operation. */
export type DfuseFlashSession = FlashSession & {
  removeReadProtection(signal?: AbortSignal): Promise<void>;
};

/**
 * Opens a DfuSe device and returns a session.
 * @throws {ProtocolError} when the device is not a DfuSe device (bcdDFU 0x011A) or its memory
 *   descriptions cannot be read.
 * @throws {TransportError} from the USB transport ('transport.driver-missing' on Windows without WinUSB).
 */
export async function connectDfuse(
  handle: UsbDeviceHandle,
  options: DfuseConnectOptions,
): Promise<DfuseFlashSession> {
  const logger = options.logger.child('dfuse');
  const opened = await openDfu(handle, { logger });
  try {
    if (opened.functional.dfuVersion !== 0x011a) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} speaks DFU ${bcdVersion(opened.functional.dfuVersion)}, not DfuSe.`,
        {
          hints: ['Choose the "dfu" protocol for this device in the bundle.'],
        },
      );
    }
    const memories: Memory[] = [];
    for (const alt of opened.alternates) {
      if (!alt.name) continue;
      memories.push({
        alternateSetting: alt.alternateSetting,
        layout: parseMemoryLayout(alt.name),
      });
    }
    if (memories.length === 0) {
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} does not describe its memory.`,
      );
    }
    const client = new DfuseClient(clientOptions(opened, { ...options, logger }));
    await client.ensureIdle(options.signal);
    return new DfuseSession(opened, client, memories, options, handle);
  } catch (err) {
    await opened.connection.close();
    throw err;
  }
}

/** The driver record for protocol id 'dfuse'. */
export const dfuseDriver = { id: 'dfuse', transport: 'usb', connect: connectDfuse } as const;
