/**
 * The command channel under the Espressif bootloader client (loader.ts): writes one SLIP-framed
 * command at a time and reads its reply, skipping stale replies (esptool serial protocol,
 * "Command Packet" / "Response Packet"; loader.py `command`).
 */
import type { Clock } from '../../core/clock.ts';
import { sleep } from '../../core/clock.ts';
import { ProtocolError, UsageError, throwIfAborted } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { silentLogger } from '../../core/log.ts';
import { SlipReader, slipEncode } from '../../framing/slip.ts';
import type { SerialLink } from '../../transport/link.ts';
import type { EspChip } from './chips.ts';
import {
  EspTimeouts,
  FLASH_WRITE_SIZE_ROM,
  FLASH_WRITE_SIZE_STUB,
  STATUS_BYTES_ESP32_ROM,
  STATUS_BYTES_STUB,
  commandName,
} from './constants.ts';
import type { ResponsePacket } from './packet.ts';
import { decodeResponse, encodeCommand } from './packet.ts';

export interface EspLoaderOptions {
  link: SerialLink;
  clock: Clock;
  logger?: Logger;
  /** Largest SLIP frame accepted from the device. */
  maxFrameLength?: number;
}

export interface CommandOptions {
  /** Checksum field (only *_DATA commands use it). */
  checksum?: number;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Throw on an error status (default true). */
  checkStatus?: boolean;
}

/** Frames to skip while waiting for the reply to a command (loader.py `command`: 100 retries). */
const MAX_STALE_REPLIES = 100;
/** After "invalid message" the ROM repeats its error; drain for this long (loader.py 0.2 s). */
const UNSUPPORTED_DRAIN_MS = 200;

/**
 * The command channel of the bootloader client: one command at a time, its reply picked out of
 * the SLIP frames received. EspLoader (loader.ts) adds the commands themselves.
 */
export class EspCommandChannel {
  readonly link: SerialLink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The detected chip, once `detectChip()` ran (or set by the caller). */
  chip: EspChip | undefined;
  /** True when talking to the esptool stub rather than the ROM. */
  isStub = false;
  private stubBlockSize: number = FLASH_WRITE_SIZE_STUB;
  private readonly reader: SlipReader;
  private busy = false;

  constructor(options: EspLoaderOptions) {
    this.link = options.link;
    this.clock = options.clock;
    this.logger = options.logger ?? silentLogger;
    this.reader = new SlipReader(options.link.input, {
      clock: options.clock,
      maxFrameLength: options.maxFrameLength ?? 0x4000 + 0x100,
    });
  }

  /** Status bytes per reply: 2 from the stub and the ESP8266 ROM, 4 from later ROMs. */
  get statusBytes(): number {
    if (this.isStub) return STATUS_BYTES_STUB;
    return this.chip?.romStatusBytes ?? STATUS_BYTES_ESP32_ROM;
  }

  /** FLASH_DATA / FLASH_DEFL_DATA block size for this loader. */
  get flashWriteSize(): number {
    return this.isStub ? this.stubBlockSize : FLASH_WRITE_SIZE_ROM;
  }

  /**
   * Halves the stub's block size for the next FLASH_*_BEGIN (down to the ROM's 1 KiB) after a
   * block was garbled on the way: on a noisy line a 16 KiB block is often hit (at one bad byte
   * in 50 000, more than a quarter of them), and each one must be sent again whole. The stub
   * takes any block size up to 16 KiB (esp-flasher-stub frame_buffer.h: a frame holds 8 + 0x4000
   * + 0xFF bytes; esptool's legacy stub refuses blocks over 16 KiB).
   */
  shrinkStubBlocks(): void {
    if (!this.isStub || this.stubBlockSize <= FLASH_WRITE_SIZE_ROM) return;
    this.stubBlockSize = Math.max(FLASH_WRITE_SIZE_ROM, this.stubBlockSize / 2);
    this.logger.info(`using ${this.stubBlockSize}-byte blocks from the next write on`);
  }

  /** Reads one raw SLIP frame: the stub's OHAI greeting, READ_FLASH data. */
  readFrame(options: {
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    what?: string;
  }): Promise<Uint8Array> {
    return this.reader.readFrame(options);
  }

  /** Drops everything received and not yet read (esptool `flush_input`). */
  flushInput(): void {
    const n = this.reader.discard();
    if (n > 0) this.logger.debug(`discarded ${n} stale bytes/frames`);
  }

  /**
   * Sends one command and waits for its reply, skipping stale replies to other commands
   * (serial protocol: "the host should continue to read response packets until one is received
   * where the Command field matches").
   * @throws {TimeoutError} {FramingError} {ProtocolError} (with opcode and status) AbortError.
   */
  async command(
    op: number,
    data: Uint8Array,
    options: CommandOptions = {},
  ): Promise<ResponsePacket> {
    if (this.busy) throw new UsageError('EspLoader: a command is already running');
    this.busy = true;
    try {
      throwIfAborted(options.signal);
      await this.link.write(slipEncode(encodeCommand(op, data, options.checksum ?? 0)));
      return await this.readReply(op, options);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Sends the commands with at most `depth` of them unanswered and returns their replies in
   * order. Only for a loader that takes a command while it works on the one before: the stub
   * receives one more frame while it works (esp-flasher-stub frame_buffer.c: two buffers), so
   * depth 2 saves the round trip between commands. The replies carry nothing that names their
   * command, so they are matched by order: one lost makes the last wait time out, and a caller
   * must use none of them unless all arrived.
   * `onReply` sees each reply as it arrives (for progress only, by the same rule).
   * @throws like `command`; on a throw the commands still unanswered are left in flight (the
   *   caller brings the loader back in step).
   */
  async pipeline(
    commands: readonly { op: number; data: Uint8Array; timeoutMs: number }[],
    options: {
      depth: number;
      signal?: AbortSignal | undefined;
      onReply?: (index: number, reply: ResponsePacket) => void;
    },
  ): Promise<ResponsePacket[]> {
    if (this.busy) throw new UsageError('EspLoader: a command is already running');
    this.busy = true;
    try {
      const replies: ResponsePacket[] = [];
      let sent = 0;
      while (replies.length < commands.length) {
        while (sent < commands.length && sent - replies.length < options.depth) {
          throwIfAborted(options.signal);
          const c = commands[sent++]!;
          await this.link.write(slipEncode(encodeCommand(c.op, c.data, 0)));
        }
        const c = commands[replies.length]!;
        const reply = await this.readReply(c.op, {
          timeoutMs: c.timeoutMs,
          signal: options.signal,
        });
        options.onReply?.(replies.length, reply);
        replies.push(reply);
      }
      return replies;
    } finally {
      this.busy = false;
    }
  }

  private async readReply(op: number, options: CommandOptions): Promise<ResponsePacket> {
    const timeoutMs = Math.min(options.timeoutMs ?? EspTimeouts.DEFAULT, EspTimeouts.MAX);
    const deadline = this.clock.now() + timeoutMs;
    for (let i = 0; i < MAX_STALE_REPLIES; i++) {
      const frame = await this.reader.readFrame({
        timeoutMs: Math.max(0, deadline - this.clock.now()),
        signal: options.signal,
        what: `Reply to ${commandName(op)}`,
      });
      if (frame.length < 8 || frame[0] !== 0x01) continue;
      if (frame[1] !== op) {
        const body = frame.subarray(8);
        const error = body.length >= 2 && body[body.length - this.statusOffsetFromEnd(body)] !== 0;
        if (!error) continue; // a stale reply, e.g. an extra SYNC answer
      }
      try {
        return decodeResponse(frame, {
          statusBytes: this.statusBytes,
          expectOp: op,
          checkStatus: options.checkStatus ?? true,
        });
      } catch (err) {
        if (err instanceof ProtocolError && err.code === 'protocol.unsupported') {
          await this.drainAfterUnsupported(options.signal);
        }
        throw err;
      }
    }
    throw new ProtocolError(
      'protocol.bad-reply',
      `No reply to ${commandName(op)} among the data received`,
      {
        opcode: op,
      },
    );
  }

  private statusOffsetFromEnd(body: Uint8Array): number {
    return Math.min(this.statusBytes, body.length);
  }

  private async drainAfterUnsupported(signal: AbortSignal | undefined): Promise<void> {
    await sleep(this.clock, UNSUPPORTED_DRAIN_MS, signal);
    this.flushInput();
  }

  /** command() then returns the value field (loader.py `check_command` with no reply data). */
  protected async check(
    op: number,
    data: Uint8Array,
    options: CommandOptions = {},
  ): Promise<number> {
    return (await this.command(op, data, options)).value;
  }
}
