/**
 * What a job writes, and the checks that must pass before it writes anything. A verified source
 * comes from a signed bundle (`fromVerifiedBundle` in bundle-source.ts) and picks its images
 * only once the board has identified itself; an unverified one is a raw image for development
 * and is refused unless the job has `allowUnverified` set.
 */
import { hex32 } from '../core/bytes.ts';
import { UsageError } from '../core/errors.ts';
import type { DeviceIdentity, FlashRegion, InstalledFirmware } from '../protocols/driver.ts';
import type { PortInfo } from '../transport/link.ts';

/** What the engine knows about the board when a verified source picks its images. */
export interface BoardFacts {
  identity: DeviceIdentity;
  /** What the board runs now, when the protocol can tell. */
  installed: InstalledFirmware | undefined;
  /** The port's USB identity, when the port has one. */
  port: PortInfo | undefined;
}

/** A region as a source hands it over; `slot` is a DFU alternate setting instead of an address. */
export type SourceRegion = FlashRegion & { readonly slot?: number };

/** Images from a verified bundle, with the bundle's pre-write checks. */
export interface VerifiedSource {
  kind: 'verified';
  /** For logs: "blink 1.2.0". */
  label: string;
  /**
   * Picks the images for this board and runs every check that must pass before writing: target
   * match, anti-rollback. Throws (BundleError 'target.mismatch', 'rollback.*'…) to refuse.
   */
  resolve(board: BoardFacts): readonly SourceRegion[] | Promise<readonly SourceRegion[]>;
  /** Called once every region is written (and verified, when verifying): e.g. record the release. */
  onWritten?(): void | Promise<void>;
}

/** A raw image at an address, not covered by any signature. Development only. */
interface UnverifiedSource {
  kind: 'unverified';
  /** Shown in progress and logs; "image" unless set. */
  name?: string;
  address: number;
  data: Uint8Array;
}

export type FlashSource = VerifiedSource | UnverifiedSource;

/** The checked list of regions a job will write. */
export interface FlashPlan {
  verified: boolean;
  label: string;
  regions: readonly SourceRegion[];
  totalBytes: number;
}

/**
 * Checks that `source` may be used at all, before the port is touched. For an unverified source
 * this is also the full plan.
 * @throws {UsageError} for an unverified source without `allowUnverified`, an unknown kind, or
 *   (unverified) a bad image.
 * @example admitSource({ kind: 'unverified', address: 0x10000, data }, { allowUnverified: true })
 */
export function admitSource(
  source: FlashSource,
  options: { allowUnverified: boolean },
): FlashPlan | undefined {
  const kind = (source as { kind?: unknown }).kind;
  if (kind === 'verified') {
    if (typeof (source as VerifiedSource).resolve !== 'function') {
      throw new UsageError('A verified source needs a resolve() function');
    }
    return undefined;
  }
  if (kind !== 'unverified') {
    throw new UsageError('The flash source must be "verified" or "unverified"');
  }
  const raw = source as UnverifiedSource;
  if (!options.allowUnverified) {
    throw new UsageError('This image is not from a signed bundle, so it cannot be written.', {
      hints: [
        'Open a signed release bundle instead.',
        'For development only, enable "allow unverified images" in the settings.',
      ],
    });
  }
  const region = { name: raw.name ?? 'image', address: raw.address, data: raw.data };
  return planRegions([region], { verified: false, label: region.name });
}

/**
 * Checks a list of regions and totals them.
 * @throws {UsageError} for no regions, an empty region, data that is not bytes, a bad address,
 *   or regions that overlap.
 */
export function planRegions(
  regions: readonly SourceRegion[],
  options: { verified: boolean; label: string },
): FlashPlan {
  if (!isList(regions) || regions.length === 0) {
    throw new UsageError('Nothing to write: the plan has no images.');
  }
  for (const r of regions) {
    if (!(r.data instanceof Uint8Array)) {
      throw new UsageError(`Image "${r.name}": data must be a Uint8Array`);
    }
    if (r.data.length === 0) throw new UsageError(`Image "${r.name}" is empty.`);
    if (!Number.isSafeInteger(r.address) || r.address < 0 || r.address > 0xffffffff) {
      throw new UsageError(`Image "${r.name}": address ${String(r.address)} is not valid.`);
    }
  }
  // Overlap is checked among regions bound for the same place (the same DFU slot, or flash).
  const sorted = [...regions].sort(
    (a, b) => (a.slot ?? -1) - (b.slot ?? -1) || a.address - b.address,
  );
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.slot === cur.slot && prev.address + prev.data.length > cur.address) {
      throw new UsageError(
        `Images "${prev.name}" (${hex32(prev.address)}) and "${cur.name}" (${hex32(cur.address)}) overlap.`,
      );
    }
  }
  const totalBytes = regions.reduce((n, r) => n + r.data.length, 0);
  return { verified: options.verified, label: options.label, regions: [...regions], totalBytes };
}

/** Array.isArray without narrowing the argument to `any[]`. */
function isList(value: unknown): boolean {
  return Array.isArray(value);
}

/**
 * The USB identity of a port, for target matching: a SerialPortHandle's `info` has
 * `usbVendorId`/`usbProductId`, a USB device handle's `info` has `vendorId`/`productId`.
 */
export function portInfoOf(port: unknown): PortInfo | undefined {
  if (typeof port !== 'object' || port === null || !('info' in port)) return undefined;
  const info = port.info;
  if (typeof info !== 'object' || info === null) return undefined;
  const i = info as Partial<PortInfo> & { vendorId?: unknown; productId?: unknown };
  const out: PortInfo = { label: typeof i.label === 'string' ? i.label : 'port' };
  const vid = typeof i.usbVendorId === 'number' ? i.usbVendorId : i.vendorId;
  const pid = typeof i.usbProductId === 'number' ? i.usbProductId : i.productId;
  if (typeof vid === 'number') out.usbVendorId = vid;
  if (typeof pid === 'number') out.usbProductId = pid;
  return out;
}
