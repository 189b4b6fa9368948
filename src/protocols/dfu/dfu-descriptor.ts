/**
 * The DFU functional descriptor (DFU 1.1 §4.1.3, Table 4.2) and finding DFU interfaces in a
 * configuration descriptor. Pure.
 *
 *   bLength 9, bDescriptorType 0x21, bmAttributes (bit 0 bitCanDnload, bit 1 bitCanUpload,
 *   bit 2 bitManifestationTolerant, bit 3 bitWillDetach), wDetachTimeOut u16,
 *   wTransferSize u16, bcdDFUVersion u16 (0x0110 for DFU 1.1, 0x011A for DfuSe).
 */
import { FramingError } from '../../core/errors.ts';
import type {
  ConfigurationDescriptor,
  InterfaceDescriptor,
} from '../../transport/usb-descriptors.ts';
import {
  DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
} from './dfu-spec.ts';

export interface DfuFunctionalDescriptor {
  canDownload: boolean;
  canUpload: boolean;
  manifestationTolerant: boolean;
  willDetach: boolean;
  /** Longest time the device waits for a USB reset after DFU_DETACH, ms. */
  detachTimeoutMs: number;
  /** Most bytes the device accepts per control write (and returns per read). */
  transferSize: number;
  /** bcdDFUVersion: 0x0100, 0x0110 or 0x011A (DfuSe). */
  dfuVersion: number;
}

/**
 * Decodes a functional descriptor. DFU 1.0 devices may send 7 bytes (no bcdDFUVersion); then
 * the version reads as 0x0100.
 * @throws {FramingError} on a wrong type or length.
 */
export function decodeFunctionalDescriptor(bytes: Uint8Array): DfuFunctionalDescriptor {
  if (bytes.length < 7 || bytes[1] !== DFU_FUNCTIONAL_DESCRIPTOR_TYPE || bytes[0]! < 7) {
    throw new FramingError('framing.invalid', 'Not a DFU functional descriptor');
  }
  const attr = bytes[2]!;
  return {
    canDownload: (attr & 1) !== 0,
    canUpload: (attr & 2) !== 0,
    manifestationTolerant: (attr & 4) !== 0,
    willDetach: (attr & 8) !== 0,
    detachTimeoutMs: bytes[3]! | (bytes[4]! << 8),
    transferSize: bytes[5]! | (bytes[6]! << 8),
    dfuVersion: bytes.length >= 9 && bytes[0]! >= 9 ? bytes[7]! | (bytes[8]! << 8) : 0x0100,
  };
}

/** Encodes a 9-byte functional descriptor (the device side). */
export function encodeFunctionalDescriptor(d: DfuFunctionalDescriptor): Uint8Array {
  const attr =
    (d.canDownload ? 1 : 0) |
    (d.canUpload ? 2 : 0) |
    (d.manifestationTolerant ? 4 : 0) |
    (d.willDetach ? 8 : 0);
  return new Uint8Array([
    9,
    DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
    attr,
    d.detachTimeoutMs & 0xff,
    d.detachTimeoutMs >> 8,
    d.transferSize & 0xff,
    d.transferSize >> 8,
    d.dfuVersion & 0xff,
    d.dfuVersion >> 8,
  ]);
}

/** A DFU interface alternate setting found in a configuration descriptor. */
export interface DfuInterface {
  configurationValue: number;
  interfaceNumber: number;
  alternateSetting: number;
  /** True in DFU mode (bInterfaceProtocol 2), false in run-time mode (1). */
  dfuMode: boolean;
  stringIndex: number;
  functional: DfuFunctionalDescriptor | undefined;
}

function isDfu(i: InterfaceDescriptor): boolean {
  return i.interfaceClass === DFU_INTERFACE_CLASS && i.interfaceSubclass === DFU_INTERFACE_SUBCLASS;
}

/**
 * Lists the DFU interfaces of a configuration with their functional descriptor. Some devices
 * place the functional descriptor after the last alternate setting only (DfuSe does); it then
 * applies to every alternate of that interface.
 */
export function findDfuInterfaces(config: ConfigurationDescriptor): DfuInterface[] {
  const out: DfuInterface[] = [];
  let shared: DfuFunctionalDescriptor | undefined;
  for (const i of config.interfaces) {
    if (!isDfu(i)) continue;
    const fd = i.extra.find((d) => d.type === DFU_FUNCTIONAL_DESCRIPTOR_TYPE);
    const functional = fd ? decodeFunctionalDescriptor(fd.bytes) : undefined;
    if (functional) shared = functional;
    out.push({
      configurationValue: config.configurationValue,
      interfaceNumber: i.interfaceNumber,
      alternateSetting: i.alternateSetting,
      dfuMode: i.interfaceProtocol === DFU_PROTOCOL_DFU_MODE,
      stringIndex: i.stringIndex,
      functional,
    });
  }
  for (const d of out) d.functional ??= shared;
  return out;
}
