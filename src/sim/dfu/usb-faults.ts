/**
 * Faults on a simulated USB device's control transfers (`SimUsbDevice.faults`), seeded:
 *
 * - a noisy cable: USB protects every packet with a CRC and the host controller retries a bad
 *   one three times (USB 2.0 §8.5, §11.17.2), so line noise reaches software not as changed
 *   bytes but as transfers that fail or come late. With probability `1 − (1 − byteRate)^n` for
 *   a transfer of n bytes (its 8-byte SETUP included) one of: the request never reached the
 *   device ('error'); the device acted on it but the host saw the transfer fail ('lost'); it
 *   completed `delayMs` late ('delay');
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
import { sleep, type Clock } from '../../core/clock.ts';

export type UsbNoiseKind = 'error' | 'lost' | 'delay';

export interface UsbFaultOptions {
  clock: Clock;
  seed: number;
  /** Probability per byte moved that the transfer goes wrong. Default 0. */
  byteRate?: number;
  /** What a noisy transfer does; drawn equally. Default all three. */
  kinds?: readonly UsbNoiseKind[];
  /** How late a delayed transfer completes. Default 100 ms. */
  delayMs?: number;
  /** Rewrites control IN data (a confused device). */
  fuzzer?: ReplyFuzzer;
  /** Probability that an OUT transfer the device took is answered with a STALL. Default 0. */
  stallRate?: number;
}

/** Counts of what was injected. */
export interface UsbFaultCounts {
  error: number;
  lost: number;
  delay: number;
  stall: number;
}

/** Bytes of a SETUP packet (USB 2.0 §9.3). */
const SETUP_BYTES = 8;

/**
 * Seeded faults for `SimUsbDevice.faults`.
 * @example device.faults = new UsbFaultInjector({ clock, seed: 7, byteRate: 1e-4 });
 */
export class UsbFaultInjector implements UsbFaultHook {
  readonly counts: UsbFaultCounts = { error: 0, lost: 0, delay: 0, stall: 0 };
  private readonly prng: Prng;

  constructor(private readonly options: UsbFaultOptions) {
    this.prng = new Prng(options.seed);
  }

  get seed(): number {
    return this.prng.seed;
  }

  async controlIn(
    _setup: UsbSetup,
    length: number,
    answer: () => Promise<SimInResult>,
  ): Promise<SimInResult> {
    const noise = this.noise(SETUP_BYTES + length);
    if (noise === 'error') throw this.transferError();
    const result = await answer();
    if (noise === 'lost') throw this.transferError();
    if (noise === 'delay') await sleep(this.options.clock, this.options.delayMs ?? 100);
    const fuzzer = this.options.fuzzer;
    if (!fuzzer || result.status !== 'ok') return result;
    return { status: 'ok', data: fuzzer.rewrite(result.data) };
  }

  async controlOut(
    _setup: UsbSetup,
    data: Uint8Array,
    answer: () => Promise<SimOutResult>,
  ): Promise<SimOutResult> {
    const noise = this.noise(SETUP_BYTES + data.length);
    if (noise === 'error') throw this.transferError();
    const result = await answer();
    if (noise === 'lost') throw this.transferError();
    if (noise === 'delay') await sleep(this.options.clock, this.options.delayMs ?? 100);
    if (result.status === 'ok' && this.prng.chance(this.options.stallRate ?? 0)) {
      this.counts.stall++;
      return { status: 'stall', bytesWritten: 0 };
    }
    return result;
  }

  private noise(bytes: number): UsbNoiseKind | undefined {
    const rate = this.options.byteRate ?? 0;
    if (rate <= 0 || !this.prng.chance(1 - (1 - rate) ** bytes)) return undefined;
    const kinds = this.options.kinds ?? (['error', 'lost', 'delay'] as const);
    const kind = kinds[this.prng.int(kinds.length)]!;
    this.counts[kind]++;
    return kind;
  }

  private transferError(): TransportError {
    return new TransportError(
      'transport.io',
      `A transfer error has occurred (simulated; fault seed ${this.seed}).`,
    );
  }
}
