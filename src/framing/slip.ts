/**
 * SLIP framing (RFC 1055, "A Nonstandard for Transmission of IP Datagrams over Serial Lines"),
 * as used by the Espressif serial bootloader (esptool serial protocol, "Low Level Protocol"):
 * every packet starts and ends with 0xC0; inside a packet 0xC0 is sent as 0xDB 0xDC and 0xDB as
 * 0xDB 0xDD.
 *
 * Pure: `slipEncode` and `SlipDecoder` work on bytes only; `SlipReader` and `readSlipFrame` pull
 * frames from a `ByteQueue` without polling.
 */
import type { ByteQueue, ReadOptions } from '../core/byte-queue.ts';
import type { Clock } from '../core/clock.ts';
import { FramingError, UsageError } from '../core/errors.ts';

/** RFC 1055 END: frame delimiter. */
const SLIP_END = 0xc0;
/** RFC 1055 ESC: starts a two-byte escape. */
const SLIP_ESC = 0xdb;
/** RFC 1055 ESC_END: `ESC ESC_END` stands for a 0xC0 data byte. */
const SLIP_ESC_END = 0xdc;
/** RFC 1055 ESC_ESC: `ESC ESC_ESC` stands for a 0xDB data byte. */
const SLIP_ESC_ESC = 0xdd;

/** Default largest decoded frame accepted: a 16 KiB stub data block plus headers, with room. */
const DEFAULT_MAX_SLIP_FRAME = 0x10000;

/**
 * Frames `payload`: `C0 <payload with C0→DB DC, DB→DB DD> C0`. The input is not modified.
 * @example slipEncode(new Uint8Array([0xc0])) // → C0 DB DC C0
 */
export function slipEncode(payload: Uint8Array): Uint8Array {
  let specials = 0;
  for (const b of payload) if (b === SLIP_END || b === SLIP_ESC) specials++;
  const out = new Uint8Array(payload.length + specials + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of payload) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = b;
    }
  }
  out[o] = SLIP_END;
  return out;
}

export interface SlipDecoderOptions {
  /** Largest decoded frame; a longer one is dropped with FramingError 'framing.overflow'. */
  maxFrameLength?: number;
}

type DecoderState = 'idle' | 'frame' | 'escape' | 'skip';

/**
 * Streaming SLIP decoder. Feed it received bytes in chunks of any size; it returns each frame as
 * soon as its closing 0xC0 arrives.
 *
 * - Bytes outside a frame (boot messages, line noise) are ignored. An empty frame (`C0 C0`) is
 *   taken as the end of nothing and the start of the next frame, so `C0 C0` between frames is
 *   harmless.
 * - A bad escape (0xDB followed by anything but 0xDC/0xDD) or a frame longer than
 *   `maxFrameLength` throws FramingError. The broken frame is dropped and the decoder skips to
 *   its closing 0xC0. Nothing else is lost: frames completed earlier in the same chunk and the
 *   bytes after the error are kept, and the next `push()` (with more bytes, or an empty array)
 *   returns them.
 */
export class SlipDecoder {
  private readonly maxFrameLength: number;
  private state: DecoderState = 'idle';
  private buf: Uint8Array;
  private len = 0;
  private ready: Uint8Array[] = [];
  private backlog: Uint8Array | undefined;

  constructor(options: SlipDecoderOptions = {}) {
    const max = options.maxFrameLength ?? DEFAULT_MAX_SLIP_FRAME;
    if (!Number.isInteger(max) || max < 1) {
      throw new UsageError(`SlipDecoder: maxFrameLength must be a positive integer, got ${max}`);
    }
    this.maxFrameLength = max;
    this.buf = new Uint8Array(Math.min(max, 256));
  }

  /** True while part of a frame has been received. */
  get inFrame(): boolean {
    return this.state === 'frame' || this.state === 'escape';
  }

  /** Forgets any partial frame and kept bytes. */
  reset(): void {
    this.state = 'idle';
    this.len = 0;
    this.ready = [];
    this.backlog = undefined;
  }

  /**
   * Decodes `bytes` and returns the frames completed by them (and by kept bytes, see the class
   * description), oldest first.
   * @throws {FramingError} 'framing.invalid' on a bad escape, 'framing.overflow' on a too-long frame.
   */
  push(bytes: Uint8Array): Uint8Array[] {
    let input = bytes;
    if (this.backlog) {
      const kept = this.backlog;
      this.backlog = undefined;
      input = new Uint8Array(kept.length + bytes.length);
      input.set(kept, 0);
      input.set(bytes, kept.length);
    }
    for (let i = 0; i < input.length; i++) {
      const error = this.step(input[i]!);
      if (error) {
        if (i + 1 < input.length) this.backlog = input.slice(i + 1);
        throw error;
      }
    }
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private step(b: number): FramingError | undefined {
    switch (this.state) {
      case 'idle':
        if (b === SLIP_END) {
          this.state = 'frame';
          this.len = 0;
        }
        return undefined;
      case 'skip':
        if (b === SLIP_END) this.state = 'idle';
        return undefined;
      case 'frame':
        if (b === SLIP_END) {
          // An empty frame is an opening delimiter right after a closing one: stay in 'frame'.
          if (this.len > 0) {
            this.ready.push(this.buf.slice(0, this.len));
            this.state = 'idle';
          }
          return undefined;
        }
        if (b === SLIP_ESC) {
          this.state = 'escape';
          return undefined;
        }
        return this.append(b);
      case 'escape':
        if (b === SLIP_ESC_END || b === SLIP_ESC_ESC) {
          this.state = 'frame';
          return this.append(b === SLIP_ESC_END ? SLIP_END : SLIP_ESC);
        }
        this.len = 0;
        // An END right after ESC closes the (broken) frame; anything else skips to the END.
        this.state = b === SLIP_END ? 'idle' : 'skip';
        return new FramingError(
          'framing.invalid',
          `Garbled data from the device: SLIP escape 0xDB followed by 0x${b.toString(16).padStart(2, '0')}`,
          { hints: ['Check the cable and the baud rate; the command will be retried.'] },
        );
    }
  }

  private append(b: number): FramingError | undefined {
    if (this.len >= this.maxFrameLength) {
      this.len = 0;
      this.state = 'skip';
      return new FramingError(
        'framing.overflow',
        `The device sent a frame longer than ${this.maxFrameLength} bytes`,
        { hints: ['Check the baud rate; the command will be retried.'] },
      );
    }
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(Math.min(this.maxFrameLength, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
    return undefined;
  }
}

export interface SlipReaderOptions extends SlipDecoderOptions {
  /** The clock the queue runs on; frame deadlines are measured on it. */
  clock: Clock;
}

/**
 * Reads whole SLIP frames from a ByteQueue, taking whatever bytes are buffered at once (no
 * byte-by-byte reads, no polling). It must be the only reader of the queue: bytes it took that
 * belong to later frames stay inside it for the next `readFrame()`.
 */
export class SlipReader {
  private readonly decoder: SlipDecoder;
  private readonly clock: Clock;
  private frames: Uint8Array[] = [];

  constructor(
    private readonly queue: ByteQueue,
    options: SlipReaderOptions,
  ) {
    this.decoder = new SlipDecoder(options);
    this.clock = options.clock;
  }

  /** Frames already decoded and not yet returned. */
  get buffered(): number {
    return this.frames.length;
  }

  /**
   * Resolves with the next frame. The whole frame must arrive within `timeoutMs`.
   * @throws {TimeoutError} when it does not; {FramingError} on a garbled frame; AbortError;
   *   the queue's end error (TransportError) when the device is gone.
   */
  async readFrame(options: ReadOptions): Promise<Uint8Array> {
    const deadline = this.clock.now() + options.timeoutMs;
    for (;;) {
      const next = this.frames.shift();
      if (next) return next;
      // Bytes kept after an earlier FramingError are decoded before waiting for more.
      const kept = this.decoder.push(new Uint8Array(0));
      if (kept.length > 0) {
        this.frames.push(...kept);
        continue;
      }
      const chunk = await this.queue.read(0x10000, {
        ...options,
        timeoutMs: Math.max(0, deadline - this.clock.now()),
      });
      this.frames.push(...this.decoder.push(chunk));
    }
  }

  /** Drops decoded frames, any partial frame and everything buffered in the queue. */
  discard(): number {
    const n = this.frames.length;
    this.frames = [];
    this.decoder.reset();
    return n + this.queue.discard();
  }
}

/**
 * Reads exactly one SLIP frame from `queue`, consuming no byte after its closing 0xC0 (so other
 * readers may use the queue afterwards). Reads byte by byte; for a stream of frames prefer
 * `SlipReader`. The whole frame must arrive within `timeoutMs` on `clock`.
 * @throws {TimeoutError} | {FramingError} | AbortError | the queue's end error.
 * @example const frame = await readSlipFrame(link.input, { clock, timeoutMs: 3000, maxLength: 0x4100 })
 */
export async function readSlipFrame(
  queue: ByteQueue,
  options: ReadOptions & { maxLength: number; clock: Clock },
): Promise<Uint8Array> {
  const decoder = new SlipDecoder({ maxFrameLength: options.maxLength });
  const { clock } = options;
  const deadline = clock.now() + options.timeoutMs;
  const one = new Uint8Array(1);
  for (;;) {
    one[0] = await queue.readByte({
      ...options,
      timeoutMs: Math.max(0, deadline - clock.now()),
    });
    const frames = decoder.push(one);
    if (frames.length > 0) return frames[0]!;
  }
}
