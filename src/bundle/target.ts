/**
 * Matching a verified bundle to the connected board (docs/bundle-format.md, "Targets"), and the
 * regions the flash engine writes: each one a fresh copy of verified image bytes.
 */
import { reject } from './errors.ts';
import type { ManifestTarget, ProtocolId } from './manifest.ts';
import type { VerifiedBundle } from './verify.ts';

/** What is known about the connected board. `DeviceIdentity` (src/protocols/driver.ts) fits. */
export interface TargetQuery {
  readonly chip: string;
  readonly protocol?: ProtocolId;
  /** Board id, when the user or the page names one. */
  readonly board?: string;
  readonly usbVendorId?: number;
  readonly usbProductId?: number;
}

/** One image to write: at a flash `address`, or into DFU alternate setting `slot`. */
interface TargetRegion {
  readonly name: string;
  readonly address?: number;
  readonly slot?: number;
  /** 'mcuboot-smp': who confirms the image after the first boot (the target's `confirm`). */
  readonly confirm?: 'host' | 'application';
  /** A copy of the verified bytes. */
  readonly data: Uint8Array;
}

/** The manifest target that matches the board, and what to write there. */
export interface VerifiedTarget {
  readonly target: ManifestTarget;
  readonly regions: readonly TargetRegion[];
}

/** The manifest targets that `query` matches (see `checkTarget` for the rules). */
function matchingTargets(targets: readonly ManifestTarget[], query: TargetQuery): ManifestTarget[] {
  return targets.filter(
    (t) =>
      t.chip === query.chip &&
      (query.protocol === undefined || t.protocol === query.protocol) &&
      (query.board === undefined || t.board === query.board) &&
      (t.usb === undefined || usbIdsMatch(t, query)),
  );
}

/**
 * Whether the device's USB ids are the target's: its run-time ids, or — for a 'dfu' target
 * naming `dfuProductId` — its DFU-mode ids (DFU 1.1 §5.1), as when a failed update left the
 * device in DFU mode.
 */
function usbIdsMatch(t: ManifestTarget, query: TargetQuery): boolean {
  const usb = t.usb;
  if (usb === undefined || usb.vendorId !== query.usbVendorId) return false;
  if (usb.productId === query.usbProductId) return true;
  return (
    t.protocol === 'dfu' &&
    usb.dfuProductId !== undefined &&
    usb.dfuProductId === query.usbProductId
  );
}

/**
 * Finds the one target of a verified bundle for the connected board: same chip, same protocol
 * (when known), same board id (when the query names one), and the same USB ids when the target
 * lists them (for a 'dfu' target, its DFU-mode ids count too).
 * @throws {BundleError} `target.mismatch` when no target, or more than one, matches.
 * @example const { regions } = checkTarget(verified, session.identity);
 */
export function checkTarget(verified: VerifiedBundle, query: TargetQuery): VerifiedTarget {
  const targets = verified.manifest.targets;
  const found = matchingTargets(targets, query);
  const board = describe(query);
  if (found.length === 0) {
    const offered = targets
      .map((t) => `${t.chip}/${t.protocol}${t.board ? `/${t.board}` : ''}`)
      .join(', ');
    throw reject('target.mismatch', `connected: ${board}; the bundle is for ${offered}`);
  }
  if (found.length > 1)
    throw reject('target.mismatch', `${board} matches several targets; name the board`);
  const target = found[0]!;
  const regions = target.images.map((im) =>
    Object.freeze({
      name: im.name,
      ...(im.address === undefined ? {} : { address: im.address }),
      ...(im.slot === undefined ? {} : { slot: im.slot }),
      ...(target.confirm === undefined ? {} : { confirm: target.confirm }),
      data: verified.imageBytes(im.name),
    }),
  );
  return Object.freeze({ target, regions: Object.freeze(regions) });
}

function describe(q: TargetQuery): string {
  const usb =
    q.usbVendorId === undefined
      ? ''
      : ` (USB ${q.usbVendorId.toString(16).padStart(4, '0')}:${(q.usbProductId ?? 0).toString(16).padStart(4, '0')})`;
  return `${q.chip}${q.protocol ? `/${q.protocol}` : ''}${q.board ? `/${q.board}` : ''}${usb}`;
}
