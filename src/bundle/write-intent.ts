/**
 * What a release writes in protected ranges (docs/bundle-format.md, "Write intent"), for the
 * technician console to show with the bundle before anything is flashed. The manifest parser
 * (manifest.ts) already refused any undeclared write there.
 */
import { type Manifest, PROTECTED_RANGES, type WriteKind } from './manifest.ts';

/** A protected range a target writes, as declared (`PROTECTED_RANGES`, `writes`). */
export interface ProtectedWrite {
  /** "esp32/esp-serial" (plus "/board" when the target names one). */
  readonly target: string;
  readonly kind: WriteKind;
  /** "the bootloader region (below 0x8000)". */
  readonly what: string;
  readonly images: readonly string[];
}

/** Every protected range the release writes, target by target, for people to see first. */
export function protectedWrites(m: Manifest): ProtectedWrite[] {
  const out: ProtectedWrite[] = [];
  for (const t of m.targets) {
    for (const range of PROTECTED_RANGES[t.protocol] ?? []) {
      const images = t.images
        .filter((im) => im.address !== undefined && im.address < range.end)
        .filter((im) => range.start < im.address! + im.size)
        .map((im) => im.name);
      if (images.length === 0) continue;
      const target = [t.chip, t.protocol, ...(t.board ? [t.board] : [])].join('/');
      out.push({ target, kind: range.kind, what: range.what, images });
    }
  }
  return out;
}
