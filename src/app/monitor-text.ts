/**
 * The serial monitor's text: bytes from the board decoded as UTF-8 across chunk boundaries,
 * terminal escape sequences removed (ECMA-48 §5.4 control sequences, §8.3.89 OSC strings) so
 * colour codes from ESP-IDF's logger and stray control bytes never reach the page, line endings
 * made "\n", and the buffer capped to its newest characters.
 */
/* eslint-disable no-control-regex -- terminal escape sequences are made of control characters */

/** Most characters the monitor keeps (the oldest are dropped first). */
export const MAX_MONITOR_CHARS = 64 * 1024;

// CSI ("ESC [" … final byte), OSC ("ESC ]" … BEL or ST), other two-byte escapes, and C0/C1
// controls other than tab and newline.
const ESCAPES =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Removes terminal escape sequences and control characters, keeping tab and newline; "\r\n"
 * and a lone "\r" become "\n".
 * @example cleanTerminalText('\u001b[0;32mI (31) boot\u001b[0m\r\n') // "I (31) boot\n"
 */
export function cleanTerminalText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(ESCAPES, '');
}

/** Streaming decoder with a capped buffer. */
export class MonitorText {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private pendingEscape = '';
  private buffer = '';

  constructor(private readonly maxChars: number = MAX_MONITOR_CHARS) {
    if (!Number.isSafeInteger(maxChars) || maxChars < 1) {
      throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
    }
  }

  /** The text so far (at most `maxChars`). */
  get text(): string {
    return this.buffer;
  }

  /** Adds received bytes; returns the new text. */
  push(bytes: Uint8Array): string {
    let chunk = this.pendingEscape + this.decoder.decode(bytes, { stream: true });
    // An escape sequence or "\r" cut at the end of a chunk waits for the rest.
    const cut = /\u001b(?:\[[0-?]*[ -/]*|\][^\u0007\u001b]*)?$|\r$/.exec(chunk);
    if (cut && chunk.length - cut.index < 256) {
      this.pendingEscape = chunk.slice(cut.index);
      chunk = chunk.slice(0, cut.index);
    } else {
      this.pendingEscape = '';
    }
    this.buffer += cleanTerminalText(chunk);
    if (this.buffer.length > this.maxChars) this.buffer = this.buffer.slice(-this.maxChars);
    return this.buffer;
  }

  /** Empties the buffer (the decoder keeps a character cut in two). */
  clear(): void {
    this.buffer = '';
  }
}
