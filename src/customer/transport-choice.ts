/**
 * How the customer updater reaches the device, decided from the verified bundle's targets, what
 * the browser offers (support.ts) and the vendor's `transport` setting: over Web Serial for the
 * ESP and STM32 USART bootloaders, over WebUSB for USB DFU 1.1 and ST DfuSe. Pure.
 */
import { ProtocolError, TransportError, UsageError } from '../core/errors.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { Transport } from './support.ts';

/** Bootloader protocols the customer updater drives over Web Serial, in order of preference. */
export const SERIAL_PROTOCOLS: readonly ProtocolId[] = ['esp-serial', 'stm32-usart'];

/** Bootloader protocols it drives over WebUSB. */
export const USB_PROTOCOLS: readonly ProtocolId[] = ['dfuse', 'dfu'];

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
  const has = (list: readonly string[]): boolean =>
    options.targets.some((t) => list.includes(t.protocol));
  const kinds: Transport[] = [];
  if (has(SERIAL_PROTOCOLS)) kinds.push('serial');
  if (has(USB_PROTOCOLS)) kinds.push('usb');
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
