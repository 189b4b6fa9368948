/**
 * What a simulated board is and how it is built (the types behind the registry in boards.ts),
 * shared by every board family.
 */
import type { Clock } from '../core/clock.ts';
import type { SimUsbBus } from './usb/sim-usb-device.ts';
import type { FlashModel } from './flash-model.ts';
import { Prng } from './prng.ts';
import type { LinkModel, SerialWire } from './serial-wire.ts';

/** Bytes placed in flash before the board starts (an existing firmware). */
interface FlashImage {
  address: number;
  data: Uint8Array;
}

/** What every board factory accepts. */
export interface BoardOptions {
  clock: Clock;
  /** Seed for the MAC/serial number and for link faults. Default 1. */
  seed?: number;
  /** Override the preset's link model (e.g. LINK_IDEAL for fast tests). */
  link?: LinkModel;
  /** Firmware already in flash. */
  images?: readonly FlashImage[];
  /** Start with the cable unplugged. */
  unplugged?: boolean;
  /**
   * Control lines are not wired (TCP/pty bridges): the board sits in its bootloader from the
   * start, as if BOOT were held at power-on.
   */
  startInBootloader?: boolean;
  /** USB boards: the bus to attach to (default: a new bus of their own). */
  usbBus?: SimUsbBus;
}

/** A built board. */
export interface SimBoard {
  /** Preset name. */
  name: string;
  /** Human label ("ESP32-S3 DevKitC (USB-Serial/JTAG)"). */
  label: string;
  /** Protocol id as used in bundle manifests ("esp-serial", "stm32-usart", "dfu"…). */
  protocol: string;
  /** Chip id ("esp32s3"). */
  chip: string;
  /** The main flash array. */
  flash: FlashModel;
  /** Serial boards: the wire whose port the host opens. */
  wire?: SerialWire;
  /** USB boards: the bus their device hangs on. */
  usb?: SimUsbBus;
  /**
   * Puts the board into its bootloader without control lines. USB boards: powers a board that
   * has left the bus on again in its bootloader (DFU mode); one on the bus is left alone.
   */
  enterBootloader?(): void;
}

/** A named board factory. */
export interface BoardPreset {
  name: string;
  description: string;
  /** How a host reaches the board: a serial port (the default) or USB. */
  transport?: 'serial' | 'usb';
  protocol: string;
  chip: string;
  create(options: BoardOptions): SimBoard;
}

/**
 * A deterministic MAC for a board: the vendor's OUI, then three bytes from `seed` and `salt`,
 * so the same seed gives the same board identity on every run.
 */
export function deterministicMac(
  oui: readonly [number, number, number],
  seed: number,
  salt: string,
): Uint8Array {
  let h = seed >>> 0;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193) >>> 0;
  const prng = new Prng(h);
  return Uint8Array.from([...oui, prng.int(256), prng.int(256), prng.int(256)]);
}
