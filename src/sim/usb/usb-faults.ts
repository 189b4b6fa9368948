/**
 * Faults on a simulated USB device's control transfers (`SimUsbDevice.faults`), seeded:
 *
 * - a noisy cable: USB protects every packet with a CRC16 (USB 2.0 §8.3.5) and the host
 *   controller sends a packet that was not acknowledged again, giving up after three errors in
 *   a row (the "three strikes" of xHCI §4.10.2.7 and EHCI §4.10.3), so line noise reaches
 *   software not as changed bytes but as retransmissions and, rarely, a failed transfer. Each
 *   transaction (SETUP, every 64-byte data packet, status) is hit with probability
 *   `1 − (1 − byteRate)^(payload + 13)` (13 bytes of tokens, CRC and handshake, USB 2.0
 *   Table 5-9) per try; three hits in a row fail the transfer: before the device acted on it
 *   (SETUP, OUT data: 'error') or after (IN data, status: 'lost'). Each retransmission is
 *   counted as 'retry' and costs nothing measurable;
 * - a confused device: `fuzzer` rewrites the data of control IN replies (reply-fuzzer.ts), and
 *   with probability `stallRate` an OUT transfer the device took is answered with a STALL.
 *
 * Pure.
 */
import { TransportError } from '../../core/errors.ts';
import type { UsbSetup } from '../../transport/usb.ts';
import { Prng } from '../prng.ts';
import type { ReplyFuzzer } from '../reply-fuzzer.ts';
import type { SimInResult, SimOutResult, UsbFaultHook } from './sim-usb-device.ts';

/** How a noisy transfer ended for the host: failed before or after the device acted on it. */
type UsbNoiseKind = 'error' | 'lost';

export interface UsbFaultOptions {
  seed: number;
  /** Probability that a byte on the bus is damaged. Default 0. */
  byteRate?: number;
  /** Rewrites control IN data (a confused device). */
  fuzzer?: ReplyFuzzer;
  /** Probability that an OUT transfer the device took is answered with a STALL. Default 0. */
  stallRate?: number;
}

/** Counts of what was injected. */
export interface UsbFaultCounts {
  /** Transactions sent again after a damaged packet. */
  retry: number;
  error: number;
  lost: number;
  stall: number;
}

/** Bytes of a SETUP packet (USB 2.0 §9.3). */
const SETUP_BYTES = 8;
/** Bytes a transaction adds to its payload (USB 2.0 Table 5-9). */
const OVERHEAD_BYTES = 13;
/** Full-speed endpoint 0 packet size. */
const PACKET = 64;
/** Errors in a row after which the host controller gives up on a transaction. */
const STRIKES = 3;

/**
 * Seeded faults for `SimUsbDevice.faults`.
 * @example device.faults = new UsbFaultInjector({ seed: 7, byteRate: 1e-4 });
 */
export class UsbFaultInjector implements UsbFaultHook {
  readonly counts: UsbFaultCounts = { retry: 0, error: 0, lost: 0, stall: 0 };
  private readonly prng: Prng;

  constructor(private readonly options: UsbFaultOptions) {
    this.prng = new Prng(options.seed);
  }

  get seed(): number {
    return this.prng.seed;
  }

  async controlIn(
    _setup: UsbSetup,
    _length: number,
    answer: () => Promise<SimInResult>,
  ): Promise<SimInResult> {
    if (this.noise('before', 0)) throw this.transferError();
    const result = await answer();
    if (this.noise('after', result.data.length)) throw this.transferError();
    const fuzzer = this.options.fuzzer;
    if (!fuzzer || result.status !== 'ok') return result;
    return { status: 'ok', data: fuzzer.rewrite(result.data) };
  }

  async controlOut(
    _setup: UsbSetup,
    data: Uint8Array,
    answer: () => Promise<SimOutResult>,
  ): Promise<SimOutResult> {
    if (this.noise('before', data.length)) throw this.transferError();
    const result = await answer();
    if (this.noise('after', 0)) throw this.transferError();
    if (result.status === 'ok' && this.prng.chance(this.options.stallRate ?? 0)) {
      this.counts.stall++;
      return { status: 'stall', bytesWritten: 0 };
    }
    return result;
  }

  /**
   * Sends the transactions on one side of the device's work: 'before' is the SETUP and any OUT
   * data, 'after' any IN data and the status stage. True when one of them struck out.
   */
  private noise(side: 'before' | 'after', dataBytes: number): boolean {
    const rate = this.options.byteRate ?? 0;
    if (rate <= 0) return false;
    const payloads = side === 'before' ? [SETUP_BYTES] : [];
    for (let left = dataBytes; left > 0; left -= PACKET) payloads.push(Math.min(PACKET, left));
    if (side === 'after') payloads.push(0);
    for (const payload of payloads) {
      const hit = 1 - (1 - rate) ** (payload + OVERHEAD_BYTES);
      let strikes = 0;
      while (strikes < STRIKES && this.prng.chance(hit)) {
        strikes++;
        if (strikes < STRIKES) this.counts.retry++;
      }
      if (strikes === STRIKES) {
        const kind: UsbNoiseKind = side === 'before' ? 'error' : 'lost';
        this.counts[kind]++;
        return true;
      }
    }
    return false;
  }

  private transferError(): TransportError {
    return new TransportError(
      'transport.io',
      `A transfer error has occurred (simulated; fault seed ${this.seed}).`,
    );
  }
}
