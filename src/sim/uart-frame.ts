/**
 * What a UART receiver makes of a character sent at another speed or format: the transmitter's
 * waveform (start bit 0, data bits LSB first, optional parity, stop bits 1, idle 1) is sampled
 * at the middle of each bit period of the receiver, exactly as a 16×-oversampling UART does
 * after it sees the falling edge of the start bit. Equal settings give the byte back unchanged;
 * a few percent of speed difference is tolerated, as on real hardware; a factor of two garbles.
 */
import type { Parity } from '../transport/link.ts';

/** Character format of one side of a UART link. */
export interface UartFormat {
  baudRate: number;
  /** 7 or 8. */
  dataBits: number;
  parity: Parity;
  /** 1 or 2. */
  stopBits: number;
}

/** Bits on the wire per character: start + data + parity + stop. */
export function bitsPerCharacter(f: Omit<UartFormat, 'baudRate'>): number {
  return 1 + f.dataBits + (f.parity === 'none' ? 0 : 1) + f.stopBits;
}

/** True when both sides agree on everything that matters on the wire. */
function sameFormat(a: UartFormat, b: UartFormat): boolean {
  return (
    a.baudRate === b.baudRate &&
    a.dataBits === b.dataBits &&
    a.parity === b.parity &&
    a.stopBits === b.stopBits
  );
}

export interface ReceivedCharacter {
  value: number;
  /** The receiver saw 0 where the stop bit belongs. */
  framingError: boolean;
  /** The parity bit did not match the data. */
  parityError: boolean;
}

function parityBit(value: number, dataBits: number, parity: Parity): number {
  let ones = 0;
  for (let i = 0; i < dataBits; i++) ones += (value >> i) & 1;
  return parity === 'even' ? ones & 1 : (ones & 1) ^ 1;
}

/** Line level at time `t` (in transmitter bit periods since the start edge). */
function txLevel(byte: number, tx: UartFormat, t: number): number {
  const k = Math.floor(t);
  if (k <= 0) return 0; // start bit
  if (k <= tx.dataBits) return (byte >> (k - 1)) & 1;
  if (tx.parity !== 'none' && k === tx.dataBits + 1) return parityBit(byte, tx.dataBits, tx.parity);
  return 1; // stop bits, then idle
}

/** Samples one transmitted character with the receiver's settings. */
export function receiveCharacter(byte: number, tx: UartFormat, rx: UartFormat): ReceivedCharacter {
  if (sameFormat(tx, rx)) return { value: byte, framingError: false, parityError: false };
  const ratio = tx.baudRate / rx.baudRate; // transmitter bit periods per receiver bit period
  const sample = (j: number): number => txLevel(byte, tx, (j + 0.5) * ratio);
  let value = 0;
  for (let j = 1; j <= rx.dataBits; j++) value |= sample(j) << (j - 1);
  let next = rx.dataBits + 1;
  let parityError = false;
  if (rx.parity !== 'none') {
    parityError = sample(next) !== parityBit(value, rx.dataBits, rx.parity);
    next++;
  }
  const framingError = sample(next) !== 1;
  return { value, framingError, parityError };
}
