/**
 * How the customer updater reaches the device, decided from the verified bundle's targets, what
 * the browser offers (support.ts) and the vendor's `transport` setting: over Web Serial or WebUSB,
 * as the protocol registry (src/protocols/registry.ts) says each target's protocol is reached. Pure.
 */
import { ProtocolError, TransportError, UsageError } from '../core/errors.ts';
import { transportsFor } from '../protocols/registry.ts';
import type { Transport } from './support.ts';

/**
 * The vendor's `transport` attribute (or `?transport=` parameter): `serial`, `usb`, or nothing.
 * @throws {UsageError} for any other value, so a typo shows as a page set-up problem.
 * @example parseTransport('usb') // 'usb'
 */
export function parseTransport(value: string | null | undefined): Transport | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value === 'serial' || value === 'usb') return value;
  throw new UsageError(`transport="${value}" is not "serial" or "usb".`);
}

/**
 * The transport for a bundle. The kinds its targets need, serial before USB (a bundle with
 * both keeps the serial default); `pinned` picks one of them when the bundle has it; then the
 * first the browser can use.
 * @throws {ProtocolError} 'protocol.unsupported' when no target is for either kind;
 *   {TransportError} 'transport.unavailable' when the browser lacks what the targets need.
 * @example chooseTransport({ targets: [{ protocol: 'dfuse' }], available: ['serial', 'usb'] }) // 'usb'
 */
export function chooseTransport(options: {
  targets: readonly { readonly protocol: string }[];
  available: readonly Transport[];
  pinned?: Transport | undefined;
}): Transport {
  const kinds: Transport[] = transportsFor(options.targets);
  if (kinds.length === 0) {
    throw new ProtocolError(
      'protocol.unsupported',
      'This update is for devices that connect in a way this updater does not support.',
      { hints: ["Contact the manufacturer's support."] },
    );
  }
  const { pinned } = options;
  const wanted = pinned && kinds.includes(pinned) ? [pinned] : kinds;
  const found = wanted.find((k) => options.available.includes(k));
  if (!found) throw new TransportError('transport.unavailable', 'This browser cannot reach it.');
  return found;
}
