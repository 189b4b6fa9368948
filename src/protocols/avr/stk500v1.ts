/**
 * The host side of STK500 protocol version 1 (Atmel AVR061, "STK500 Communication Protocol"),
 * as the Arduino serial bootloaders speak it (optiboot, ATmegaBOOT) and avrdude's `arduino`
 * programmer uses it (avrdude src/stk500.c, src/arduino.c). Every command is its bytes followed
 * by Sync_CRC_EOP (0x20); every answer is Resp_STK_INSYNC (0x14), the command's data, then
 * Resp_STK_OK (0x10) (AVR061 §3 "Command summary", §4 "Responses").
 */
import { ProtocolError, TimeoutError, throwIfAborted } from '../../core/errors.ts';
import type { SerialLink } from '../../transport/link.ts';

/** Command bytes (AVR061 Table "Commands"; avrdude src/stk500_private.h). */
export const Stk = {
  GET_SYNC: 0x30,
  GET_SIGN_ON: 0x31,
  SET_PARAMETER: 0x40,
  GET_PARAMETER: 0x41,
  SET_DEVICE: 0x42,
  SET_DEVICE_EXT: 0x45,
  ENTER_PROGMODE: 0x50,
  LEAVE_PROGMODE: 0x51,
  CHIP_ERASE: 0x52,
  LOAD_ADDRESS: 0x55,
  UNIVERSAL: 0x56,
  PROG_PAGE: 0x64,
  READ_PAGE: 0x74,
  READ_SIGN: 0x75,
} as const;

/** Special bytes (AVR061 "Responses" and "Special constants"). */
export const StkResp = {
  OK: 0x10,
  FAILED: 0x11,
  UNKNOWN: 0x12,
  NODEVICE: 0x13,
  INSYNC: 0x14,
  NOSYNC: 0x15,
  CRC_EOP: 0x20,
} as const;

/** Parameters for GET_PARAMETER (AVR061 "Parameters"). */
export const StkParam = { HW_VER: 0x80, SW_MAJOR: 0x81, SW_MINOR: 0x82 } as const;

/** Memory type bytes of PROG_PAGE / READ_PAGE. */
const STK_FLASH = 0x46; // 'F'

/** Deadlines in ms. */
export interface Stk500v1Timeouts {
  /** One GET_SYNC attempt (avrdude 7.1 waits up to its serial timeout; one try is cheap). */
  sync: number;
  /** Any other reply. PROG_PAGE includes the page erase + write (ATmega328P: 4.5 ms). */
  reply: number;
}

const DEFAULT_STK500V1_TIMEOUTS: Stk500v1Timeouts = { sync: 300, reply: 1000 };

/** Builds a command frame: the bytes and Sync_CRC_EOP. */
export function encodeStk500v1(...bytes: readonly (number | Uint8Array)[]): Uint8Array {
  const parts: number[] = [];
  for (const b of bytes) {
    if (typeof b === 'number') parts.push(b & 0xff);
    else parts.push(...b);
  }
  parts.push(StkResp.CRC_EOP);
  return Uint8Array.from(parts);
}

/** PROG_PAGE: length big-endian, memory type, data (AVR061 "Cmnd_STK_PROG_PAGE"). */
export function encodeProgPage(data: Uint8Array, memtype = STK_FLASH): Uint8Array {
  return encodeStk500v1(Stk.PROG_PAGE, data.length >> 8, data.length, memtype, data);
}

/** LOAD_ADDRESS with a word address, little-endian (AVR061 "Cmnd_STK_LOAD_ADDRESS"). */
export function encodeLoadAddress(wordAddress: number): Uint8Array {
  return encodeStk500v1(Stk.LOAD_ADDRESS, wordAddress & 0xff, (wordAddress >> 8) & 0xff);
}

interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** One conversation with an STK500v1 bootloader. */
export class Stk500v1Client {
  readonly timeouts: Stk500v1Timeouts;
  /** The 64 KiB-word segment last sent with the universal "load extended address" (0x4D). */
  private extSegment = -1;

  constructor(
    readonly link: SerialLink,
    timeouts: Partial<Stk500v1Timeouts> = {},
  ) {
    this.timeouts = { ...DEFAULT_STK500V1_TIMEOUTS, ...timeouts };
  }

  /**
   * GET_SYNC until the bootloader answers INSYNC OK (avrdude stk500_getsync: up to 10 tries).
   * `beforeAttempt` runs before every try after the first (avrdude resets an Arduino again).
   * @throws {ProtocolError} 'protocol.no-sync' when no try succeeds.
   */
  async sync(
    options: CallOptions & { attempts?: number; beforeAttempt?: () => Promise<void> } = {},
  ): Promise<void> {
    const attempts = options.attempts ?? 10;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      throwIfAborted(options.signal);
      if (i > 0 && options.beforeAttempt) await options.beforeAttempt();
      this.link.input.discard();
      try {
        await this.exchange(encodeStk500v1(Stk.GET_SYNC), 0, this.timeouts.sync, options.signal);
        this.extSegment = -1;
        return;
      } catch (err) {
        if (!(err instanceof TimeoutError) && !(err instanceof ProtocolError)) throw err;
        last = err;
        await this.drain(options.signal);
      }
    }
    throw new ProtocolError('protocol.no-sync', 'The AVR bootloader does not answer (STK500).', {
      cause: last,
      hints: [
        'Press the reset button, or check that the port resets the board (DTR auto-reset).',
        'Check the line speed: 115200 for Uno-style boards (optiboot), 57600 for older Nanos.',
      ],
    });
  }

  /** GET_PARAMETER: one byte. */
  async getParameter(param: number, options: CallOptions = {}): Promise<number> {
    const r = await this.exchange(encodeStk500v1(Stk.GET_PARAMETER, param), 1, 0, options.signal);
    return r[0]!;
  }

  /** READ_SIGN: the three signature bytes. */
  readSignature(options: CallOptions = {}): Promise<Uint8Array> {
    return this.exchange(encodeStk500v1(Stk.READ_SIGN), 3, 0, options.signal);
  }

  /** ENTER_PROGMODE (optiboot accepts it and does nothing). */
  async enterProgmode(options: CallOptions = {}): Promise<void> {
    await this.exchange(encodeStk500v1(Stk.ENTER_PROGMODE), 0, 0, options.signal);
  }

  /** LEAVE_PROGMODE: optiboot starts the application 16 ms later (watchdog). */
  async leaveProgmode(options: CallOptions = {}): Promise<void> {
    await this.exchange(encodeStk500v1(Stk.LEAVE_PROGMODE), 0, 0, options.signal);
  }

  /** UNIVERSAL: a 4-byte ISP instruction; one result byte (bootloaders answer 0). */
  async universal(instruction: Uint8Array, options: CallOptions = {}): Promise<number> {
    const r = await this.exchange(encodeStk500v1(Stk.UNIVERSAL, instruction), 1, 0, options.signal);
    return r[0]!;
  }

  /**
   * LOAD_ADDRESS for a flash byte address. Above 128 KiB the upper bits go first through the
   * universal "load extended address" instruction 0x4D 0x00 ext 0x00, as avrdude's
   * stk500_loadaddr does for bootloaders.
   */
  async loadFlashAddress(byteAddress: number, options: CallOptions = {}): Promise<void> {
    const word = byteAddress >>> 1;
    const segment = word >>> 16;
    if (segment !== 0 || this.extSegment > 0) {
      if (segment !== this.extSegment) {
        await this.universal(Uint8Array.of(0x4d, 0x00, segment, 0x00), options);
        this.extSegment = segment;
      }
    }
    await this.exchange(encodeLoadAddress(word & 0xffff), 0, 0, options.signal);
  }

  /** PROG_PAGE of flash at the loaded address. */
  async progPage(data: Uint8Array, options: CallOptions = {}): Promise<void> {
    await this.exchange(encodeProgPage(data), 0, 0, options.signal);
  }

  /** READ_PAGE of `length` flash bytes at the loaded address. */
  readPage(length: number, options: CallOptions = {}): Promise<Uint8Array> {
    return this.exchange(
      encodeStk500v1(Stk.READ_PAGE, length >> 8, length, STK_FLASH),
      length,
      0,
      options.signal,
    );
  }

  /** Reads and drops what the board still sends, until it is quiet for 50 ms. */
  drain(signal?: AbortSignal): Promise<void> {
    return this.link.input.drainUntilQuiet(50, signal);
  }

  /**
   * Sends a frame and reads INSYNC, `n` data bytes and OK.
   * @throws {TimeoutError} when the answer does not come; {ProtocolError} 'protocol.bad-reply'
   *   for NOSYNC or any other byte where INSYNC/OK belongs, 'protocol.command-failed' for FAILED.
   */
  private async exchange(
    frame: Uint8Array,
    n: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const timeout = timeoutMs || this.timeouts.reply;
    const opcode = frame[0]!;
    await this.link.write(frame);
    const what = `the STK500 answer to 0x${opcode.toString(16)}`;
    const first = await this.link.input.readByte({ timeoutMs: timeout, signal, what });
    if (first !== StkResp.INSYNC) {
      throw new ProtocolError(
        'protocol.bad-reply',
        first === StkResp.NOSYNC
          ? `The bootloader is out of sync (NOSYNC to 0x${opcode.toString(16)}).`
          : `Expected INSYNC (0x14) to 0x${opcode.toString(16)}, got 0x${first.toString(16)}.`,
        { opcode, status: first },
      );
    }
    const data =
      n > 0
        ? await this.link.input.readExactly(n, { timeoutMs: timeout, signal, what })
        : new Uint8Array(0);
    const last = await this.link.input.readByte({ timeoutMs: timeout, signal, what });
    if (last === StkResp.FAILED) {
      throw new ProtocolError(
        'protocol.command-failed',
        `The bootloader refused 0x${opcode.toString(16)} (STK_FAILED).`,
        { opcode, status: last },
      );
    }
    if (last !== StkResp.OK) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `Expected OK (0x10) after 0x${opcode.toString(16)}, got 0x${last.toString(16)}.`,
        { opcode, status: last },
      );
    }
    return data.slice();
  }
}
