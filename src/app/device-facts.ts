/**
 * What the device panel lists about the connected board, in a fixed order per protocol: for an
 * STM32 on its USART bootloader the product id, bootloader version, read protection and flash
 * size (AN3155 §3.1–3.3, the flash-size register); for a DFU device its USB ids, DFU version,
 * transfer size and memory layout (DFU 1.1 §4.1.3 functional descriptor; DfuSe memory maps in
 * the interface strings, ST UM0424 §4.3.2). Plain data for the view.
 */
import { formatBytes, hex32 } from '../core/bytes.ts';
import type { DeviceIdentity } from '../protocols/driver.ts';
import { parseMemoryLayout, type MemoryLayout } from '../protocols/dfu/dfuse-layout.ts';
import type { UsbDeviceInfo } from '../transport/usb.ts';

/** One line of the device panel. */
export interface DeviceFact {
  /** Stable id for tests and list keys ("product-id", "read-protection"…). */
  key: string;
  label: string;
  value: string;
}

/**
 * The facts to list for `device` (the chip name and installed firmware are shown apart).
 * `usb` is the chosen USB device's descriptor info, for DFU memory layouts.
 * @example deviceFacts(identity).find((f) => f.key === 'read-protection')?.value // "off"
 */
export function deviceFacts(
  device: DeviceIdentity,
  usb?: UsbDeviceInfo,
  options: { missing?: boolean } = {},
): DeviceFact[] {
  const details = { ...device.details };
  const facts: DeviceFact[] = [];
  const add = (key: string, label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') facts.push({ key, label, value });
  };
  const take = (name: string): string | undefined => {
    const v = details[name];
    delete details[name];
    return v;
  };

  if (device.revision) add('revision', 'Revision', device.revision);
  switch (device.protocol) {
    case 'stm32-usart':
      add('product-id', 'Product ID', take('Product ID'));
      add('bootloader', 'Bootloader', bootloaderLine(device, take('Bootloader ID')));
      add('read-protection', 'Read protection (RDP)', take('Read protection'));
      add('flash-size', 'Flash size', sizeOf(device));
      add('flash-layout', 'Flash layout', take('Flash layout'));
      add('unique-id', 'Unique id', device.uniqueId);
      break;
    case 'dfu':
    case 'dfuse': {
      add('usb-id', 'USB vendor:product', take('USB id'));
      add('dfu-version', 'DFU version', dfuVersion(device));
      const size = take('wTransferSize');
      add('transfer-size', 'Transfer size', size === undefined ? undefined : `${size} bytes`);
      add('memory-layout', 'Memory layout', memoryLayout(device, usb, details));
      add('flash-size', 'Flash size', sizeOf(device));
      add('serial-number', 'Serial number', device.uniqueId);
      break;
    }
    default:
      add('unique-id', 'MAC / unique id', device.uniqueId);
      add('flash-size', 'Flash size', sizeOf(device));
      add('bootloader', 'Bootloader', device.bootloaderVersion);
  }
  for (const [label, value] of Object.entries(details)) add(slug(label), label, value);
  if (options.missing) {
    for (const [key, label] of EXPECTED[device.protocol] ?? []) {
      if (!facts.some((f) => f.key === key)) facts.push({ key, label, value: NOT_REPORTED });
    }
  }
  return facts;
}

/** Shown for a fact the protocol has a place for but this bootloader did not tell. */
export const NOT_REPORTED = 'not reported by this bootloader';

/** The facts the technician expects per protocol, with their labels (keys as above). */
const EXPECTED: Partial<
  Record<DeviceIdentity['protocol'], readonly (readonly [string, string])[]>
> = {
  'esp-serial': [
    ['revision', 'Revision'],
    ['unique-id', 'MAC / unique id'],
    ['flash-size', 'Flash size'],
    ['bootloader', 'Bootloader'],
  ],
  'stm32-usart': [
    ['product-id', 'Product ID'],
    ['bootloader', 'Bootloader'],
    ['read-protection', 'Read protection (RDP)'],
    ['flash-size', 'Flash size'],
    ['unique-id', 'Unique id'],
  ],
  dfu: [
    ['usb-id', 'USB vendor:product'],
    ['dfu-version', 'DFU version'],
    ['transfer-size', 'Transfer size'],
    ['flash-size', 'Flash size'],
    ['serial-number', 'Serial number'],
  ],
  dfuse: [
    ['usb-id', 'USB vendor:product'],
    ['dfu-version', 'DFU version'],
    ['transfer-size', 'Transfer size'],
    ['memory-layout', 'Memory layout'],
    ['flash-size', 'Flash size'],
    ['serial-number', 'Serial number'],
  ],
};

function sizeOf(device: DeviceIdentity): string | undefined {
  return device.flashSize === undefined ? undefined : formatBytes(device.flashSize);
}

function bootloaderLine(device: DeviceIdentity, id: string | undefined): string | undefined {
  const version = device.bootloaderVersion;
  if (version === undefined) return id === undefined ? undefined : `ID ${id}`;
  return `USART protocol ${version}${id === undefined ? '' : `, bootloader ID ${id}`}`;
}

/** DfuSe is DFU 1.1 with ST's extensions, announced as bcdDFU 0x011A (UM0424 §4.3.3). */
function dfuVersion(device: DeviceIdentity): string | undefined {
  if (device.protocol === 'dfuse') {
    const bootloader = device.bootloaderVersion ? `, bootloader ${device.bootloaderVersion}` : '';
    return `DfuSe (DFU 1.1a, bcdDFU 0x011A)${bootloader}`;
  }
  return device.bootloaderVersion;
}

/**
 * One line per memory: "Internal Flash at 0x08000000: 4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB".
 * DfuSe names them in its interface strings; the session lists them as "alt N" details.
 */
function memoryLayout(
  device: DeviceIdentity,
  usb: UsbDeviceInfo | undefined,
  details: Record<string, string>,
): string | undefined {
  const names: string[] = [];
  for (const config of usb?.configurations ?? []) {
    for (const iface of config.interfaces) {
      for (const alt of iface.alternates) if (alt.name) names.push(alt.name);
    }
  }
  const layouts: MemoryLayout[] = [];
  for (const name of names) {
    try {
      layouts.push(parseMemoryLayout(name));
    } catch {
      // Not a DfuSe memory description (a plain interface name).
    }
  }
  for (const key of Object.keys(details)) if (/^alt \d+$/.test(key)) delete details[key];
  if (layouts.length === 0) {
    if (device.protocol !== 'dfu') return undefined;
    const name = details['interface'];
    delete details['interface'];
    return name === undefined ? 'one image, placed by the device' : `${name} (one image)`;
  }
  return layouts
    .map((l) => {
      const start = l.segments[0] ? ` at ${hex32(l.segments[0].start)}` : '';
      const runs = l.segments.map((s) => `${s.sectorCount} × ${sizeText(s.sectorSize)}`);
      return `${l.name}${start}: ${runs.join(', ')}`;
    })
    .join('; ');
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function slug(label: string): string {
  return label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
