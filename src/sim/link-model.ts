/**
 * Link models (how a USB-UART bridge or a native USB port moves bytes) and fault options for
 * the simulated serial wire (serial-wire.ts).
 */

/** How bytes travel between the USB host and the device's serial interface. */
export interface LinkModel {
  name: string;
  /**
   * 'uart': clocked at the baud rate through a USB-UART bridge; 'usb-cdc': native USB, baud
   * ignored; 'stream': a raw byte stream standing in for the UART (the TCP and pty bridges of
   * `npm run sim`), which carries no rate of its own: bytes take the device UART's current
   * character time in both directions, as on a UART whose host always follows the device, and
   * are never garbled.
   */
  kind: 'uart' | 'usb-cdc' | 'stream';
  /** Delay added to every delivered chunk (USB polling, the bridge's latency timer), ms. */
  latencyMs: number;
  /** Largest chunk delivered at once (the USB bulk packet payload). */
  chunkSize: number;
  /** 'usb-cdc' only: throughput in bytes per millisecond. */
  bytesPerMs?: number;
  /**
   * 'uart' only: the fastest rate the line carries (a long cable, a slow level shifter). Above
   * it the edges are too slow for the receiver and no character arrives intact: each is read
   * as 0x00 with a framing error. Default: no limit.
   */
  maxBaudRate?: number;
  /**
   * 'uart' only: a marginal line (long wires, a weak driver, a noisy ground). Above `baudRate`
   * each character is damaged with probability `perCharacter`, drawn from the wire's seeded
   * PRNG: one data bit flips, which a receiver with parity reports as a parity error and one
   * without cannot tell. Short exchanges mostly get through, long transfers mostly do not.
   */
  marginal?: { baudRate: number; perCharacter: number };
}

// Each bridge's maxBaudRate is its datasheet maximum (sources in src/protocols/link-speed.ts,
// `USB_SERIAL_ADAPTERS`); above it the simulated line garbles every character.

/**
 * Silicon Labs CP2102: no latency timer; the host polls its bulk IN endpoint every 1 ms frame.
 * At most 921600 baud (AN205 Table 1).
 */
export const LINK_CP2102: LinkModel = {
  name: 'CP2102',
  kind: 'uart',
  latencyMs: 1,
  chunkSize: 64,
  maxBaudRate: 921_600,
};
/** Silicon Labs CP2102N: as the CP2102 on USB, up to 3 Mbaud (CP2102N datasheet). */
export const LINK_CP2102N: LinkModel = { ...LINK_CP2102, name: 'CP2102N', maxBaudRate: 3_000_000 };
/** WCH CH340: 32-byte bulk packets, about 2 ms from UART to host; up to 2 Mbaud (CH340DS1). */
export const LINK_CH340: LinkModel = {
  name: 'CH340',
  kind: 'uart',
  latencyMs: 2,
  chunkSize: 32,
  maxBaudRate: 2_000_000,
};
/** WCH CH343: 64-byte bulk packets, about 1 ms; up to 6 Mbaud (WCH selection guide). */
export const LINK_CH343: LinkModel = {
  name: 'CH343',
  kind: 'uart',
  latencyMs: 1,
  chunkSize: 64,
  maxBaudRate: 6_000_000,
};
/**
 * FTDI FT232R with the default 16 ms latency timer (FTDI AN232B-04 "Data Throughput, Latency
 * and Handshaking" §3.3): short replies wait for the timer; 64-byte packets carry 62 data bytes.
 * Up to 3 Mbaud (DS_FT232R).
 */
export const LINK_FTDI: LinkModel = {
  name: 'FT232R',
  kind: 'uart',
  latencyMs: 16,
  chunkSize: 62,
  maxBaudRate: 3_000_000,
};
/**
 * FTDI FT231X, the FT-X series (FT230X, FT231X, FT234XD share 0403:6015): "data transfer rates
 * from 300 baud to 3 Mbaud" with 512-byte receive and transmit buffers (DS_FT231X §1). Like the
 * FT232R it holds short replies until its latency timer runs out, 16 ms by default (FTDI
 * AN232B-04 §3.3), and each 64-byte bulk packet carries two modem status bytes and 62 data bytes.
 */
export const LINK_FT231X: LinkModel = {
  name: 'FT231X',
  kind: 'uart',
  latencyMs: 16,
  chunkSize: 62,
  maxBaudRate: 3_000_000,
};

/**
 * Native USB full-speed CDC (ESP32-S3/C3/C6/H2 USB-Serial/JTAG): 64-byte bulk packets, one
 * frame of latency, roughly 1 MB/s; the baud rate setting has no effect.
 */
export const LINK_USB_CDC: LinkModel = {
  name: 'USB CDC',
  kind: 'usb-cdc',
  latencyMs: 1,
  chunkSize: 64,
  bytesPerMs: 1000,
};
/**
 * The TCP and pty bridges of `npm run sim`: paced at the device's UART rate, which changes when
 * the firmware changes it (ESP CHANGE_BAUDRATE applies after its reply; an STM32 takes the
 * host's rate by autobaud), so `esptool --baud 921600` over `socket://` is faster, as on
 * hardware. One USB frame of latency, 64-byte chunks.
 */
export const LINK_BYTE_STREAM: LinkModel = {
  name: 'TCP/pty bridge',
  kind: 'stream',
  latencyMs: 1,
  chunkSize: 64,
};
/** No latency, no bandwidth limit: for tests that only care about bytes. */
export const LINK_IDEAL: LinkModel = {
  name: 'ideal',
  kind: 'usb-cdc',
  latencyMs: 0,
  chunkSize: 1 << 20,
  bytesPerMs: Number.POSITIVE_INFINITY,
};

/** Faults to inject, each with a probability per byte (or per chunk for delays). */
export interface FaultOptions {
  /** Seed of the fault PRNG; printed in every fault message. Default: a fresh one. */
  seed?: number;
  /** Probability that a byte is lost. */
  dropRate?: number;
  /** Probability that a byte arrives with random bits flipped. */
  corruptRate?: number;
  /** Probability that a byte arrives twice. */
  duplicateRate?: number;
  /** Probability that a chunk is held back for `delayMs`. */
  delayRate?: number;
  /** Probability per byte that the chunk holding it is held back for `delayMs`. */
  delayByteRate?: number;
  /** How long a delayed chunk is held back. Default 100 ms. */
  delayMs?: number;
  /** Which direction the faults apply to. Default 'both'. */
  direction?: FaultDirection;
}

export type FaultDirection = 'both' | 'to-device' | 'to-host';
