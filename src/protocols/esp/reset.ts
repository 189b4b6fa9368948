/**
 * Reset sequences that put an ESP chip into its serial bootloader, or restart it into the app,
 * written as data in the notation of esptool's `CustomReset` (esptool/reset.py) with waits in
 * milliseconds as esptool-js writes them:
 *
 *   D1 / D0     set DTR asserted / released
 *   R1 / R0     set RTS asserted / released
 *   U1,0        set DTR and RTS together (DTR first), in one call
 *   W100        wait 100 ms
 *
 * Electrical meaning on boards with the usual two-transistor auto-reset circuit (Espressif
 * DevKit schematics): DTR drives IO0 (the boot strap) and RTS drives EN (chip enable), each
 * through a transistor gated by the other line, so
 *   DTR asserted, RTS released → IO0 low, EN high
 *   DTR released, RTS asserted → IO0 high, EN low (chip held in reset)
 *   both equal                 → IO0 high, EN high (no effect; this is why both idle at 0)
 * Leaving reset (EN rising) while IO0 is low selects the serial download mode.
 *
 * Chips with USB-Serial/JTAG (ESP32-S3/C3/C6/H2 native USB) have no such circuit: the
 * peripheral interprets the DTR/RTS states itself, and needs its own sequence (reset.py
 * `USBJTAGSerialReset`).
 */
import { formatResetSequence, parseResetSequence, runResetSequence } from '../reset-sequence.ts';

/** The shared notation parser and player (src/protocols/reset-sequence.ts), re-exported. */
export { formatResetSequence, parseResetSequence, runResetSequence };

/** A named reset sequence. */
export interface ResetSequence {
  name: string;
  /** What it is for, in a few words, for logs and docs. */
  description: string;
  steps: string;
}

/** reset.py DEFAULT_RESET_DELAY (50 ms) and the "extra delay" variant (+500 ms). */
const DELAY = 50;
const EXTRA_DELAY = DELAY + 500;

/** The sequences webflash knows, from esptool/reset.py. */
export const ResetSequences = {
  /** reset.py `ClassicReset`: DTR/RTS one after the other. */
  classic: {
    name: 'classic',
    description: 'USB-serial bridge with the auto-reset circuit',
    steps: `D0|R1|W100|D1|R0|W${DELAY}|D0`,
  },
  /** ClassicReset with the longer delay esptool tries second, for boards with slow RC on EN. */
  classicSlow: {
    name: 'classic-slow',
    description: 'auto-reset circuit with a large capacitor on EN',
    steps: `D0|R1|W100|D1|R0|W${EXTRA_DELAY}|D0`,
  },
  /** reset.py `UnixTightReset`: both lines in one call, which Web Serial's setSignals allows. */
  tight: {
    name: 'tight',
    description: 'auto-reset circuit, both lines switched together',
    steps: `U0,0|U1,1|U0,1|W100|U1,0|W${DELAY}|U0,0|D0`,
  },
  /** reset.py `USBJTAGSerialReset`: ESP32-S3/C3/C6/H2 connected through their native USB. */
  usbJtagSerial: {
    name: 'usb-jtag-serial',
    description: 'native USB-Serial/JTAG port (ESP32-S3, C3, C6, H2)',
    steps: 'R0|D0|W100|D1|R0|W100|R1|D0|R1|W100|D0|R0',
  },
  /** reset.py `HardReset`: pulse EN to restart into the app. */
  hardReset: {
    name: 'hard-reset',
    description: 'restart into the application',
    steps: 'R1|W100|R0',
  },
  /** reset.py `HardReset(uses_usb_otg=True)`: longer pulse for ports on the chip's USB-OTG. */
  hardResetUsb: {
    name: 'hard-reset-usb',
    description: 'restart into the application over native USB',
    steps: 'R1|W200|R0|W200',
  },
} as const satisfies Record<string, ResetSequence>;

/** Reset sequences to try, in order, for a port with these USB ids (esptool `_construct_reset_strategy_sequence`). */
export function defaultResetSequences(usb: { vendorId?: number; productId?: number }): string[] {
  if (usb.vendorId === 0x303a && usb.productId === 0x1001) {
    return [ResetSequences.usbJtagSerial.steps];
  }
  return [
    ResetSequences.tight.steps,
    ResetSequences.classic.steps,
    ResetSequences.tight.steps.replace(`W${DELAY}`, `W${EXTRA_DELAY}`),
    ResetSequences.classicSlow.steps,
  ];
}
