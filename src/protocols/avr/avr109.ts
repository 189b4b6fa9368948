/**
 * The host side of Atmel AVR109 ("Self-programming", the AVR910-style one-letter commands) as
 * Caterina, the Leonardo/Micro bootloader, answers it and avrdude's `avr109` programmer uses it
 * (avrdude src/butterfly.c; Caterina.c CDC_Task). Commands are ASCII letters; most answer a
 * carriage return ('\r') on success and '?' for an unknown command; ESC (27) is ignored.
 */
import { ProtocolError, TimeoutError, throwIfAborted } from '../../core/errors.ts';
import type { SerialLink } from '../../transport/link.ts';

const CR = 0x0d;
const ESC = 0x1b;
const ch = (c: string): number => c.charCodeAt(0);

interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** One conversation with an AVR109 bootloader. */
export class Avr109Client {
  constructor(
    readonly link: SerialLink,
    private readonly timeoutMs = 1000,
  ) {}

  /**
   * ESC, drain, 'S' until the 7-character software identifier comes back (avrdude
   * butterfly_initialize). Returns it ("CATERIN").
   * @throws {ProtocolError} 'protocol.no-sync'.
   */
  async sync(options: CallOptions & { attempts?: number } = {}): Promise<string> {
    const attempts = options.attempts ?? 10;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      throwIfAborted(options.signal);
      await this.link.write(Uint8Array.of(ESC));
      await this.drain(options.signal);
      try {
        const id = await this.ask('S', 7, { ...options, timeoutMs: 300 });
        if (id[0] !== ch('?')) return String.fromCharCode(...id);
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        last = err;
      }
    }
    throw new ProtocolError('protocol.no-sync', 'The AVR109 bootloader does not answer.', {
      cause: last,
      hints: [
        'Press RESET twice quickly: the bootloader waits 8 seconds for the update.',
        'Choose the port that appears while the bootloader runs.',
      ],
    });
  }

  /** Sends a command and reads `n` answer bytes. */
  async ask(
    command: string | Uint8Array,
    n: number,
    options: CallOptions & { timeoutMs?: number } = {},
  ): Promise<Uint8Array> {
    const bytes =
      typeof command === 'string' ? Uint8Array.from(command, (c) => c.charCodeAt(0)) : command;
    await this.link.write(bytes);
    return (
      await this.link.input.readExactly(n, {
        timeoutMs: options.timeoutMs ?? this.timeoutMs,
        signal: options.signal,
        what: `the AVR109 answer to '${String.fromCharCode(bytes[0]!)}'`,
      })
    ).slice();
  }

  /** A command answered by '\r'. @throws {ProtocolError} 'protocol.command-failed' for '?'. */
  async expectCr(
    command: string | Uint8Array,
    options: CallOptions & { timeoutMs?: number } = {},
  ): Promise<void> {
    const r = await this.ask(command, 1, options);
    if (r[0] !== CR) {
      const op = typeof command === 'string' ? command.charCodeAt(0) : command[0]!;
      const unknown = r[0] === ch('?');
      const err = new ProtocolError(
        unknown ? 'protocol.command-failed' : 'protocol.bad-reply',
        `The bootloader answered 0x${r[0]!.toString(16)} to '${String.fromCharCode(op)}' instead of a carriage return.`,
        { opcode: op, status: r[0]! },
      );
      // Caterina answers '?' only to a command byte it does not know (Caterina.c CDC_Task,
      // the final else): for the commands sent here, all of which it knows, the byte arrived
      // damaged, so the engine may sync again and resume.
      if (unknown) (err as ProtocolError & { retryable: boolean }).retryable = true;
      throw err;
    }
  }

  /** 's': the signature, which AVR109 sends last byte first (avrdude butterfly_read_sig_bytes). */
  async readSignature(options: CallOptions = {}): Promise<Uint8Array> {
    const r = await this.ask('s', 3, options);
    return Uint8Array.of(r[2]!, r[1]!, r[0]!);
  }

  /** 'b': block mode support and size. */
  async blockSize(options: CallOptions = {}): Promise<number | undefined> {
    const r = await this.ask('b', 3, options);
    return r[0] === ch('Y') ? (r[1]! << 8) | r[2]! : undefined;
  }

  /** 'A': word address, big-endian (flash). Above 128 KiB AVR109 bootloaders take 'H' instead. */
  async setAddress(byteAddress: number, options: CallOptions = {}): Promise<void> {
    const word = byteAddress >>> 1;
    if (word < 0x10000)
      await this.expectCr(Uint8Array.of(ch('A'), word >> 8, word & 0xff), options);
    else
      await this.expectCr(
        Uint8Array.of(ch('H'), word >> 16, (word >> 8) & 0xff, word & 0xff),
        options,
      );
  }

  /** 'B' … 'F': one flash block (Caterina erases and writes the page at the address). */
  async writeBlock(data: Uint8Array, options: CallOptions = {}): Promise<void> {
    const cmd = new Uint8Array(4 + data.length);
    cmd.set([ch('B'), data.length >> 8, data.length & 0xff, ch('F')]);
    cmd.set(data, 4);
    await this.expectCr(cmd, options);
  }

  /** 'g' … 'F': read a flash block. */
  readBlock(length: number, options: CallOptions = {}): Promise<Uint8Array> {
    return this.ask(Uint8Array.of(ch('g'), length >> 8, length & 0xff, ch('F')), length, options);
  }

  /** Reads and drops input until the line is quiet for 50 ms. */
  drain(signal?: AbortSignal): Promise<void> {
    return this.link.input.drainUntilQuiet(50, signal);
  }
}
