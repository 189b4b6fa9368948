/**
 * STK500 protocol version 2 (Atmel AVR068, "STK500 Communication Protocol"), as the Arduino
 * Mega's bootloader (stk500boot.c, "wiring") and avrdude's `wiring` programmer speak it
 * (avrdude src/stk500v2.c, src/wiring.c).
 *
 * AVR068 §3 "Message format": MESSAGE_START 0x1B, SEQUENCE_NUMBER, MESSAGE_SIZE (2 bytes,
 * big-endian), TOKEN 0x0E, MESSAGE_BODY (up to 275 bytes), CHECKSUM — the XOR of every byte
 * before it. The answer carries the same sequence number; its body starts with the command id
 * and a status byte.
 */
import { FramingError, ProtocolError, TimeoutError, throwIfAborted } from '../../core/errors.ts';
import type { SerialLink } from '../../transport/link.ts';

export const MESSAGE_START = 0x1b;
export const TOKEN = 0x0e;
/** Largest body AVR068 §3 allows. */
export const MAX_BODY = 275;

/** Command ids (AVR068 §4, "Commands"; avrdude src/stk500v2_private.h). */
export const V2 = {
  SIGN_ON: 0x01,
  SET_PARAMETER: 0x02,
  GET_PARAMETER: 0x03,
  LOAD_ADDRESS: 0x06,
  ENTER_PROGMODE_ISP: 0x10,
  LEAVE_PROGMODE_ISP: 0x11,
  CHIP_ERASE_ISP: 0x12,
  PROGRAM_FLASH_ISP: 0x13,
  READ_FLASH_ISP: 0x14,
  PROGRAM_EEPROM_ISP: 0x15,
  READ_EEPROM_ISP: 0x16,
  PROGRAM_FUSE_ISP: 0x17,
  READ_FUSE_ISP: 0x18,
  PROGRAM_LOCK_ISP: 0x19,
  READ_LOCK_ISP: 0x1a,
  READ_SIGNATURE_ISP: 0x1b,
  SPI_MULTI: 0x1d,
} as const;

/** Status bytes (AVR068 §5 "Status codes"). */
export const V2Status = {
  CMD_OK: 0x00,
  CMD_TOUT: 0x80,
  RDY_BSY_TOUT: 0x81,
  CMD_FAILED: 0xc0,
  CKSUM_ERROR: 0xc1,
  CMD_UNKNOWN: 0xc9,
} as const;

/** Parameters (AVR068 §6). */
export const V2Param = {
  BUILD_LOW: 0x80,
  BUILD_HIGH: 0x81,
  HW_VER: 0x90,
  SW_MAJOR: 0x91,
  SW_MINOR: 0x92,
} as const;

/** XOR of the bytes. */
function xorChecksum(bytes: Uint8Array): number {
  let c = 0;
  for (const b of bytes) c ^= b;
  return c;
}

/**
 * Builds one message.
 * @throws {RangeError} for a body longer than 275 bytes or a sequence number outside 0…255.
 * @example encodeStk500v2(1, Uint8Array.of(0x01)) // 1b 01 00 01 0e 01 14
 */
export function encodeStk500v2(seq: number, body: Uint8Array): Uint8Array {
  if (!Number.isInteger(seq) || seq < 0 || seq > 255)
    throw new RangeError(`seq ${seq} is not a byte`);
  if (body.length > MAX_BODY)
    throw new RangeError(`body of ${body.length} bytes exceeds ${MAX_BODY}`);
  const out = new Uint8Array(body.length + 6);
  out.set([MESSAGE_START, seq, body.length >> 8, body.length & 0xff, TOKEN]);
  out.set(body, 5);
  out[out.length - 1] = xorChecksum(out.subarray(0, out.length - 1));
  return out;
}

/** A decoded message. */
export interface Stk500v2Message {
  seq: number;
  body: Uint8Array;
}

/**
 * Decodes exactly one message.
 * @throws {FramingError} 'framing.invalid' naming what is wrong (start, token, size, checksum).
 */
export function decodeStk500v2(bytes: Uint8Array): Stk500v2Message {
  if (bytes.length < 6)
    throw new FramingError('framing.invalid', 'STK500v2 message shorter than 6 bytes');
  if (bytes[0] !== MESSAGE_START)
    throw new FramingError('framing.invalid', 'STK500v2 message does not start with 0x1B');
  if (bytes[4] !== TOKEN)
    throw new FramingError('framing.invalid', 'STK500v2 message has no TOKEN 0x0E');
  const size = (bytes[2]! << 8) | bytes[3]!;
  if (size !== bytes.length - 6)
    throw new FramingError(
      'framing.invalid',
      `STK500v2 size field ${size} does not match ${bytes.length - 6} body bytes`,
    );
  if (xorChecksum(bytes) !== 0)
    throw new FramingError('framing.invalid', 'STK500v2 checksum mismatch');
  return { seq: bytes[1]!, body: bytes.slice(5, 5 + size) };
}

interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** One conversation with an STK500v2 bootloader. */
export class Stk500v2Client {
  private seq = 1;

  constructor(
    readonly link: SerialLink,
    private readonly timeoutMs = 1000,
  ) {}

  /**
   * CMD_SIGN_ON until answered (avrdude stk500v2_getsync). Returns the programmer's name
   * ("AVRISP_2" for stk500boot.c). `beforeAttempt` runs before every try after the first.
   * @throws {ProtocolError} 'protocol.no-sync'.
   */
  async signOn(
    options: CallOptions & { attempts?: number; beforeAttempt?: () => Promise<void> } = {},
  ): Promise<string> {
    const attempts = options.attempts ?? 10;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      throwIfAborted(options.signal);
      if (i > 0 && options.beforeAttempt) await options.beforeAttempt();
      this.link.input.discard();
      try {
        const r = await this.command(Uint8Array.of(V2.SIGN_ON), { ...options, timeoutMs: 300 });
        const n = r[2] ?? 0;
        return String.fromCharCode(...r.subarray(3, 3 + n));
      } catch (err) {
        if (
          !(err instanceof TimeoutError) &&
          !(err instanceof FramingError) &&
          !(err instanceof ProtocolError)
        )
          throw err;
        last = err;
      }
    }
    throw new ProtocolError('protocol.no-sync', 'The AVR bootloader does not answer (STK500v2).', {
      cause: last,
      hints: [
        'Press the reset button, or check that the port resets the board (DTR auto-reset).',
        'The Arduino Mega bootloader runs at 115200 baud.',
      ],
    });
  }

  /** GET_PARAMETER: one byte. */
  async getParameter(param: number, options: CallOptions = {}): Promise<number> {
    const r = await this.command(Uint8Array.of(V2.GET_PARAMETER, param), options);
    return r[2] ?? 0;
  }

  /** READ_SIGNATURE_ISP of signature byte `index` (AVR068 §7.1.13). */
  async readSignatureByte(index: number, options: CallOptions = {}): Promise<number> {
    const r = await this.command(
      Uint8Array.of(V2.READ_SIGNATURE_ISP, 4, 0x30, 0x00, index, 0x00),
      options,
    );
    return r[2] ?? 0;
  }

  /** ENTER_PROGMODE_ISP with avrdude's ATmega2560 parameters (timings the bootloader ignores). */
  async enterProgmode(options: CallOptions = {}): Promise<void> {
    await this.command(
      Uint8Array.of(V2.ENTER_PROGMODE_ISP, 200, 100, 25, 32, 0, 0x53, 3, 0xac, 0x53, 0, 0),
      options,
    );
  }

  /** LEAVE_PROGMODE_ISP: stk500boot.c then jumps to the application. */
  async leaveProgmode(options: CallOptions = {}): Promise<void> {
    await this.command(Uint8Array.of(V2.LEAVE_PROGMODE_ISP, 1, 1), options);
  }

  /** CHIP_ERASE_ISP. stk500boot.c only rewinds its erase pointer and answers CMD_FAILED. */
  async chipErase(options: CallOptions = {}): Promise<number> {
    const r = await this.command(Uint8Array.of(V2.CHIP_ERASE_ISP, 55, 0, 0xac, 0x80, 0, 0), {
      ...options,
      allowFailed: true,
    });
    return r[1]!;
  }

  /**
   * LOAD_ADDRESS with a word address, big-endian; bit 31 asks the programmer to send "load
   * extended address" first, which avrdude sets for parts above 128 KiB (stk500v2_loadaddr).
   */
  async loadAddress(
    byteAddress: number,
    extended: boolean,
    options: CallOptions = {},
  ): Promise<void> {
    const word = (byteAddress >>> 1) | (extended ? 0x80000000 : 0);
    await this.command(
      Uint8Array.of(
        V2.LOAD_ADDRESS,
        word >>> 24,
        (word >>> 16) & 0xff,
        (word >>> 8) & 0xff,
        word & 0xff,
      ),
      options,
    );
  }

  /** PROGRAM_FLASH_ISP of one page in page mode (AVR068 §7.1.6: mode 0xC1, write-page command 0x4C). */
  async programFlash(data: Uint8Array, options: CallOptions = {}): Promise<void> {
    const head = Uint8Array.of(
      V2.PROGRAM_FLASH_ISP,
      data.length >> 8,
      data.length & 0xff,
      0xc1,
      10,
      0x40,
      0x4c,
      0x20,
      0x00,
      0x00,
    );
    const body = new Uint8Array(head.length + data.length);
    body.set(head);
    body.set(data, head.length);
    await this.command(body, options);
  }

  /** READ_FLASH_ISP of `length` bytes (AVR068 §7.1.7); the answer ends with a second status. */
  async readFlash(length: number, options: CallOptions = {}): Promise<Uint8Array> {
    const r = await this.command(
      Uint8Array.of(V2.READ_FLASH_ISP, length >> 8, length & 0xff, 0x20),
      options,
    );
    if (r.length !== length + 3) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `READ_FLASH_ISP answered ${r.length - 3} bytes instead of ${length}.`,
        { opcode: V2.READ_FLASH_ISP },
      );
    }
    return r.slice(2, 2 + length);
  }

  /** READ_FUSE_ISP / READ_LOCK_ISP with the ISP instruction (e.g. 0x50 0x00 low fuse). */
  async readFuse(
    op: number,
    instruction: readonly number[],
    options: CallOptions = {},
  ): Promise<number> {
    const r = await this.command(Uint8Array.of(op, 4, ...instruction), options);
    return r[2] ?? 0;
  }

  /** Reads and drops input until the line is quiet for 50 ms. */
  drain(signal?: AbortSignal): Promise<void> {
    return this.link.input.drainUntilQuiet(50, signal);
  }

  /**
   * Sends a command and returns the answer body (command id, status, data).
   * @throws {FramingError} for a damaged answer; {ProtocolError} 'protocol.bad-reply' for an
   *   answer to another command or sequence number, 'protocol.command-failed' for a status
   *   other than CMD_OK (unless `allowFailed`).
   */
  async command(
    body: Uint8Array,
    options: CallOptions & { timeoutMs?: number; allowFailed?: boolean } = {},
  ): Promise<Uint8Array> {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    await this.link.write(encodeStk500v2(seq, body));
    const answer = await this.readMessage(options.timeoutMs ?? this.timeoutMs, options.signal);
    const opcode = body[0]!;
    if (answer.seq !== seq || answer.body[0] !== opcode) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `STK500v2 answer (seq ${answer.seq}, command 0x${(answer.body[0] ?? 0).toString(16)}) does not match the request (seq ${seq}, command 0x${opcode.toString(16)}).`,
        { opcode },
      );
    }
    const status = answer.body[1] ?? V2Status.CMD_FAILED;
    if (status !== V2Status.CMD_OK && !options.allowFailed) {
      throw new ProtocolError(
        status === V2Status.CKSUM_ERROR ? 'protocol.bad-reply' : 'protocol.command-failed',
        `The bootloader answered status 0x${status.toString(16)} to command 0x${opcode.toString(16)}.`,
        { opcode, status },
      );
    }
    return answer.body;
  }

  /** Reads one message: skips bytes until MESSAGE_START, then the header, body and checksum. */
  private async readMessage(
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Stk500v2Message> {
    const q = this.link.input;
    const what = 'an STK500v2 answer';
    for (;;) {
      const start = await q.readByte({ timeoutMs, signal, what });
      if (start !== MESSAGE_START) continue;
      const head = await q.readExactly(4, { timeoutMs, signal, what });
      if (head[3] !== TOKEN)
        throw new FramingError('framing.invalid', 'STK500v2 answer without TOKEN 0x0E');
      const size = (head[1]! << 8) | head[2]!;
      const rest = await q.readExactly(size + 1, { timeoutMs, signal, what });
      const frame = new Uint8Array(size + 6);
      frame[0] = MESSAGE_START;
      frame.set(head, 1);
      frame.set(rest, 5);
      return decodeStk500v2(frame);
    }
  }
}
