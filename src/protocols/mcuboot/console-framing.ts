/**
 * SMP over a text console (Zephyr "SMP Transport Specification", "UART/serial and console";
 * mcumgr `transport/smp-console.md`; MCUboot `boot/boot_serial/src/boot_serial.c`).
 *
 * A packet is `<16-bit big-endian length> <SMP packet> <CRC16>`, where the length counts the
 * SMP packet and the CRC, and the CRC is CRC16-CCITT (XMODEM: polynomial 0x1021, initial value
 * 0, no reflection) of the SMP packet, big-endian. That byte string is base64-encoded and cut
 * into frames of at most 127 bytes: the first starts with 0x06 0x09, the others with
 * 0x04 0x14, and each ends with a newline, leaving 124 characters of base64 per frame (a
 * multiple of 4, so every frame decodes on its own, as MCUboot and Zephyr decode them).
 *
 * The application's own console shares the line: text before a frame marker, and lines
 * without one, are skipped, not fatal.
 */
import type { ByteQueue } from '../../core/byte-queue.ts';
import { concatBytes } from '../../core/bytes.ts';
import type { Clock } from '../../core/clock.ts';
import { TimeoutError, UsageError } from '../../core/errors.ts';
import { decodeBase64, encodeBase64 } from '../../formats/base64.ts';

/** First frame of a packet (SMP Transport Specification: "0x06 0x09"). */
const SMP_PKT_START = [0x06, 0x09] as const;
/** Continuation frame ("0x04 0x14"). */
const SMP_FRAME_CONT = [0x04, 0x14] as const;
/** Largest frame, marker and newline included (the "127 byte limit"). */
export const SMP_MAX_FRAME = 127;
const NEWLINE = 0x0a;

/**
 * CRC16-CCITT as mcumgr and MCUboot compute it (`crc16_itu_t(0, …)`): polynomial 0x1021,
 * initial value 0, MSB first, no final XOR — the "XMODEM" variant. `crc16Xmodem("123456789")`
 * is 0x31C3.
 */
export function crc16Xmodem(data: Uint8Array, seed = 0): number {
  let crc = seed & 0xffff;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * Frames one SMP packet (header and CBOR body) for the console.
 * @param maxFrame largest frame in bytes (default 127); at least 8.
 * @throws {UsageError} for an empty or too long packet, or a frame size below 8.
 * @example encodeSmpConsole(smpPacket) // "\x06\x09AAsBAAAGAAEAAKBRkQ==\n" style bytes
 */
export function encodeSmpConsole(packet: Uint8Array, maxFrame = SMP_MAX_FRAME): Uint8Array {
  if (packet.length === 0 || packet.length > 0xfffd) {
    throw new UsageError(`encodeSmpConsole: packet of ${packet.length} bytes cannot be framed`);
  }
  if (!Number.isInteger(maxFrame) || maxFrame < 8) {
    throw new UsageError(`encodeSmpConsole: maxFrame ${maxFrame} is too small`);
  }
  const raw = new Uint8Array(packet.length + 4);
  const total = packet.length + 2;
  raw[0] = total >> 8;
  raw[1] = total & 0xff;
  raw.set(packet, 2);
  const crc = crc16Xmodem(packet);
  raw[raw.length - 2] = crc >> 8;
  raw[raw.length - 1] = crc & 0xff;
  const text = encodeBase64(raw);
  // Per frame: marker (2) + base64 + newline (1), the base64 a multiple of 4 characters.
  const perFrame = Math.floor((maxFrame - 3) / 4) * 4;
  const frames = Math.ceil(text.length / perFrame);
  const out = new Uint8Array(text.length + frames * 3);
  let o = 0;
  for (let f = 0; f < frames; f++) {
    const marker = f === 0 ? SMP_PKT_START : SMP_FRAME_CONT;
    out[o++] = marker[0];
    out[o++] = marker[1];
    const part = text.slice(f * perFrame, (f + 1) * perFrame);
    for (let i = 0; i < part.length; i++) out[o++] = part.charCodeAt(i);
    out[o++] = NEWLINE;
  }
  return out;
}

/** What the decoder made of a line. */
export type ConsoleEvent =
  | { kind: 'packet'; packet: Uint8Array }
  /** A frame sequence that could not be a packet (bad base64, length or CRC). */
  | { kind: 'bad-frame'; reason: string }
  /** Console text that carried no frame. */
  | { kind: 'text'; text: string };

export interface SmpConsoleDecoderOptions {
  /** Largest decoded packet (length field included); longer ones are dropped. Default 65 535. */
  maxPacket?: number;
  /** Longest line kept; the rest of a longer line is skipped. Default 4096. */
  maxLine?: number;
}

/**
 * Streaming decoder: feed received bytes in any chunks; it returns packets as their last frame
 * ends, and tells what it skipped.
 */
export class SmpConsoleDecoder {
  private line: number[] = [];
  private overlong = false;
  private partial: Uint8Array[] | undefined;
  private partialSize = 0;
  private readonly maxPacket: number;
  private readonly maxLine: number;

  constructor(options: SmpConsoleDecoderOptions = {}) {
    this.maxPacket = options.maxPacket ?? 0xffff;
    this.maxLine = options.maxLine ?? 4096;
  }

  /** Forgets any half-received line and packet. */
  reset(): void {
    this.line = [];
    this.overlong = false;
    this.partial = undefined;
    this.partialSize = 0;
  }

  push(data: Uint8Array): ConsoleEvent[] {
    const events: ConsoleEvent[] = [];
    for (const b of data) {
      if (b !== NEWLINE) {
        if (this.line.length < this.maxLine) this.line.push(b);
        else this.overlong = true;
        continue;
      }
      const line = this.line;
      const overlong = this.overlong;
      this.line = [];
      this.overlong = false;
      const event = overlong
        ? this.drop('a line longer than the receive buffer')
        : this.takeLine(line);
      if (event) events.push(event);
    }
    return events;
  }

  private takeLine(line: number[]): ConsoleEvent | undefined {
    // The marker may follow console text printed on the same line; take the last one.
    let at = -1;
    let start = false;
    for (let i = line.length - 2; i >= 0; i--) {
      if (line[i] === SMP_PKT_START[0] && line[i + 1] === SMP_PKT_START[1]) {
        at = i;
        start = true;
        break;
      }
      if (line[i] === SMP_FRAME_CONT[0] && line[i + 1] === SMP_FRAME_CONT[1]) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      const text = String.fromCharCode(...line.filter((c) => c !== 0x0d));
      return text.length > 0 ? { kind: 'text', text } : undefined;
    }
    if (start) {
      this.partial = [];
      this.partialSize = 0;
    } else if (!this.partial) {
      return { kind: 'bad-frame', reason: 'a continuation frame without a first frame' };
    }
    let end = line.length;
    if (line[end - 1] === 0x0d) end--; // a CR before the newline, from a terminal
    let chunk: Uint8Array;
    try {
      chunk = decodeBase64(String.fromCharCode(...line.slice(at + 2, end)));
    } catch {
      return this.drop('a frame that is not valid base64');
    }
    this.partial.push(chunk);
    this.partialSize += chunk.length;
    if (this.partialSize < 2) return undefined;
    const joined = this.partial.length === 1 ? this.partial[0]! : concatBytes(...this.partial);
    const total = (joined[0]! << 8) | joined[1]!;
    if (total < 3 || total + 2 > this.maxPacket) return this.drop(`a packet length of ${total}`);
    if (this.partialSize < total + 2) return undefined;
    if (this.partialSize > total + 2) return this.drop('more bytes than the packet length');
    this.partial = undefined;
    this.partialSize = 0;
    // The CRC over the packet and its CRC is 0 (boot_serial_in_dec).
    if (crc16Xmodem(joined.subarray(2)) !== 0) return { kind: 'bad-frame', reason: 'a CRC error' };
    return { kind: 'packet', packet: joined.slice(2, joined.length - 2) };
  }

  private drop(reason: string): ConsoleEvent {
    this.partial = undefined;
    this.partialSize = 0;
    return { kind: 'bad-frame', reason };
  }
}

/** Reads whole SMP packets from a link's input queue (host side). */
export class SmpConsoleReader {
  private readonly decoder: SmpConsoleDecoder;
  private readonly ready: Uint8Array[] = [];
  /** Frames dropped so far (bad base64, length or CRC), for logs and tests. */
  badFrames = 0;
  /** Console lines skipped so far. */
  textLines = 0;
  /** The last console line seen, for messages. */
  lastText = '';

  constructor(
    private readonly queue: ByteQueue,
    private readonly clock: Clock,
    options: SmpConsoleDecoderOptions = {},
  ) {
    this.decoder = new SmpConsoleDecoder(options);
  }

  /** Drops buffered bytes and any half-received packet. */
  discard(): void {
    this.queue.discard();
    this.decoder.reset();
    this.ready.length = 0;
  }

  /**
   * The next packet, skipping console text and damaged frames.
   * @throws {TimeoutError} when none completes within `timeoutMs`.
   * @throws {FramingError} never for damage (that is counted and skipped); TransportError when
   *   the link ends.
   */
  async next(options: {
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    what?: string;
  }): Promise<Uint8Array> {
    const deadline = this.clock.now() + options.timeoutMs;
    for (;;) {
      const ready = this.ready.shift();
      if (ready) return ready;
      const left = deadline - this.clock.now();
      if (left <= 0) throw new TimeoutError(options.what ?? 'SMP reply', options.timeoutMs);
      let bytes: Uint8Array;
      try {
        bytes = await this.queue.read(4096, { timeoutMs: left, signal: options.signal });
      } catch (err) {
        if (err instanceof TimeoutError) {
          throw new TimeoutError(options.what ?? 'SMP reply', options.timeoutMs);
        }
        throw err;
      }
      for (const e of this.decoder.push(bytes)) {
        if (e.kind === 'packet') this.ready.push(e.packet);
        else if (e.kind === 'bad-frame') this.badFrames++;
        else {
          this.textLines++;
          this.lastText = e.text;
        }
      }
    }
  }
}
