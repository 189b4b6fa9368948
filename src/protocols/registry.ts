/**
 * The protocol registry: every bootloader protocol webflash speaks, as one entry each — how a
 * host reaches it (serial port or USB device), its names, the bundle `protocol` it serves, the
 * USB ids that tell it, its line speeds, and a driver factory loaded only when a job needs it
 * (one chunk per protocol in a page). The technician console, the bench, the customer updater
 * and the CLI choose protocols and build drivers only through it (docs/architecture.md, "Adding
 * a protocol").
 */
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { PortWatcher } from '../transport/link.ts';
import type { UsbDeviceFilter, UsbDeviceWatcher } from '../transport/usb.ts';
import { AVR_USB_IDENTITIES, STK500V1_BAUD_RATES } from './avr/usb-ids.ts';
import type { ConnectOptions, FlashSession, ProtocolDriver, ProtocolId } from './driver.ts';
import type { CompressFn } from './esp/compress.ts';
import type { ImageDigests } from './esp/digests.ts';
import type { BaudSetting } from './link-speed.ts';
import type { StubLoader } from './esp/stub.ts';

export type TransportKind = 'serial' | 'usb';

/** What a face may hand a driver factory; each protocol takes what it needs and ignores the rest. */
export interface DriverOptions {
  /** Follows a serial board whose port goes away and comes back (native USB, AVR109, MCUboot). */
  portWatcher?: PortWatcher | undefined;
  /** Follows a USB device that comes back under a new identity (DFU 1.1 detach). */
  usbWatcher?: UsbDeviceWatcher | undefined;
  /** The device's DFU-mode identity when it is chosen again (DFU 1.1). */
  dfuModeFilters?: readonly UsbDeviceFilter[] | undefined;
  /** ESP: the compressor (a worker's, or shared between boards). */
  compress?: CompressFn | undefined;
  /** ESP: the images' MD5s for the checks (computed once per image when shared between boards). */
  digests?: ImageDigests | undefined;
  /** ESP: where the flasher stub images come from (default: imported as modules). */
  loadStub?: StubLoader | undefined;
  /** STM32: the technician allowed READOUT_UNPROTECT, which erases the chip. */
  allowReadoutUnprotect?: boolean | undefined;
  /** The chip the bundle target names, for protocols whose device cannot tell (DFU 1.1). */
  chip?: string | undefined;
  /** DFU alternate setting of the first image. */
  alternateSetting?: number | undefined;
  /**
   * The bootloader's own line speed, for protocols with a fixed one (`baud.fixed`), when the
   * port's USB ids or the person tell it; default the entry's `baud.default`.
   */
  bootloaderBaud?: number | undefined;
}

/** Line speeds of a serial protocol. */
interface BaudPolicy {
  /** Used when nothing else is said. */
  readonly default: number;
  /** The highest rate the bootloader is made for; a higher job rate is lowered to it. */
  readonly max?: number;
  /**
   * The bootloader listens at one rate it was built with (AVR, MCUboot on a UART): the job's
   * flashing speed does not apply; `DriverOptions.bootloaderBaud` or `default` does.
   */
  readonly fixed?: boolean;
  /** Rates the bootloader is commonly built with, for a chooser (fixed rates only). */
  readonly choices?: readonly number[];
  /**
   * The driver takes 'auto': it picks the rate from the port's adapter and the chip
   * (link-speed.ts) and steps down when a rate fails. Without it 'auto' means `default`.
   */
  readonly auto?: boolean;
}

/** A USB identity that tells the protocol: of a serial adapter, a board's own USB, or a device. */
interface ProtocolUsbId {
  readonly vendorId: number;
  /** Absent: the whole vendor. */
  readonly productId?: number;
  /** "Arduino Uno R3". */
  readonly board?: string;
  readonly chip?: string;
  /** The bootloader's line speed on this board. */
  readonly baudRate?: number;
  /** The port is the bootloader's own (a Caterina port), not the application's. */
  readonly bootloader?: boolean;
}

/** A driver factory, loaded lazily. */
type DriverFactory = (
  options: DriverOptions,
) => ProtocolDriver<unknown> | ProtocolDriver<unknown, BaudSetting>;

export interface ProtocolEntry {
  readonly id: ProtocolId;
  readonly transport: TransportKind;
  /** "ESP serial bootloader". */
  readonly name: string;
  /** "ESP", for a short chooser. */
  readonly shortName: string;
  /** The bundle targets' `protocol` values this entry flashes. */
  readonly serves: readonly string[];
  /** Serial protocols only. */
  readonly baud?: BaudPolicy;
  /** USB ids that tell this protocol by themselves (sorted: exact ids before whole vendors). */
  readonly usbIds: readonly ProtocolUsbId[];
  /** The driver factory (a separate chunk in a page). */
  load(): Promise<DriverFactory>;
}

const ESPRESSIF_VID = 0x303a;
const ST_VID = 0x0483;
/** The Zephyr project's USB vendor id: a Zephyr application's CDC ACM port (MCUmgr). */
const ZEPHYR_VID = 0x2fe3;

function avrIds(protocol: ProtocolId): ProtocolUsbId[] {
  return AVR_USB_IDENTITIES.filter((b) => b.protocol === protocol).map((b) => ({
    vendorId: b.vendorId,
    productId: b.productId,
    board: b.board,
    chip: b.chip,
    baudRate: b.baudRate,
    ...(b.bootloader ? { bootloader: true } : {}),
  }));
}

/** Every protocol, in the order choosers list them. */
export const PROTOCOLS: readonly ProtocolEntry[] = [
  {
    id: 'esp-serial',
    transport: 'serial',
    name: 'ESP serial bootloader',
    shortName: 'ESP',
    serves: ['esp-serial'],
    baud: { default: 115_200, auto: true },
    // Espressif's native USB (esptool "USB-Serial/JTAG" and USB-OTG).
    usbIds: [{ vendorId: ESPRESSIF_VID }],
    load: async () => (await import('./esp/factory.ts')).createEspDriver,
  },
  {
    id: 'stm32-usart',
    transport: 'serial',
    name: 'STM32 USART bootloader',
    shortName: 'STM32',
    serves: ['stm32-usart'],
    // ST AN2606 §2.4, AN3155 §1: the autobaud measures the 0x7F frame with a timer whose error
    // grows with the speed; 115200 is the highest rate ST tests.
    baud: { default: 115_200, max: 115_200, auto: true },
    // ST-LINK's virtual COM port.
    usbIds: [{ vendorId: ST_VID }],
    load: async () => (await import('./stm32/factory.ts')).createStm32DriverFor,
  },
  {
    id: 'avr-stk500v1',
    transport: 'serial',
    name: 'Arduino STK500v1 bootloader',
    shortName: 'AVR (Uno, Nano)',
    serves: ['avr-stk500v1'],
    baud: { default: 115_200, fixed: true, choices: STK500V1_BAUD_RATES },
    usbIds: avrIds('avr-stk500v1'),
    load: async () => (await import('./avr/factory.ts')).createStk500v1DriverFor,
  },
  {
    id: 'avr-stk500v2',
    transport: 'serial',
    name: 'Arduino STK500v2 bootloader',
    shortName: 'AVR (Mega)',
    serves: ['avr-stk500v2'],
    baud: { default: 115_200, fixed: true, choices: [115_200, 57_600] },
    usbIds: avrIds('avr-stk500v2'),
    load: async () => (await import('./avr/factory.ts')).createStk500v2DriverFor,
  },
  {
    id: 'avr109',
    transport: 'serial',
    name: 'Arduino AVR109 bootloader',
    shortName: 'AVR (Leonardo)',
    serves: ['avr109'],
    baud: { default: 57_600, fixed: true, choices: [57_600] },
    usbIds: avrIds('avr109'),
    load: async () => (await import('./avr/factory.ts')).createAvr109DriverFor,
  },
  {
    id: 'mcuboot-smp',
    transport: 'serial',
    name: 'MCUboot (SMP)',
    shortName: 'MCUboot',
    serves: ['mcuboot-smp'],
    baud: { default: 115_200, fixed: true, choices: [115_200, 1_000_000] },
    usbIds: [{ vendorId: ZEPHYR_VID }],
    load: async () => (await import('./mcuboot/factory.ts')).createMcubootDriverFor,
  },
  {
    id: 'dfuse',
    transport: 'usb',
    name: 'ST DfuSe (USB DFU)',
    shortName: 'DfuSe',
    serves: ['dfuse'],
    usbIds: [{ vendorId: ST_VID, productId: 0xdf11 }],
    load: async () => (await import('./dfu/factory.ts')).createDfuseDriver,
  },
  {
    id: 'dfu',
    transport: 'usb',
    name: 'USB DFU 1.1',
    shortName: 'DFU',
    serves: ['dfu'],
    usbIds: [],
    load: async () => (await import('./dfu/factory.ts')).createDfuDriver,
  },
];

const BY_ID = new Map<string, ProtocolEntry>(PROTOCOLS.map((e) => [e.id, e]));

/**
 * The entry for `id`.
 * @throws {UsageError} for an id no entry has.
 */
export function protocolEntry(id: string): ProtocolEntry {
  const entry = BY_ID.get(id);
  if (!entry) throw new UsageError(`webflash does not speak the protocol "${id}".`);
  return entry;
}

/** True when a registered protocol of that transport has this id. */
export function isProtocolOf(transport: TransportKind, id: string): id is ProtocolId {
  return BY_ID.get(id)?.transport === transport;
}

/** The entries of one transport, in chooser order. */
export function protocolsOf(transport: TransportKind): ProtocolEntry[] {
  return PROTOCOLS.filter((e) => e.transport === transport);
}

/**
 * True when boards of protocol `id` show their bootloader as another USB device than their
 * application (a registered bootloader port, as Caterina's 2341:0036 for the Leonardo's
 * 2341:8036): a face that follows boards across re-enumeration must accept another product id.
 * @example changesUsbIdentity('avr109') // true
 */
export function changesUsbIdentity(id: ProtocolId): boolean {
  return protocolEntry(id).usbIds.some((u) => u.bootloader === true);
}

/**
 * True when two serial ports' USB ids may be the same board: the same ids, or the sketch's and
 * the bootloader's ids of one board that changes identity (`changesUsbIdentity`: a Leonardo's
 * 2341:8036 and 2341:0036). For finding a board again after it restarted.
 * @example sameBoardIds({ usbVendorId: 0x2341, usbProductId: 0x0036 }, { usbVendorId: 0x2341, usbProductId: 0x8036 }) // true
 */
export function sameBoardIds(
  a: { usbVendorId?: number | undefined; usbProductId?: number | undefined },
  b: { usbVendorId?: number | undefined; usbProductId?: number | undefined },
): boolean {
  if (a.usbVendorId === undefined || a.usbVendorId !== b.usbVendorId) return false;
  if (a.usbProductId === b.usbProductId) return true;
  const ha = hintForUsbIds('serial', { vendorId: a.usbVendorId, productId: a.usbProductId });
  const hb = hintForUsbIds('serial', { vendorId: b.usbVendorId, productId: b.usbProductId });
  return (
    ha !== undefined &&
    hb !== undefined &&
    ha.exact &&
    hb.exact &&
    ha.protocol === hb.protocol &&
    ha.board === hb.board &&
    changesUsbIdentity(ha.protocol)
  );
}

/** Names for messages and the UI. */
export function protocolName(id: ProtocolId): string {
  return protocolEntry(id).name;
}

/** What a port's or device's USB ids say about the board behind it. */
export interface PortHint extends ProtocolUsbId {
  readonly protocol: ProtocolId;
  /** True when the exact ids matched (not only the vendor). */
  readonly exact: boolean;
}

/**
 * What the USB ids of a serial port (or a USB device) tell: the protocol of the registered
 * identity with the same vendor and product id, else of the vendor alone. Generic USB-UART
 * bridges (CP210x, CH340, FTDI) sit on every kind of board and tell nothing.
 * @example hintForUsbIds('serial', { vendorId: 0x2341, productId: 0x0043 })?.protocol // 'avr-stk500v1'
 */
export function hintForUsbIds(
  transport: TransportKind,
  ids: { vendorId?: number | undefined; productId?: number | undefined },
): PortHint | undefined {
  if (ids.vendorId === undefined) return undefined;
  const entries = protocolsOf(transport);
  for (const exact of [true, false]) {
    for (const e of entries) {
      const id = e.usbIds.find(
        (u) =>
          u.vendorId === ids.vendorId &&
          (exact ? u.productId === ids.productId : u.productId === undefined),
      );
      if (id) return { ...id, protocol: e.id, exact };
    }
  }
  return undefined;
}

/** The technician's protocol choice: 'auto' or one serial protocol id. */
export type SerialChoice = 'auto' | ProtocolId;

/**
 * The protocol for a serial port. An explicit choice wins. With "auto": the one serial protocol
 * the bundle's targets use; when they use several, the port's hint decides. Without targets (a
 * raw development image) "auto" means the ESP protocol.
 * @throws {UsageError} when the bundle has no serial target, or several and nothing tells which.
 * @example chooseSerialProtocol({ targets, choice: 'auto' }) // 'stm32-usart'
 */
export function chooseSerialProtocol(options: {
  targets: readonly { readonly protocol: string }[] | undefined;
  choice: SerialChoice;
  hint?: ProtocolId | undefined;
}): ProtocolId {
  const { targets, choice, hint } = options;
  if (choice !== 'auto') return choice;
  if (!targets) return 'esp-serial';
  const offered = protocolsOf('serial').filter((e) =>
    targets.some((t) => e.serves.includes(t.protocol)),
  );
  if (offered.length === 0) {
    throw new UsageError(
      'This bundle has no image for a board on a serial port: its targets use USB DFU.',
      { hints: ['Choose "USB device (DFU)" under Board and pick the device.'] },
    );
  }
  if (offered.length === 1) return offered[0]!.id;
  const hinted = offered.find((e) => e.id === hint);
  if (hinted) return hinted.id;
  throw new UsageError(
    `This bundle has images for ${offered.map((e) => e.shortName).join(' and ')} boards, and the port does not tell which kind of board this is.`,
    {
      hints: [
        `Choose the protocol (${offered.map((e) => e.shortName).join(' or ')}) under Options, then press Flash again.`,
      ],
    },
  );
}

/**
 * The chip of the bundle's one target for `protocol`, for a driver whose board cannot name the
 * chip the bundle calls it (MCUboot reports its board, or nothing in serial recovery; DFU 1.1
 * devices have no chip id). Undefined without targets, or with several for the protocol: then
 * the board's own answer decides.
 * @example targetChipFor([{ chip: 'nrf52840', protocol: 'mcuboot-smp' }], 'mcuboot-smp') // 'nrf52840'
 */
export function targetChipFor(
  targets: readonly { readonly chip: string; readonly protocol: string }[] | undefined,
  protocol: ProtocolId,
): string | undefined {
  const served = protocolEntry(protocol).serves;
  const chips = new Set(
    (targets ?? []).filter((t) => served.includes(t.protocol)).map((t) => t.chip),
  );
  return chips.size === 1 ? [...chips][0] : undefined;
}

/** The transports a bundle's targets need, serial first. */
export function transportsFor(targets: readonly { readonly protocol: string }[]): TransportKind[] {
  const kinds: TransportKind[] = [];
  for (const kind of ['serial', 'usb'] as const) {
    if (protocolsOf(kind).some((e) => targets.some((t) => e.serves.includes(t.protocol)))) {
      kinds.push(kind);
    }
  }
  return kinds;
}

/**
 * Loads the driver code of the protocols `ids` (default: all) now. A page never needs it; a job
 * on a virtual clock does, so that loading takes no time on that clock.
 */
export async function loadDrivers(ids?: readonly ProtocolId[]): Promise<void> {
  await Promise.all(
    PROTOCOLS.filter((e) => ids === undefined || ids.includes(e.id)).map(async (e) => {
      loadedFactories.set(e.id, await e.load());
    }),
  );
}

/**
 * Factories `loadDrivers` loaded. A job takes them from here without another `import()`: under
 * Node's off-thread module loader hooks (tsx), even a cached module's `import()` resolves only
 * after a host turn, in which a virtual clock would run ahead.
 */
const loadedFactories = new Map<ProtocolId, DriverFactory>();

/** The line speed a job on `entry` opens the port at ('auto': the driver picks it). */
function baudFor(
  entry: ProtocolEntry,
  requested: BaudSetting | undefined,
  options: DriverOptions,
  logger: Logger,
): BaudSetting | undefined {
  const baud = entry.baud;
  if (!baud) return requested === 'auto' ? undefined : requested;
  if (baud.fixed) return options.bootloaderBaud ?? baud.default;
  if (requested === 'auto') return baud.auto ? 'auto' : baud.default;
  const rate = requested ?? baud.default;
  if (baud.max !== undefined && rate > baud.max) {
    logger.info(`${baud.max} baud: the highest rate the ${entry.name} is made for.`);
    return baud.max;
  }
  return rate;
}

/**
 * The driver for `id` with a face's options, loading the protocol's code on the first connect.
 * The entry's line-speed policy applies to the job's rate.
 * @example new FlashJob({ connector: driverFor('stm32-usart', {}), … })
 */
export function driverFor<Port>(
  id: ProtocolId,
  options: DriverOptions = {},
): ProtocolDriver<Port, BaudSetting> {
  const entry = protocolEntry(id);
  let driver: ReturnType<DriverFactory> | undefined;
  return {
    id,
    autoBaud: true,
    async connect(port: Port, connect: ConnectOptions): Promise<FlashSession> {
      driver ??= (loadedFactories.get(id) ?? (await entry.load()))(options);
      const baudRate = baudFor(entry, connect.baudRate, options, connect.logger);
      // 'auto' reaches only drivers whose entry says they take it (`baud.auto`).
      return (driver as ProtocolDriver<unknown, BaudSetting>).connect(port, {
        ...connect,
        baudRate,
      });
    },
  };
}
