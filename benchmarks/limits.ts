/**
 * Protocol limits: the least time any host can take to write (and read back) an image with a
 * given protocol, over the modelled adapter, on the modelled device. Pure arithmetic from the
 * link models (src/sim/link-model.ts, src/sim/usb/usb-link-model.ts), the flash timings
 * (src/sim/flash-model.ts and the boards' own) and each protocol's rules:
 *
 * - the bytes the protocol must put on the wire: commands, headers, checksums, encodings;
 * - the exchanges it must wait for: a stop-and-wait protocol may send its next command only
 *   after the device answered the previous one, and each answer costs a turnaround through the
 *   adapter (its latency once each way);
 * - the time the device is busy (erasing, programming) before it answers or accepts more.
 *
 * Where a protocol lets the device advance the address on its own (STK500v2, AVR109), the limit
 * sets the address once; where it does not say so (STK500v1, AVR061), once per page. The limit
 * is what a perfect host would take, so "our time ÷ limit" shows what our own code costs.
 */
import type { Clock } from '../src/core/clock.ts';
import { encodeCbor, encodeCborIndefinite, type CborMap } from '../src/protocols/mcuboot/cbor.ts';
import { encodeSmpConsole } from '../src/protocols/mcuboot/console-framing.ts';
import { encodeSmpPacket } from '../src/protocols/mcuboot/smp.ts';
import { UsbLinkModel } from '../src/sim/usb/usb-link-model.ts';
import type { LinkModel } from '../src/sim/link-model.ts';

/** How one serial adapter moves bytes: time per byte each way and latency per delivery. */
export interface SerialTiming {
  /** ms per byte on the line (bits per character ÷ baud, or 1 ÷ the USB rate). */
  byteMs: number;
  /** The adapter's delay on every delivery, each way, ms. */
  latencyMs: number;
  /** Largest chunk the adapter delivers at once. */
  chunkSize: number;
}

/**
 * The timing of `link` at `baud` with `bitsPerCharacter` (8N1: 10, 8E1: 11), as
 * src/sim/serial-wire.ts schedules bytes.
 */
export function serialTiming(link: LinkModel, baud: number, bitsPerCharacter = 10): SerialTiming {
  const byteMs =
    link.kind === 'usb-cdc' ? 1 / (link.bytesPerMs ?? 1000) : (bitsPerCharacter / baud) * 1000;
  return { byteMs, latencyMs: link.latencyMs, chunkSize: link.chunkSize };
}

/** Raw bytes per second the line carries. */
export function rawBytesPerSecond(t: SerialTiming): number {
  return 1000 / t.byteMs;
}

/**
 * One stop-and-wait exchange: the host sends `out` bytes; once the last one is in, the device
 * is busy `busyMs`, then sends `back` bytes; the host sends the next exchange when the last of
 * those arrived.
 */
export interface Exchange {
  out: number;
  back: number;
  busyMs?: number;
  /** How many times it repeats (default 1). */
  times?: number;
}

/** A limit and what it is made of, ms. */
export interface Limit {
  ms: number;
  /** Bytes on the line, both ways. */
  wireMs: number;
  /** Adapter latency of the turnarounds. */
  turnaroundMs: number;
  /** Device busy time the host must wait for. */
  deviceMs: number;
}

/** The sum of `exchanges` over the adapter: line time + two latencies + busy time each. */
export function serialLimit(t: SerialTiming, exchanges: readonly Exchange[]): Limit {
  let wireMs = 0;
  let turnaroundMs = 0;
  let deviceMs = 0;
  for (const e of exchanges) {
    const n = e.times ?? 1;
    wireMs += n * (e.out + e.back) * t.byteMs;
    turnaroundMs += n * 2 * t.latencyMs;
    deviceMs += n * (e.busyMs ?? 0);
  }
  return { ms: wireMs + turnaroundMs + deviceMs, wireMs, turnaroundMs, deviceMs };
}

/** Adds limits (phases one after another). */
export function sumLimits(...limits: readonly Limit[]): Limit {
  const z: Limit = { ms: 0, wireMs: 0, turnaroundMs: 0, deviceMs: 0 };
  for (const l of limits) {
    z.ms += l.ms;
    z.wireMs += l.wireMs;
    z.turnaroundMs += l.turnaroundMs;
    z.deviceMs += l.deviceMs;
  }
  return z;
}

// ---- AVR ------------------------------------------------------------------------------------

/** What an AVR board's bootloader does with one page. */
export interface AvrPageTiming {
  pageSize: number;
  /** SPM page erase, ms. */
  eraseMs: number;
  /** SPM page write, ms. */
  writeMs: number;
}

/**
 * STK500v1 (AVR061) write + read-back, as optiboot and ATmegaBOOT answer it. Per page:
 * LOAD_ADDRESS ('U' lo hi EOP → INSYNC OK), PROG_PAGE ('d' hi lo 'F' data EOP → INSYNC OK,
 * after the page is programmed), and for the read-back LOAD_ADDRESS and READ_PAGE ('t' hi lo
 * 'F' EOP → INSYNC data OK). AVR061 defines no address increment, so every page sets it.
 * `eraseWhileReceiving`: optiboot starts the page erase once the length is in (the first chunk
 * the adapter delivers), so the erase overlaps the rest of the data; ATmegaBOOT erases after.
 */
export function stk500v1Limit(
  t: SerialTiming,
  o: AvrPageTiming & { imageBytes: number; eraseWhileReceiving: boolean },
): { write: Limit; verify: Limit } {
  const pages = Math.ceil(o.imageBytes / o.pageSize);
  const out = 5 + o.pageSize;
  const hidden = o.eraseWhileReceiving ? (out - Math.min(out, t.chunkSize)) * t.byteMs : 0;
  const busyMs = Math.max(0, o.eraseMs - hidden) + o.writeMs;
  const loadAddress: Exchange = { out: 4, back: 2, times: pages };
  return {
    write: serialLimit(t, [loadAddress, { out, back: 2, busyMs, times: pages }]),
    verify: serialLimit(t, [loadAddress, { out: 5, back: o.pageSize + 2, times: pages }]),
  };
}

/**
 * STK500v2 (AVR068) as stk500boot.c answers it: messages of 6 bytes around the body
 * (MESSAGE_START, SEQ, SIZE×2, TOKEN … CHECKSUM). One LOAD_ADDRESS (body 5, answer 2) before
 * the writes and one before the reads, since PROGRAM_FLASH_ISP and READ_FLASH_ISP advance the
 * address; per page PROGRAM_FLASH_ISP (body 10 + data, answer 2; the page erase and write
 * first) and READ_FLASH_ISP (body 4, answer 3 + data).
 */
export function stk500v2Limit(
  t: SerialTiming,
  o: AvrPageTiming & { imageBytes: number },
): { write: Limit; verify: Limit } {
  const pages = Math.ceil(o.imageBytes / o.pageSize);
  const msg = (body: number): number => 6 + body;
  const loadAddress: Exchange = { out: msg(5), back: msg(2) };
  return {
    write: serialLimit(t, [
      loadAddress,
      {
        out: msg(10 + o.pageSize),
        back: msg(2),
        busyMs: o.eraseMs + o.writeMs,
        times: pages,
      },
    ]),
    verify: serialLimit(t, [loadAddress, { out: msg(4), back: msg(3 + o.pageSize), times: pages }]),
  };
}

/**
 * AVR109 (Caterina) in block mode with the block size the bootloader reports ('b': the page):
 * one 'A' (3 bytes → CR) before the writes and one before the reads, since block commands
 * advance the address; per page 'B' hi lo 'F' data → CR once the page is erased and written,
 * and 'g' hi lo 'F' → data.
 */
export function avr109Limit(
  t: SerialTiming,
  o: AvrPageTiming & { imageBytes: number },
): { write: Limit; verify: Limit } {
  const pages = Math.ceil(o.imageBytes / o.pageSize);
  const setAddress: Exchange = { out: 3, back: 1 };
  return {
    write: serialLimit(t, [
      setAddress,
      { out: 4 + o.pageSize, back: 1, busyMs: o.eraseMs + o.writeMs, times: pages },
    ]),
    verify: serialLimit(t, [setAddress, { out: 4, back: o.pageSize, times: pages }]),
  };
}

// ---- STM32 USART bootloader (AN3155) ----------------------------------------------------------

/**
 * AN3155 write: the erase commands (Extended Erase 0x44: command → ACK, then up to 32 sector
 * numbers with checksum → ACK once erased), then per block of 256 bytes three exchanges:
 * command (2 → ACK), address (5 → ACK), data (N-1, data, checksum → ACK once programmed).
 */
export function an3155WriteLimit(
  t: SerialTiming,
  o: { imageBytes: number; sectorEraseMs: readonly number[]; programMs: (bytes: number) => number },
): Limit {
  const exchanges: Exchange[] = [];
  for (let i = 0; i < o.sectorEraseMs.length; i += 32) {
    const group = o.sectorEraseMs.slice(i, i + 32);
    exchanges.push({ out: 2, back: 1 });
    exchanges.push({
      out: 2 + 2 * group.length + 1,
      back: 1,
      busyMs: group.reduce((a, b) => a + b, 0),
    });
  }
  for (let at = 0; at < o.imageBytes; at += 256) {
    const n = Math.min(256, o.imageBytes - at);
    exchanges.push({ out: 2, back: 1 }, { out: 5, back: 1 });
    exchanges.push({ out: 2 + n, back: 1, busyMs: o.programMs(n) });
  }
  return serialLimit(t, exchanges);
}

/**
 * The read-back verify: READ_MEMORY of 256 bytes at most (AN3155 §3.4), three acknowledged
 * steps each (command, address, length; the last ACK comes with the data).
 */
export function an3155ReadLimit(t: SerialTiming, imageBytes: number): Limit {
  const exchanges: Exchange[] = [];
  for (let at = 0; at < imageBytes; at += 256) {
    const n = Math.min(256, imageBytes - at);
    exchanges.push({ out: 2, back: 1 }, { out: 5, back: 1 }, { out: 2, back: 1 + n });
  }
  return serialLimit(t, exchanges);
}

// ---- USB DFU ------------------------------------------------------------------------------------

/** A control transfer (its data stage in bytes), then a wait before the next one. */
interface UsbStep {
  dataBytes: number;
  waitMs?: number;
}

/** Control transfers back to back on the modelled full-speed bus, with the waits between them. */
function usbLimit(steps: Iterable<UsbStep>): Limit {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    setTimer: () => {
      throw new Error('not used');
    },
    clearTimer: () => undefined,
  };
  const bus = new UsbLinkModel(clock);
  let deviceMs = 0;
  for (const s of steps) {
    now = bus.schedule(s.dataBytes) + (s.waitMs ?? 0);
    deviceMs += s.waitMs ?? 0;
  }
  return { ms: now, wireMs: now - deviceMs, turnaroundMs: 0, deviceMs };
}

/** The DFU_GETSTATUS answer: 6 bytes in. */
const GETSTATUS = 6;

/**
 * DFU 1.1 download (§6.1.1, §6.1.2): per block DFU_DNLOAD of wTransferSize bytes, then
 * DFU_GETSTATUS; when the device reports bwPollTimeout > 0 the host waits that long and asks
 * again. A zero-length DFU_DNLOAD ends it (manifestation not counted).
 */
export function dfuLimit(o: {
  imageBytes: number;
  transferSize: number;
  /** bwPollTimeout the device reports for a block of `bytes` (0: ready at once). */
  blockPollMs: (bytes: number) => number;
}): Limit {
  const steps: UsbStep[] = [];
  for (let at = 0; at < o.imageBytes; at += o.transferSize) {
    const n = Math.min(o.transferSize, o.imageBytes - at);
    const poll = o.blockPollMs(n);
    steps.push({ dataBytes: n }, { dataBytes: GETSTATUS, waitMs: poll });
    if (poll > 0) steps.push({ dataBytes: GETSTATUS });
  }
  return usbLimit(steps);
}

/**
 * DfuSe (AN3156): Set Address Pointer (DNLOAD of 5 bytes, GETSTATUS, wait, GETSTATUS), one
 * Erase command per sector the same way with the erase time as poll timeout, then the blocks
 * as in DFU 1.1 with the programming time as poll timeout.
 */
export function dfuseLimit(o: {
  imageBytes: number;
  transferSize: number;
  sectorEraseMs: readonly number[];
  blockPollMs: (bytes: number) => number;
}): Limit {
  const command = (pollMs: number): UsbStep[] => [
    { dataBytes: 5 },
    { dataBytes: GETSTATUS, waitMs: pollMs },
    { dataBytes: GETSTATUS },
  ];
  const steps: UsbStep[] = [];
  for (const ms of o.sectorEraseMs) steps.push(...command(ms));
  steps.push(...command(0));
  const data = dfuLimit(o);
  const commands = usbLimit(steps);
  return sumLimits(commands, data);
}

/**
 * DfuSe read (AN3156 §6.2): Set Address Pointer, then DFU_UPLOAD of wTransferSize bytes at a
 * time, back to back (the device answers from flash at once).
 */
export function dfuseUploadLimit(o: { imageBytes: number; transferSize: number }): Limit {
  const steps: UsbStep[] = [{ dataBytes: 5 }, { dataBytes: GETSTATUS }, { dataBytes: GETSTATUS }];
  for (let at = 0; at < o.imageBytes; at += o.transferSize)
    steps.push({ dataBytes: Math.min(o.transferSize, o.imageBytes - at) });
  return usbLimit(steps);
}

// ---- MCUboot SMP over a serial console ------------------------------------------------------------

/** Bytes of the console packet around an SMP packet: length (2) and CRC (2). */
const CONSOLE_OVERHEAD = 4;

function smpFrame(body: CborMap, indefinite: boolean): number {
  const cbor = indefinite ? encodeCborIndefinite(body) : encodeCbor(body);
  const packet = encodeSmpPacket({ version: 1, op: 2, flags: 0, group: 1, seq: 0, id: 1 }, cbor);
  return encodeSmpConsole(packet).length;
}

/**
 * SMP image upload (smp_group_1.rst) over the console framing (base64, frames of at most 127
 * bytes with their markers and newline): each chunk waits for the reply naming the next offset.
 * A chunk is the largest whose decoded console packet (SMP packet + 4) fits the board's
 * receive buffer `bufSize`, in whole flash words; the first carries len and sha, and the
 * board erases what the image covers before it answers.
 */
export function smpUploadLimit(
  t: SerialTiming,
  o: {
    imageBytes: number;
    bufSize: number;
    /** Time the board takes for any request (the simulator's 0.2 ms). */
    requestMs: number;
    programMs: (bytes: number) => number;
    /** Erase before the first chunk's answer. */
    eraseMs: number;
  },
): Limit {
  const exchanges: Exchange[] = [];
  const sha = new Uint8Array(32);
  let off = 0;
  while (off < o.imageBytes) {
    const head: CborMap = off === 0 ? { len: o.imageBytes, off: 0, sha } : { off };
    const empty = encodeCbor({ ...head, data: new Uint8Array(0) }).length;
    // The data's length header grows from 1 to 3 bytes past 23 bytes.
    const room = o.bufSize - (empty + 2 + 8 + CONSOLE_OVERHEAD);
    const n = Math.min(o.imageBytes - off, room - (room % 4));
    const out = smpFrame({ ...head, data: new Uint8Array(n) }, false);
    const reply: CborMap = { off: off + n };
    if (off + n === o.imageBytes) reply['match'] = true;
    const back = smpFrame(reply, true);
    const busyMs = o.requestMs + o.programMs(n) + (off === 0 ? o.eraseMs : 0);
    exchanges.push({ out, back, busyMs });
    off += n;
  }
  return serialLimit(t, exchanges);
}
