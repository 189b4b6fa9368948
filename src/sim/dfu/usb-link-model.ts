/**
 * Timing of control transfers on a full-speed USB bus (USB 2.0 §5.5, §8.5.3): the host
 * schedules transactions into 1 ms frames; a control transfer is a SETUP transaction, one DATA
 * transaction per 64-byte packet (wMaxPacketSize of endpoint 0 at full speed) and a STATUS
 * transaction. A frame carries a limited number of transactions (bandwidth: about 1500 bytes
 * of a 12 Mbit/s frame, of which a 64-byte DATA packet with tokens and handshake takes ~80).
 * The transfer completes at the end of the frame of its last transaction. Pure.
 */
import { sleep, type Clock } from '../../core/clock.ts';

export interface UsbLinkModelOptions {
  /** Endpoint 0 max packet size. Default 64 (full speed). */
  packetSize?: number;
  /** Frame length in ms. Default 1 (full speed). */
  frameMs?: number;
  /** Transactions the host fits in one frame. Default 16. */
  transactionsPerFrame?: number;
}

/** Schedules control transfers into frames on the injected Clock. */
export class UsbLinkModel {
  readonly packetSize: number;
  readonly frameMs: number;
  readonly transactionsPerFrame: number;
  private frame = 0;
  private slot = 0;

  constructor(
    private readonly clock: Clock,
    options: UsbLinkModelOptions = {},
  ) {
    this.packetSize = options.packetSize ?? 64;
    this.frameMs = options.frameMs ?? 1;
    this.transactionsPerFrame = options.transactionsPerFrame ?? 16;
  }

  /** Transactions of a control transfer with `dataBytes` in its data stage. */
  transactions(dataBytes: number): number {
    return 2 + Math.ceil(dataBytes / this.packetSize);
  }

  /**
   * Books the bus for a transfer starting now; returns the time it completes. Transfers
   * queue behind each other.
   */
  schedule(dataBytes: number): number {
    const nowFrame = Math.ceil(this.clock.now() / this.frameMs - 1e-9);
    if (nowFrame > this.frame || (nowFrame === this.frame && this.slot === 0)) {
      this.frame = nowFrame;
      this.slot = 0;
    }
    let left = this.transactions(dataBytes);
    for (;;) {
      const room = this.transactionsPerFrame - this.slot;
      if (left <= room) {
        this.slot += left;
        break;
      }
      left -= room;
      this.frame++;
      this.slot = 0;
    }
    const end = (this.frame + 1) * this.frameMs;
    if (this.slot >= this.transactionsPerFrame) {
      this.frame++;
      this.slot = 0;
    }
    return end;
  }

  /** Waits until a transfer of `dataBytes` started now has completed. */
  async transfer(dataBytes: number): Promise<void> {
    const end = this.schedule(dataBytes);
    await sleep(this.clock, Math.max(0, end - this.clock.now()));
  }
}
