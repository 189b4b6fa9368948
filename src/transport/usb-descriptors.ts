/**
 * Standard USB descriptors as bytes (USB 2.0 §9.5, §9.6): walking a configuration descriptor,
 * string descriptors in UTF-16LE, and the encoders the simulators use to answer GET_DESCRIPTOR.
 * Pure.
 */
import { FramingError, TransportError } from '../core/errors.ts';
import type { UsbConnection } from './usb.ts';

/** bDescriptorType values (USB 2.0 Table 9-5). */
export const DescriptorType = {
  device: 1,
  configuration: 2,
  string: 3,
  interface: 4,
  endpoint: 5,
} as const;

/** bRequest of standard requests (USB 2.0 Table 9-4). */
export const StandardRequest = {
  getStatus: 0,
  clearFeature: 1,
  setFeature: 3,
  setAddress: 5,
  getDescriptor: 6,
  setDescriptor: 7,
  getConfiguration: 8,
  setConfiguration: 9,
  getInterface: 10,
  setInterface: 11,
} as const;

/** US English, the language id almost every device offers first (USB LANGIDs 1.0). */
export const LANGID_EN_US = 0x0409;

/** One descriptor inside a configuration descriptor set. */
export interface RawDescriptor {
  type: number;
  /** The whole descriptor, bLength bytes, starting with bLength and bDescriptorType. */
  bytes: Uint8Array;
}

/**
 * Splits a descriptor set (e.g. the full configuration descriptor) into descriptors.
 * @throws {FramingError} when a bLength is below 2 or runs past the end.
 */
export function splitDescriptors(bytes: Uint8Array): RawDescriptor[] {
  const out: RawDescriptor[] = [];
  let i = 0;
  while (i < bytes.length) {
    const len = bytes[i]!;
    if (len < 2 || i + len > bytes.length) {
      throw new FramingError(
        'framing.invalid',
        `USB descriptor at offset ${i} has a bad length ${len}`,
      );
    }
    out.push({ type: bytes[i + 1]!, bytes: bytes.subarray(i, i + len) });
    i += len;
  }
  return out;
}

/** An interface descriptor (USB 2.0 §9.6.5) with the class-specific descriptors that follow it. */
export interface InterfaceDescriptor {
  interfaceNumber: number;
  alternateSetting: number;
  numEndpoints: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  /** iInterface: string descriptor index, 0 for none. */
  stringIndex: number;
  /** Descriptors after this interface descriptor and before the next one (class, endpoint). */
  extra: RawDescriptor[];
}

export interface ConfigurationDescriptor {
  configurationValue: number;
  stringIndex: number;
  attributes: number;
  maxPowerMa: number;
  interfaces: InterfaceDescriptor[];
}

/**
 * Parses a full configuration descriptor set (USB 2.0 §9.6.3, as returned by
 * GET_DESCRIPTOR(CONFIGURATION) with wLength = wTotalLength).
 * @throws {FramingError} on a truncated or malformed set.
 */
export function parseConfigurationDescriptor(bytes: Uint8Array): ConfigurationDescriptor {
  const parts = splitDescriptors(bytes);
  const head = parts[0];
  if (!head || head.type !== DescriptorType.configuration || head.bytes.length < 9) {
    throw new FramingError('framing.invalid', 'Not a USB configuration descriptor');
  }
  const total = head.bytes[2]! | (head.bytes[3]! << 8);
  if (total !== bytes.length) {
    throw new FramingError(
      'framing.invalid',
      `USB configuration descriptor says ${total} bytes but ${bytes.length} were read`,
    );
  }
  const config: ConfigurationDescriptor = {
    configurationValue: head.bytes[5]!,
    stringIndex: head.bytes[6]!,
    attributes: head.bytes[7]!,
    maxPowerMa: head.bytes[8]! * 2,
    interfaces: [],
  };
  let current: InterfaceDescriptor | undefined;
  for (const d of parts.slice(1)) {
    if (d.type === DescriptorType.interface) {
      if (d.bytes.length < 9) {
        throw new FramingError('framing.invalid', 'USB interface descriptor is too short');
      }
      current = {
        interfaceNumber: d.bytes[2]!,
        alternateSetting: d.bytes[3]!,
        numEndpoints: d.bytes[4]!,
        interfaceClass: d.bytes[5]!,
        interfaceSubclass: d.bytes[6]!,
        interfaceProtocol: d.bytes[7]!,
        stringIndex: d.bytes[8]!,
        extra: [],
      };
      config.interfaces.push(current);
    } else if (current) {
      current.extra.push(d);
    }
  }
  return config;
}

/** Input for `encodeConfigurationDescriptor`. */
export interface ConfigurationSpec {
  configurationValue: number;
  stringIndex?: number;
  attributes?: number;
  maxPowerMa?: number;
  interfaces: readonly {
    interfaceNumber: number;
    alternateSetting: number;
    interfaceClass: number;
    interfaceSubclass: number;
    interfaceProtocol: number;
    stringIndex: number;
    /** Encoded descriptors to place after the interface descriptor. */
    extra?: readonly Uint8Array[];
  }[];
}

/** Builds a configuration descriptor set (USB 2.0 §9.6.3, §9.6.5) without endpoints. */
export function encodeConfigurationDescriptor(spec: ConfigurationSpec): Uint8Array {
  const ifaceBlocks: number[] = [];
  const numInterfaces = new Set(spec.interfaces.map((i) => i.interfaceNumber)).size;
  for (const i of spec.interfaces) {
    ifaceBlocks.push(
      9,
      DescriptorType.interface,
      i.interfaceNumber,
      i.alternateSetting,
      0,
      i.interfaceClass,
      i.interfaceSubclass,
      i.interfaceProtocol,
      i.stringIndex,
    );
    for (const e of i.extra ?? []) ifaceBlocks.push(...e);
  }
  const total = 9 + ifaceBlocks.length;
  return new Uint8Array([
    9,
    DescriptorType.configuration,
    total & 0xff,
    total >> 8,
    numInterfaces,
    spec.configurationValue,
    spec.stringIndex ?? 0,
    spec.attributes ?? 0x80,
    Math.ceil((spec.maxPowerMa ?? 100) / 2),
    ...ifaceBlocks,
  ]);
}

/**
 * Decodes a string descriptor (USB 2.0 §9.6.7): bLength, type 3, UTF-16LE text.
 * @throws {FramingError} when it is not a string descriptor.
 */
export function decodeStringDescriptor(bytes: Uint8Array): string {
  if (bytes.length < 2 || bytes[1] !== DescriptorType.string || bytes[0]! > bytes.length) {
    throw new FramingError('framing.invalid', 'Not a USB string descriptor');
  }
  const len = bytes[0]! & ~1;
  let s = '';
  for (let i = 2; i + 1 < len; i += 2) s += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return s;
}

/**
 * Encodes text as a string descriptor (UTF-16LE, at most 126 code units).
 * @throws {RangeError} when the text is too long for one descriptor.
 */
export function encodeStringDescriptor(text: string): Uint8Array {
  if (text.length > 126) throw new RangeError('encodeStringDescriptor: text longer than 126 units');
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = out.length;
  out[1] = DescriptorType.string;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 + i * 2] = c & 0xff;
    out[3 + i * 2] = c >> 8;
  }
  return out;
}

/** String descriptor zero: the list of supported language ids (USB 2.0 Table 9-15). */
export function encodeLanguageIds(ids: readonly number[]): Uint8Array {
  const out = new Uint8Array(2 + ids.length * 2);
  out[0] = out.length;
  out[1] = DescriptorType.string;
  ids.forEach((id, i) => {
    out[2 + i * 2] = id & 0xff;
    out[3 + i * 2] = id >> 8;
  });
  return out;
}

/**
 * Reads a descriptor with standard GET_DESCRIPTOR (USB 2.0 §9.4.3) over `connection`'s control
 * pipe: type and index in wValue, the language id of a string descriptor in wIndex. What every
 * `UsbConnection.getDescriptor` does, the WebUSB adapter's and the simulators' alike.
 * @throws {TransportError} 'transport.io' when the device refuses the request.
 */
export async function requestDescriptor(
  connection: Pick<UsbConnection, 'info' | 'controlIn'>,
  descriptor: { type: number; index: number; length: number; languageId?: number },
): Promise<Uint8Array> {
  const { type, index } = descriptor;
  const r = await connection.controlIn(
    {
      requestType: 'standard',
      recipient: 'device',
      request: StandardRequest.getDescriptor,
      value: (type << 8) | index,
      index: descriptor.languageId ?? 0,
    },
    descriptor.length,
  );
  if (r.status !== 'ok') {
    throw new TransportError(
      'transport.io',
      `${connection.info.label} refused descriptor ${type}/${index} (${r.status}).`,
    );
  }
  return r.data;
}

/**
 * Reads string descriptor `index` in US English (USB 2.0 §9.6.7): `undefined` for index 0 (no
 * string) or a reply too short to hold one.
 * @throws {TransportError} when the device refuses the request.
 */
export async function requestString(
  connection: Pick<UsbConnection, 'getDescriptor'>,
  index: number,
): Promise<string | undefined> {
  if (index === 0) return undefined;
  const head = await connection.getDescriptor(DescriptorType.string, index, 255, LANGID_EN_US);
  return head.length >= 2 ? decodeStringDescriptor(head) : undefined;
}
