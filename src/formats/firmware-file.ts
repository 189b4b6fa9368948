/**
 * Recognises a firmware file and turns it into images to place in memory: DfuSe `.dfu`
 * (UM0391), a plain payload with a DFU suffix (DFU 1.1 Appendix B, optionally with a
 * `dfu-prefix` Stellaris/LPC prefix), Intel HEX, or a raw binary whose address comes from the
 * bundle manifest. Pure.
 */
import { FramingError } from '../core/errors.ts';
import { detectDfuPrefix, type DfuPrefix } from './dfu-prefix.ts';
import { parseDfuSuffix, type DfuSuffix } from './dfu-suffix.ts';
import { isDfuseFile, parseDfuseFile } from './dfuse-file.ts';
import { parseIntelHex } from './intel-hex.ts';

type FirmwareFileKind = 'dfuse' | 'dfu' | 'ihex' | 'bin';

/** One block of bytes to place; `address` is absent when the file does not say. */
interface FirmwareImage {
  data: Uint8Array;
  address?: number;
  /** DfuSe alternate setting (memory) this image is for. */
  alternateSetting?: number;
  /** DfuSe target name. */
  targetName?: string;
}

export interface FirmwareFile {
  kind: FirmwareFileKind;
  images: FirmwareImage[];
  /** The DFU suffix, for `dfuse` and `dfu` files. */
  suffix?: DfuSuffix;
  prefix?: DfuPrefix;
  /** Entry point from an Intel HEX start record. */
  entry?: number;
}

export interface LoadFirmwareOptions {
  /** File name, used to recognise `.hex`/`.ihex`. */
  name?: string;
  /** Address of a raw binary or DFU-suffixed payload, from the bundle manifest. */
  address?: number;
}

function looksLikeHex(bytes: Uint8Array, name: string | undefined): boolean {
  if (name && /\.(i?hex|ihx|h86)$/i.test(name)) return true;
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  )
    i++;
  return bytes[i] === 0x3a; // ':'
}

/**
 * Loads a firmware file of any supported kind.
 * @throws {FramingError} on a damaged DfuSe/DFU/HEX file.
 */
export function loadFirmwareFile(
  bytes: Uint8Array,
  options: LoadFirmwareOptions = {},
): FirmwareFile {
  const split = parseDfuSuffix(bytes);
  if (split) {
    if (isDfuseFile(split.payload)) {
      const dfuse = parseDfuseFile(bytes);
      return {
        kind: 'dfuse',
        suffix: split.suffix,
        images: dfuse.targets.flatMap((t) =>
          t.elements.map((e) => ({
            data: e.data,
            address: e.address,
            alternateSetting: t.alternateSetting,
            ...(t.name !== undefined ? { targetName: t.name } : {}),
          })),
        ),
      };
    }
    const pre = detectDfuPrefix(split.payload);
    const data = (pre ? pre.body : split.payload).slice();
    const address = pre?.prefix.kind === 'stellaris' ? pre.prefix.address : options.address;
    return {
      kind: 'dfu',
      suffix: split.suffix,
      ...(pre ? { prefix: pre.prefix } : {}),
      images: [{ data, ...(address !== undefined ? { address } : {}) }],
    };
  }
  if (looksLikeHex(bytes, options.name)) {
    const hex = parseIntelHex(bytes);
    const entry =
      hex.startLinear ??
      (hex.startSegment ? hex.startSegment.cs * 16 + hex.startSegment.ip : undefined);
    return {
      kind: 'ihex',
      images: hex.segments.map((s) => ({ data: s.data, address: s.address })),
      ...(entry !== undefined ? { entry } : {}),
    };
  }
  if (bytes.length === 0) throw new FramingError('framing.invalid', 'The firmware file is empty.');
  return {
    kind: 'bin',
    images: [
      {
        data: bytes.slice(),
        ...(options.address !== undefined ? { address: options.address } : {}),
      },
    ],
  };
}
