/**
 * Timing of control transfers on a full-speed USB bus (USB 2.0 §5.5, §5.11.3, §8.5.3). Pure.
 *
 * - The bus runs at 12 Mb/s: 1500 byte times per 1 ms frame. The SOF packet opens every
 *   frame; the transaction-limit tables of USB 2.0 chapter 5 count 1495 bytes per frame for
 *   transactions.
 * - A control transfer is a SETUP transaction (8 data bytes), one DATA transaction per
 *   64-byte packet (wMaxPacketSize of endpoint 0 at full speed; a short last packet) and a
 *   zero-length STATUS transaction. Each transaction costs its payload plus 13 bytes of
 *   tokens, CRCs, handshake and inter-packet gaps (USB 2.0 Table 5-9, "protocol overhead"), so
 *   19 full 64-byte packets fit a frame (1216 payload bytes per frame, 1.216 MB/s).
 * - A transaction is never split across frames: one that does not fit in what is left of the
 *   frame waits for the next SOF.
 * - The bus has no other traffic. USB 2.0 §5.5.4 reserves at least 10% of a frame for control
 *   transfers when periodic endpoints use the rest; with none, control transfers may use the
 *   whole frame.
 * - A transfer completes when its STATUS handshake ends, and the next one may start at once in
 *   the same frame (an xHCI host controller reports completions as they happen; nothing in
 *   USB 2.0 ties a transfer's end to the frame's end).
 * - Host software time between transfers (the browser's IPC, the operating system's URB
 *   completion) is not modelled.
 */
import { sleep, type Clock } from '../../core/clock.ts';

export interface UsbLinkModelOptions {
  /** Endpoint 0 max packet size. Default 64 (full speed). */
  packetSize?: number;
  /** Frame length in ms. Default 1 (full speed). */
  frameMs?: number;
  /** Byte times in one frame. Default 1500 (12 Mb/s × 1 ms). */
  frameBytes?: number;
  /** Byte times of a frame usable for transactions (the rest is the SOF). Default 1495. */
  usableFrameBytes?: number;
  /** Byte times a transaction adds to its payload. Default 13 (USB 2.0 Table 5-9). */
  transactionOverheadBytes?: number;
}

/** Bytes in the data stage of a SETUP transaction (USB 2.0 §9.3). */
const SETUP_BYTES = 8;
/** Slack for floating-point comparisons of times, in ms. */
const EPSILON = 1e-9;

/** Schedules control transfers onto the bus on the injected Clock. */
export class UsbLinkModel {
  readonly packetSize: number;
  readonly frameMs: number;
  readonly frameBytes: number;
  readonly usableFrameBytes: number;
  readonly transactionOverheadBytes: number;
  /** Time until which the bus is booked. */
  private busyUntil = 0;

  constructor(
    private readonly clock: Clock,
    options: UsbLinkModelOptions = {},
  ) {
    this.packetSize = options.packetSize ?? 64;
    this.frameMs = options.frameMs ?? 1;
    this.frameBytes = options.frameBytes ?? 1500;
    this.usableFrameBytes = options.usableFrameBytes ?? 1495;
    this.transactionOverheadBytes = options.transactionOverheadBytes ?? 13;
    const largest = this.packetSize + this.transactionOverheadBytes;
    if (this.usableFrameBytes > this.frameBytes || largest > this.usableFrameBytes)
      throw new RangeError('usableFrameBytes must hold one full packet and fit in frameBytes');
  }

  /** Payload bytes of each transaction of a control transfer with `dataBytes` in its data stage. */
  transactions(dataBytes: number): number[] {
    const out = [SETUP_BYTES];
    for (let left = dataBytes; left > 0; left -= this.packetSize)
      out.push(Math.min(left, this.packetSize));
    out.push(0); // STATUS
    return out;
  }

  /** Full data packets that fit one frame (19 at full speed). */
  get packetsPerFrame(): number {
    return Math.floor(this.usableFrameBytes / (this.packetSize + this.transactionOverheadBytes));
  }

  /**
   * Bus time of `dataBytes` moved as back-to-back full packets at the frame rate (the data
   * stages alone, without SETUP and STATUS): the most any protocol can get out of the bus.
   */
  dataStageMs(dataBytes: number): number {
    return (Math.ceil(dataBytes / this.packetSize) / this.packetsPerFrame) * this.frameMs;
  }

  /**
   * Books the bus for a control transfer starting now (or when the transfers booked before it
   * have finished); returns the time its last transaction ends.
   */
  schedule(dataBytes: number): number {
    let t = Math.max(this.clock.now(), this.busyUntil);
    for (const payload of this.transactions(dataBytes))
      t = this.place(t, payload + this.transactionOverheadBytes);
    this.busyUntil = t;
    return t;
  }

  /** Waits until a transfer of `dataBytes` started now has completed. */
  async transfer(dataBytes: number): Promise<void> {
    const end = this.schedule(dataBytes);
    await sleep(this.clock, Math.max(0, end - this.clock.now()));
  }

  /** Places one transaction of `bytes` byte times at or after `t`; returns when it ends. */
  private place(t: number, bytes: number): number {
    const byteMs = this.frameMs / this.frameBytes;
    const frame = Math.floor(t / this.frameMs + EPSILON);
    const frameStart = frame * this.frameMs;
    const firstSlot = frameStart + (this.frameBytes - this.usableFrameBytes) * byteMs;
    const start = Math.max(t, firstSlot);
    const end = start + bytes * byteMs;
    if (end <= frameStart + this.frameMs + EPSILON) return end;
    // Too late in this frame: after the next SOF.
    const next = frameStart + this.frameMs + (this.frameBytes - this.usableFrameBytes) * byteMs;
    return next + bytes * byteMs;
  }
}
