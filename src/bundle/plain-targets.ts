/**
 * Manifest targets as plain data (docs/bundle-format.md, "Manifest"): what the manifest encoder
 * writes and the technician console shows. A module of its own, so that the customer updater,
 * which only reads manifests, does not carry it.
 */
import type { ManifestTarget, ManifestUsbIds } from './manifest.ts';

/**
 * Targets as plain data in the schema's member order, without absent optional members: the
 * manifest's own encoding and the views that show a manifest use the same shape.
 */
export function plainTargets(targets: readonly ManifestTarget[]): ManifestTarget[] {
  return targets.map((t) => ({
    chip: t.chip,
    protocol: t.protocol,
    ...(t.board === undefined ? {} : { board: t.board }),
    ...(t.usb === undefined ? {} : { usb: plainUsb(t.usb) }),
    ...(t.writes === undefined ? {} : { writes: [...t.writes] }),
    ...(t.confirm === undefined ? {} : { confirm: t.confirm }),
    images: t.images.map((im) => ({
      name: im.name,
      ...(im.address === undefined ? {} : { address: im.address }),
      ...(im.slot === undefined ? {} : { slot: im.slot }),
      size: im.size,
      sha256: im.sha256,
    })),
  }));
}

function plainUsb(u: ManifestUsbIds): ManifestUsbIds {
  return {
    vendorId: u.vendorId,
    productId: u.productId,
    ...(u.dfuProductId === undefined ? {} : { dfuProductId: u.dfuProductId }),
  };
}
