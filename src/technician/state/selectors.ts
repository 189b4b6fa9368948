/**
 * Derived values the views read. Plain functions of the state, so they are tested without React
 * and components select exactly what they render.
 */
import type { LogEntry } from '../../core/log.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import { chooseSerialProtocol } from '../../protocols/registry.ts';
import { chooseUsbProtocol } from '../../protocols/dfu/usb-targets.ts';
import { filterLog } from '../../app/log-export.ts';
import type { AppState } from './slices/slice.ts';
export { phaseProgress } from '../../job/progress.ts';

/**
 * Why Flash cannot start now, in words for the button's description; undefined when it can.
 * @example flashBlocker(state, { unverifiedAllowed: false }) // "Choose a board first."
 */
export function flashBlocker(
  state: Pick<AppState, 'port' | 'bundle' | 'job' | 'settings' | 'choosingPort'> &
    Partial<Pick<AppState, 'transport' | 'usbDevice'>>,
  build: { unverifiedAllowed: boolean },
): string | undefined {
  if (state.job.running) return 'A flash is already running.';
  if (state.choosingPort) return 'Choose a board in the browser’s list first.';
  if (state.transport === 'usb') {
    if (!state.usbDevice) return 'Choose a USB device first.';
  } else if (!state.port) return 'Choose a board first.';
  switch (state.bundle.status) {
    case 'empty':
      return 'Load a signed firmware bundle first.';
    case 'loading':
      return 'Wait until the bundle has been checked.';
    case 'rejected':
      return 'The loaded bundle was refused; load another one.';
    case 'unverified':
      if (!build.unverifiedAllowed) return 'This build writes only signed bundles.';
      if (!state.settings.allowUnverified)
        return 'This image is not signed. Allow unverified images in the options to write it anyway.';
      return undefined;
    case 'verified':
      return undefined;
  }
}

/** The log lines the console shows under the current filter. */
export function visibleLog(state: Pick<AppState, 'log'>): LogEntry[] {
  return filterLog(state.log.entries, state.log.filter);
}

/**
 * The protocol a flash would speak now, or why it cannot be told, for the line beside the
 * Flash button. Undefined until a port or device and a verified bundle are chosen.
 * @example plannedProtocol(state) // { protocol: 'stm32-usart', auto: true }
 */
export function plannedProtocol(
  state: Pick<AppState, 'transport' | 'port' | 'usbDevice' | 'bundle' | 'settings'>,
): { protocol: ProtocolId; auto: boolean } | { problem: string } | undefined {
  const targets =
    state.bundle.status === 'verified' ? state.bundle.verified?.manifest.targets : undefined;
  if (!targets) return undefined;
  try {
    if (state.transport === 'usb') {
      if (!state.usbDevice) return undefined;
      const { vendorId, productId } = state.usbDevice.handle.info;
      return {
        protocol: chooseUsbProtocol({ targets, device: { vendorId, productId } }),
        auto: true,
      };
    }
    if (!state.port) return undefined;
    const choice = state.settings.serialProtocol;
    const protocol = chooseSerialProtocol({ targets, choice, hint: state.port.protocolHint });
    return { protocol, auto: choice === 'auto' };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The connected board last received another product than the loaded bundle's (flash log):
 * flashing it needs the override with a reason (bundle `checkProductBinding`).
 * @example productChange(state) // { boardProduct: 'acme-a', bundleProduct: 'acme-b' }
 */
export function productChange(
  state: Pick<AppState, 'bundle' | 'flashLog'>,
): { boardProduct: string; bundleProduct: string } | undefined {
  const boardProduct = state.flashLog.board?.product;
  const bundleProduct =
    state.bundle.status === 'verified' ? state.bundle.summary?.product : undefined;
  if (boardProduct === undefined || bundleProduct === undefined) return undefined;
  return boardProduct === bundleProduct ? undefined : { boardProduct, bundleProduct };
}
