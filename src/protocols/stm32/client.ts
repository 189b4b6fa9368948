/**
 * The host side of the STM32 USART bootloader protocol (ST AN3155): one method per command,
 * each bounded by a timeout on the injected Clock and cancellable through an AbortSignal.
 * The link must run 8E1 on real hardware (AN3155 §2: even parity).
 */
import type { Clock } from '../../core/clock.ts';
import {
  ProtocolError,
  TimeoutError,
  UsageError,
  WebflashError,
  throwIfAborted,
} from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { SerialLink } from '../../transport/link.ts';
import { RDP_GATED, Stm32NackError, readProtectedError } from './errors.ts';
import {
  ACK,
  BUSY,
  Command,
  MAX_BLOCK,
  NACK,
  SYNC,
  commandNames,
  decodeCrcReply,
  decodeGetReply,
  decodeIdReply,
  decodeVersionReply,
  encodeAddress,
  encodeChecksumLength,
  encodeCommand,
  encodeErase,
  encodeExtendedErase,
  encodeReadLength,
  encodeWriteData,
  encodeWriteProtect,
  type EraseRequest,
  type GetReply,
  type VersionReply,
} from './commands.ts';

/** Deadlines of the client, in milliseconds. Defaults follow stm32flash's (stm32.c). */
export interface Stm32Timeouts {
  /** An ACK to a command or a short reply. */
  ack: number;
  /** The answer to one 0x7F while synchronising. */
  sync: number;
  /** The ACK after a WRITE_MEMORY block (flash programming of 256 bytes). */
  blockWrite: number;
  /** Per page or sector erased (the F4's 128 KiB sector takes up to 4 s, DS8626). */
  sectorErase: number;
  /** Mass erase, readout (un)protect (stm32flash: 35 s). */
  massErase: number;
  /** One probe byte while resynchronising. */
  resyncProbe: number;
}

const DEFAULT_STM32_TIMEOUTS: Stm32Timeouts = {
  ack: 1000,
  sync: 500,
  blockWrite: 1000,
  sectorErase: 5000,
  massErase: 35_000,
  resyncProbe: 100,
};

export interface Stm32ClientOptions {
  clock: Clock;
  logger?: Logger;
  timeouts?: Partial<Stm32Timeouts>;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** One synchronised conversation with an STM32 system bootloader. */
export class Stm32Client {
  readonly link: SerialLink;
  readonly timeouts: Stm32Timeouts;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Opcodes GET reported; empty until `get()` ran. */
  private known: readonly number[] = [];

  constructor(link: SerialLink, options: Stm32ClientOptions) {
    this.link = link;
    this.clock = options.clock;
    this.log = options.logger ?? silentLogger;
    this.timeouts = { ...DEFAULT_STM32_TIMEOUTS, ...options.timeouts };
  }

  /** Opcodes GET listed (after `get()`). */
  get commands(): readonly number[] {
    return this.known;
  }

  /** True when GET listed `op` (or GET has not run yet). */
  supports(op: number): boolean {
    return this.known.length === 0 || this.known.includes(op);
  }

  /**
   * Sends 0x7F so the bootloader measures the baud rate, and waits for its ACK (AN3155 §2).
   * A bootloader that is already synchronised takes 0x7F for a command byte: a second 0x7F then
   * fails the complement check and draws a NACK, which also means "in step" (as stm32flash does).
   * @throws {ProtocolError} 'protocol.no-sync' when nothing answers after `attempts` tries.
   */
  async sync(options: CallOptions & { attempts?: number } = {}): Promise<'ack' | 'nack'> {
    const attempts = options.attempts ?? 4;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      throwIfAborted(options.signal);
      this.link.input.discard();
      await this.link.write(Uint8Array.of(SYNC));
      try {
        const b = await this.readByte(this.timeouts.sync, 'the answer to 0x7F', options.signal);
        if (b === ACK) return 'ack';
        if (b === NACK) return 'nack';
        lastError = new ProtocolError(
          'protocol.bad-reply',
          `Got 0x${b.toString(16)} instead of ACK to 0x7F`,
        );
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        lastError = err;
      }
    }
    throw new ProtocolError('protocol.no-sync', 'The STM32 bootloader does not answer.', {
      cause: lastError,
      hints: [
        'Start the chip in its system bootloader: BOOT0 high (jumper or DTR), then reset.',
        'Check the wiring: adapter TX to the chip RX (PA10 on most parts), RX to TX (PA9), common ground.',
        'Use 8 data bits, even parity, 1 stop bit, at 115200 baud or less.',
      ],
    });
  }

  /**
   * Brings the conversation back to "waiting for a command" after a timeout, a lost byte or a
   * device reset: sends 0x7F until the bootloader answers (an ACK after a reset, a NACK once
   * whatever frame it was reading is complete), then checks with GET_VERSION.
   * @throws {ProtocolError} 'protocol.no-sync' after `maxProbes` bytes without a sane answer.
   */
  async resync(options: CallOptions & { maxProbes?: number } = {}): Promise<void> {
    const maxProbes = options.maxProbes ?? 40;
    this.link.input.discard();
    for (let probe = 0; probe < maxProbes; probe++) {
      throwIfAborted(options.signal);
      // Probes: single 0x7F bytes (a frame short by a byte or two is the usual case, and a chip
      // that reset answers only 0x7F), and from the ninth on mostly bursts of 16 × 0xFE, so that
      // even a 258-byte write block still waiting for its data ends in seconds. 0xFE because a
      // block made only of an even, non-zero filler byte can never pass the XOR checksum
      // (N = f, f+1 bytes of f, checksum f: the XOR is f), whereas 0x7F would (AN3155 §3.6).
      // The input is not discarded between probes: a late answer still counts.
      const single = probe < 8 || probe % 4 === 0;
      await this.link.write(single ? Uint8Array.of(SYNC) : new Uint8Array(16).fill(0xfe));
      let b: number;
      try {
        b = await this.readByte(this.timeouts.resyncProbe, 'a resync probe', options.signal);
      } catch (err) {
        if (err instanceof TimeoutError) continue;
        throw err;
      }
      if (b !== ACK && b !== NACK) {
        await this.drainUntilQuiet(options.signal); // the tail of an earlier reply
        continue;
      }
      // The bootloader is listening. Let stale answers (NACKs to leftover probe bytes) arrive
      // and drop them until the line is quiet. A burst may have left it holding half a command
      // pair: `sync()` realigns (a lone 0x7F completes the pair, or becomes a command byte
      // whose bad complement, the next 0x7F, draws the NACK). Then check with a harmless
      // command; on a lagging link that may take a few rounds.
      for (let check = 0; check < 3; check++) {
        await this.drainUntilQuiet(options.signal);
        try {
          await this.sync({ signal: options.signal, attempts: 2 });
          await this.drainUntilQuiet(options.signal);
          await this.getVersion(options);
          this.log.debug(`Back in step after ${probe + 1} probe(s).`);
          return;
        } catch (err) {
          if (!(err instanceof WebflashError) || err.code === 'aborted') throw err;
          if (err.code.startsWith('transport.')) throw err;
        }
      }
    }
    throw new ProtocolError(
      'protocol.no-sync',
      'Could not get back in step with the STM32 bootloader.',
      {
        hints: ['Reset the board with BOOT0 high and try again.'],
      },
    );
  }

  /** GET (AN3155 §3.1): protocol version and the opcodes the bootloader accepts. */
  async get(options: CallOptions = {}): Promise<GetReply> {
    await this.command(Command.GET, options);
    const n = await this.readByte(this.timeouts.ack, 'GET length', options.signal);
    const rest = await this.read(n + 1, 'GET reply', options.signal);
    await this.expectAck(Command.GET, 'reply', this.timeouts.ack, options.signal);
    const frame = new Uint8Array(n + 2);
    frame[0] = n;
    frame.set(rest, 1);
    const reply = decodeGetReply(frame);
    this.known = reply.commands;
    return reply;
  }

  /** GET_VERSION (AN3155 §3.2): version and two option bytes. */
  async getVersion(options: CallOptions = {}): Promise<VersionReply> {
    await this.command(Command.GET_VERSION, options);
    const frame = await this.read(3, 'GET_VERSION reply', options.signal);
    await this.expectAck(Command.GET_VERSION, 'reply', this.timeouts.ack, options.signal);
    return decodeVersionReply(frame);
  }

  /** GET_ID (AN3155 §3.3): the product id. */
  async getId(options: CallOptions = {}): Promise<number> {
    await this.command(Command.GET_ID, options);
    const n = await this.readByte(this.timeouts.ack, 'GET_ID length', options.signal);
    const rest = await this.read(n + 1, 'GET_ID reply', options.signal);
    await this.expectAck(Command.GET_ID, 'reply', this.timeouts.ack, options.signal);
    const frame = new Uint8Array(n + 2);
    frame[0] = n;
    frame.set(rest, 1);
    return decodeIdReply(frame);
  }

  /** READ_MEMORY (AN3155 §3.4): 1..256 bytes from `address`. */
  async readMemory(
    address: number,
    length: number,
    options: CallOptions = {},
  ): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > MAX_BLOCK) {
      throw new UsageError(`length must be 1..${MAX_BLOCK}, got ${String(length)}`);
    }
    await this.command(Command.READ_MEMORY, options);
    await this.send(encodeAddress(address));
    await this.expectAck(Command.READ_MEMORY, 'address', this.timeouts.ack, options.signal);
    await this.send(encodeReadLength(length));
    await this.expectAck(Command.READ_MEMORY, 'length', this.timeouts.ack, options.signal);
    return this.read(length, `${length} bytes of memory`, options.signal);
  }

  /**
   * WRITE_MEMORY (AN3155 §3.6): 1..256 bytes at `address`. Flash must be erased first; the
   * ACK comes once the block is programmed.
   */
  async writeMemory(address: number, data: Uint8Array, options: CallOptions = {}): Promise<void> {
    const block = encodeWriteData(data); // checks the length first
    await this.command(Command.WRITE_MEMORY, options);
    await this.send(encodeAddress(address));
    await this.expectAck(Command.WRITE_MEMORY, 'address', this.timeouts.ack, options.signal);
    await this.send(block);
    await this.expectAck(Command.WRITE_MEMORY, 'data', this.timeouts.blockWrite, options.signal);
  }

  /**
   * Erases pages (or sectors), or everything: ERASE 0x43 or EXTENDED_ERASE 0x44, whichever GET
   * listed (AN3155 §3.7, §3.8: a bootloader has exactly one of them).
   */
  async erase(request: EraseRequest, options: CallOptions = {}): Promise<void> {
    const extended =
      this.known.includes(Command.EXTENDED_ERASE) || !this.known.includes(Command.ERASE);
    const op = extended ? Command.EXTENDED_ERASE : Command.ERASE;
    const params = extended ? encodeExtendedErase(request) : encodeErase(request);
    const timeout =
      request.kind === 'mass'
        ? this.timeouts.massErase
        : Math.min(this.timeouts.massErase, this.timeouts.sectorErase * request.pages.length);
    await this.command(op, options);
    await this.send(params);
    await this.expectAck(op, 'erase parameters', timeout, options.signal);
  }

  /** GO (AN3155 §3.5): the bootloader loads SP from `address` and jumps to the reset vector at `address + 4`. */
  async go(address: number, options: CallOptions = {}): Promise<void> {
    await this.command(Command.GO, options);
    await this.send(encodeAddress(address));
    await this.expectAck(Command.GO, 'address', this.timeouts.ack, options.signal);
  }

  /** WRITE_PROTECT (AN3155 §3.9): protects the given sectors; the chip resets afterwards. */
  async writeProtect(sectors: readonly number[], options: CallOptions = {}): Promise<void> {
    const params = encodeWriteProtect(sectors);
    await this.command(Command.WRITE_PROTECT, options);
    await this.send(params);
    await this.expectAck(
      Command.WRITE_PROTECT,
      'sector list',
      this.timeouts.massErase,
      options.signal,
    );
  }

  /** WRITE_UNPROTECT (AN3155 §3.10): removes write protection; the chip resets afterwards. */
  async writeUnprotect(options: CallOptions = {}): Promise<void> {
    await this.command(Command.WRITE_UNPROTECT, options);
    await this.expectAck(
      Command.WRITE_UNPROTECT,
      'option byte update',
      this.timeouts.massErase,
      options.signal,
    );
  }

  /** READOUT_PROTECT (AN3155 §3.11): sets RDP level 1; the chip resets afterwards. */
  async readoutProtect(options: CallOptions = {}): Promise<void> {
    await this.command(Command.READOUT_PROTECT, options);
    await this.expectAck(
      Command.READOUT_PROTECT,
      'option byte update',
      this.timeouts.massErase,
      options.signal,
    );
  }

  /**
   * READOUT_UNPROTECT (AN3155 §3.12): ERASES THE WHOLE FLASH, clears RDP; the chip resets and
   * must be synchronised again with 0x7F.
   */
  async readoutUnprotect(options: CallOptions = {}): Promise<void> {
    await this.command(Command.READOUT_UNPROTECT, options);
    await this.expectAck(
      Command.READOUT_UNPROTECT,
      'mass erase',
      this.timeouts.massErase,
      options.signal,
    );
  }

  /**
   * GET_CHECKSUM (0xA1, where GET lists it): the STM32 CRC (see crc.ts) of `length` bytes at
   * `address`, both multiples of 4. Sequence as stm32flash's `stm32_crc_memory`: address, ACK,
   * length, ACK, ACK when computed, then the CRC with its XOR checksum.
   */
  async checksum(address: number, length: number, options: CallOptions = {}): Promise<number> {
    if (address % 4 !== 0 || length % 4 !== 0 || length <= 0) {
      throw new UsageError('checksum: address and length must be positive multiples of 4');
    }
    await this.command(Command.GET_CHECKSUM, options);
    await this.send(encodeAddress(address));
    await this.expectAck(Command.GET_CHECKSUM, 'address', this.timeouts.ack, options.signal);
    await this.send(encodeChecksumLength(length));
    await this.expectAck(Command.GET_CHECKSUM, 'length', this.timeouts.ack, options.signal);
    await this.expectAck(
      Command.GET_CHECKSUM,
      'computation',
      this.timeouts.massErase,
      options.signal,
    );
    return decodeCrcReply(await this.read(5, 'the CRC', options.signal));
  }

  // ---- plumbing -------------------------------------------------------------------------

  /** Drops incoming bytes until none came for one probe period (at most ~50 periods). */
  private async drainUntilQuiet(signal: AbortSignal | undefined): Promise<void> {
    const quiet = this.timeouts.resyncProbe;
    for (let i = 0; i < 50; i++) {
      try {
        await this.link.input.read(4096, { timeoutMs: quiet, signal, what: 'stale bytes' });
      } catch (err) {
        if (err instanceof TimeoutError) return;
        throw err;
      }
    }
  }

  private async command(op: number, options: CallOptions): Promise<void> {
    throwIfAborted(options.signal);
    if (!this.supports(op)) {
      throw new ProtocolError(
        'protocol.unsupported',
        `This STM32 bootloader does not offer ${commandNames[op] ?? `command 0x${op.toString(16)}`}.`,
        { opcode: op },
      );
    }
    this.link.input.discard();
    await this.send(encodeCommand(op));
    const b = await this.readAck(
      this.timeouts.ack,
      `ACK to ${commandNames[op] ?? op}`,
      options.signal,
    );
    if (b === NACK) {
      if (!RDP_GATED.has(op)) throw new Stm32NackError(op, 'command byte', true);
      // A damaged command byte, or a late answer to something earlier, also looks like a NACK:
      // ask twice more on a quiet line before concluding that read protection refuses it
      // (after a NACK the bootloader waits for a command again).
      for (let i = 0; ; i++) {
        await this.drainUntilQuiet(options.signal);
        await this.send(encodeCommand(op));
        const again = await this.readAck(
          this.timeouts.ack,
          `ACK to ${commandNames[op] ?? op}`,
          options.signal,
        );
        if (again === ACK) break;
        if (i === 1) throw readProtectedError(op);
      }
    }
  }

  private async expectAck(
    op: number,
    stage: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    retryable = true,
  ): Promise<void> {
    const b = await this.readAck(
      timeoutMs,
      `ACK after the ${stage} of ${commandNames[op] ?? op}`,
      signal,
    );
    if (b === NACK) throw new Stm32NackError(op, stage, retryable);
  }

  /** Reads ACK or NACK, skipping BUSY bytes while the deadline lasts. */
  private async readAck(
    timeoutMs: number,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const left = Math.max(1, deadline - this.clock.now());
      const b = await this.readByte(left, what, signal, timeoutMs);
      if (b === ACK || b === NACK) return b;
      if (b === BUSY) continue;
      throw new ProtocolError(
        'protocol.bad-reply',
        `Expected ACK (0x79), got 0x${b.toString(16)} (${what}).`,
        {
          status: b,
        },
      );
    }
  }

  private async readByte(
    timeoutMs: number,
    what: string,
    signal: AbortSignal | undefined,
    reportedTimeout = timeoutMs,
  ): Promise<number> {
    try {
      return await this.link.input.readByte({ timeoutMs, signal, what });
    } catch (err) {
      if (err instanceof TimeoutError && reportedTimeout !== timeoutMs) {
        throw new TimeoutError(`Waiting for ${what}`, reportedTimeout, { cause: err });
      }
      throw err;
    }
  }

  private read(n: number, what: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
    return this.link.input.readExactly(n, { timeoutMs: this.timeouts.ack, signal, what });
  }

  private send(bytes: Uint8Array): Promise<void> {
    return this.link.write(bytes);
  }
}
