/**
 * Intel HEX images for `webflash bundle create`: a bundle image is one contiguous run of bytes
 * at one address, so an image file ending in `.hex` becomes one image per contiguous segment of
 * the HEX file (intel-hex.ts merges adjacent records; gaps stay gaps, never filled). One
 * segment keeps the image's name; several are named `NAME.1`, `NAME.2`… in address order. The
 * address comes from the file: the manifest must not give one.
 */
import { parseIntelHex } from '../formats/intel-hex.ts';
import { CliUsageError } from './io.ts';

/** One manifest image entry (without `file`), as bundle-cmd.ts reads it. */
type DraftImageEntry = Record<string, unknown> & { name: string };

/** True for a file that holds Intel HEX, by its name. */
function isHexFile(file: string): boolean {
  return /\.(hex|ihex|ihx)$/i.test(file);
}

export interface HexExpansion {
  /** Image bytes by (new) image name. */
  images: Map<string, Uint8Array>;
  /** For each HEX image name, the entries that replace it in every target. */
  entries: Map<string, DraftImageEntry[]>;
}

/**
 * Splits HEX files into images.
 * @throws {CliUsageError} for a HEX image with an `address` or a `slot` and several segments,
 *   an empty HEX file, or HEX text that does not parse (the message names the file).
 */
export function expandHexImages(
  files: ReadonlyMap<string, string>,
  bytes: ReadonlyMap<string, Uint8Array>,
  entryFor: (name: string) => DraftImageEntry,
): HexExpansion {
  const images = new Map<string, Uint8Array>();
  const entries = new Map<string, DraftImageEntry[]>();
  for (const [name, file] of files) {
    const data = bytes.get(name)!;
    if (!isHexFile(file)) {
      images.set(name, data);
      continue;
    }
    const entry = entryFor(name);
    if (entry['address'] !== undefined) {
      throw new CliUsageError(
        `image "${name}": ${file} is Intel HEX, which carries its addresses; remove "address"`,
      );
    }
    let segments;
    try {
      segments = parseIntelHex(data).segments;
    } catch (err) {
      throw new CliUsageError(
        `image "${name}": ${file} is not valid Intel HEX (${(err as Error).message})`,
      );
    }
    if (segments.length === 0) throw new CliUsageError(`image "${name}": ${file} holds no data`);
    if (entry['slot'] !== undefined && segments.length > 1) {
      throw new CliUsageError(
        `image "${name}": ${file} has ${segments.length} segments, but a slot takes one image`,
      );
    }
    const named = segments.map((s, i) => ({
      name: segments.length === 1 ? name : `${name}.${i + 1}`,
      segment: s,
    }));
    for (const { name: n, segment } of named) images.set(n, segment.data);
    entries.set(
      name,
      named.map(({ name: n, segment }) =>
        entry['slot'] !== undefined
          ? { ...entry, name: n }
          : { ...entry, name: n, address: segment.address },
      ),
    );
  }
  return { images, entries };
}
