/**
 * The fastest safe line speed for a serial port: which USB-UART bridge the port's USB ids
 * (Web Serial `getInfo()`, the Node port list) name, how fast that bridge goes, and the ladder
 * of rates a protocol tries from the top — the rates both the bridge and the chip's bootloader
 * carry, highest first, down to the protocol's safe rate. A protocol steps down the ladder when
 * a rate fails (no SYNC, garbled frames, checksum errors) and says in the log which rate it
 * chose and why. Pure data and arithmetic: no DOM, no I/O.
 */

/** A USB serial adapter that USB ids tell. */
export interface UsbSerialAdapter {
  /** "CH340". */
  readonly name: string;
  readonly vendorId: number;
  /** Absent: every product of the vendor. */
  readonly productId?: number;
  /**
   * The highest UART rate the bridge generates; `undefined` for a native USB port, where the
   * rate is a number the device ignores and bytes move at USB speed.
   */
  readonly maxBaudRate: number | undefined;
  /** The bridge makes only these rates (others are rounded to one of them). */
  readonly rates?: readonly number[];
}

/**
 * Silicon Labs AN205 "CP210x Baud Rate Support", Table 1: the 32 rates a CP2101/CP2102/CP2103
 * generates; a request between two is rounded (e.g. 1000000 becomes 921600).
 */
const CP2102_RATES: readonly number[] = [
  300, 600, 1200, 1800, 2400, 4000, 4800, 7200, 9600, 14400, 16000, 19200, 28800, 38400, 51200,
  56000, 57600, 64000, 76800, 115200, 128000, 153600, 230400, 250000, 256000, 460800, 500000,
  576000, 921600,
];

/** Known adapters, exact ids before whole vendors. */
const USB_SERIAL_ADAPTERS: readonly UsbSerialAdapter[] = [
  // 10c4:ea60 is the default id of the CP2102 (AN205 Table 1: 921600 at most, fixed rates),
  // the CP2102N (datasheet "CP2102N Data Sheet" §1: up to 3 Mbaud; ESP32-DevKitC V4 guide:
  // "up to 3 Mbps") and the CP2104 (CP2104 datasheet §6.1: 300 bps to 2 Mbps). The ids cannot
  // tell them apart, so the ladder assumes the slowest, a CP2102.
  {
    name: 'CP210x (CP2102/CP2102N/CP2104)',
    vendorId: 0x10c4,
    productId: 0xea60,
    maxBaudRate: 921_600,
    rates: CP2102_RATES,
  },
  // WCH CH340DS1 "CH340 Datasheet" §2: "baud rate varies from 50bps to 2Mbps".
  { name: 'CH340', vendorId: 0x1a86, productId: 0x7523, maxBaudRate: 2_000_000 },
  // WCH product selection guide, USB to single serial port chips: CH343P/G/K 6 Mbps. Product
  // id from WCH's ch343ser_linux driver id table (ch343.c: 0x55d3 CH343).
  { name: 'CH343', vendorId: 0x1a86, productId: 0x55d3, maxBaudRate: 6_000_000 },
  // WCH CH9102DS1 "CH9102 Datasheet" §2: "baud rate varies from 50bps to 4Mbps"; id 0x55d4
  // from ch343ser_linux ch343.c ("ch9102 chip").
  { name: 'CH9102', vendorId: 0x1a86, productId: 0x55d4, maxBaudRate: 4_000_000 },
  // FTDI DS_FT232R "FT232R USB UART IC Datasheet" §1: "data transfer rates from 300 baud to
  // 3 Mbaud" (TTL levels). 0403:6001 is the FT232R/FT232BM default id.
  { name: 'FT232R', vendorId: 0x0403, productId: 0x6001, maxBaudRate: 3_000_000 },
  // FTDI DS_FT231X "Baud Rate Generator": "programmable from 183 baud to 3 Mbaud". 0403:6015
  // is the default id of the whole FT-X series (FT230X, FT231X, FT234XD).
  { name: 'FT231X (FT-X series)', vendorId: 0x0403, productId: 0x6015, maxBaudRate: 3_000_000 },
  // Espressif's own USB (esp-pylib `ESPRESSIF_VID`): the USB-Serial/JTAG peripheral
  // (`USB_JTAG_SERIAL_PID` 0x1001) and the ROM's USB-OTG CDC port. Native USB CDC: the rate
  // set on the port (SET_LINE_CODING) reaches no UART, bytes move at USB full speed.
  { name: 'Espressif native USB', vendorId: 0x303a, maxBaudRate: undefined },
];

/** The line speed every bootloader here starts at and every adapter carries. */
export const SAFE_BAUD = 115_200;

/** The job's line-speed setting: a rate, or 'auto' (the fastest the adapter and chip carry). */
export type BaudSetting = number | 'auto';

/**
 * The adapter the USB ids name, or undefined for ids nobody listed.
 * @example adapterFor({ vendorId: 0x1a86, productId: 0x7523 })?.maxBaudRate // 2000000
 */
export function adapterFor(ids: {
  vendorId?: number | undefined;
  productId?: number | undefined;
}): UsbSerialAdapter | undefined {
  if (ids.vendorId === undefined) return undefined;
  return (
    USB_SERIAL_ADAPTERS.find((a) => a.vendorId === ids.vendorId && a.productId === ids.productId) ??
    USB_SERIAL_ADAPTERS.find((a) => a.vendorId === ids.vendorId && a.productId === undefined)
  );
}

/** The rates to try on one port, and why. */
export interface LinkPlan {
  /** The adapter the ids named, if any. */
  readonly adapter: UsbSerialAdapter | undefined;
  /** A native USB port: the rate does not matter, the protocol keeps its start rate. */
  readonly native: boolean;
  /** Rates to try, highest first, ending at the safe rate. */
  readonly ladder: readonly number[];
  /** One sentence for the log: the adapter, its limit and the chip's. */
  readonly why: string;
}

const hex4 = (n: number | undefined): string =>
  n === undefined ? '????' : n.toString(16).padStart(4, '0');

/**
 * The ladder for a port: the protocol's `rungs` that the adapter carries (at most its maximum,
 * and one of its fixed rates where it has them) and the chip carries (at most `chipMax`), highest
 * first, ending at `safe`. An adapter the ids do not name gets `[safe]` only.
 * @throws {RangeError} when `safe` is not a positive rate or exceeds `chipMax`.
 * @example
 * linkPlan({ ids: { vendorId: 0x10c4, productId: 0xea60 }, rungs: [1_500_000, 921_600, 460_800],
 *   chipMax: 1_500_000, chip: 'ESP32 flasher stub' }).ladder // [921600, 460800, 115200]
 */
export function linkPlan(options: {
  ids: { vendorId?: number | undefined; productId?: number | undefined };
  /** The protocol's rates, any order. */
  rungs: readonly number[];
  /** The highest rate the chip's bootloader takes. */
  chipMax: number;
  /** Who `chipMax` belongs to, for the log ("the ESP32 flasher stub"). */
  chip: string;
  /** Where the ladder ends. Default SAFE_BAUD. */
  safe?: number;
}): LinkPlan {
  const safe = options.safe ?? SAFE_BAUD;
  if (!(safe > 0) || safe > options.chipMax) {
    throw new RangeError(`safe must be a rate up to chipMax (${options.chipMax}), got ${safe}`);
  }
  const ids = `${hex4(options.ids.vendorId)}:${hex4(options.ids.productId)}`;
  const adapter = adapterFor(options.ids);
  if (!adapter) {
    return {
      adapter,
      native: false,
      ladder: [safe],
      why: `the adapter ${ids} is not one webflash knows; staying at ${safe} baud, which every adapter carries`,
    };
  }
  if (adapter.maxBaudRate === undefined) {
    return {
      adapter,
      native: true,
      ladder: [],
      why: `${adapter.name} (${ids}) is native USB: the baud rate does not matter`,
    };
  }
  const top = Math.min(adapter.maxBaudRate, options.chipMax);
  const fits = (r: number): boolean =>
    r > safe && r <= top && (adapter.rates === undefined || adapter.rates.includes(r));
  const ladder = [...new Set(options.rungs.filter(fits))].sort((a, b) => b - a);
  ladder.push(safe);
  const limit =
    adapter.maxBaudRate <= options.chipMax
      ? `${adapter.name} (${ids}) carries up to ${adapter.maxBaudRate} baud`
      : `${options.chip} takes up to ${options.chipMax} baud (${adapter.name} ${ids} carries ${adapter.maxBaudRate})`;
  return { adapter, native: false, ladder, why: `${limit}: trying ${ladder.join(', ')}` };
}

/**
 * Parses a line-speed setting: 'auto' or a positive whole number of baud.
 * @throws {RangeError} for anything else.
 * @example parseBaudSetting('auto') // 'auto'
 */
export function parseBaudSetting(text: string): BaudSetting {
  const t = text.trim().toLowerCase();
  if (t === 'auto') return 'auto';
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`baud must be "auto" or a line speed such as 115200, got "${text}"`);
  }
  return n;
}
