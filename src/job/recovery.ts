/**
 * Plain-language advice on getting the board back after a job stopped: what state the board is
 * in and the next thing to do. Chosen from the phase, the error code and whether flash was
 * touched — never from message text.
 */
import type { WebflashError } from '../core/errors.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { JobPhase } from './types.ts';

/**
 * How a person puts a board of each protocol into its bootloader by hand (esptool docs, "Boot
 * mode selection"; AN2606 §2 "BOOT0 pin"; DFU 1.1 §7 leaves the trigger to the device, buttons
 * are the common case).
 */
const manualEntry: Record<ProtocolId, string> = {
  'esp-serial': 'hold BOOT, press and release RESET, then release BOOT',
  'stm32-usart': 'set BOOT0 high (jumper or button) and press RESET',
  dfu: "hold the board's DFU or BOOT button while plugging it in",
  dfuse: 'hold BOOT0 (the BOOT button) while plugging the board in',
  // Arduino: the bootloader runs for about a second after a reset (optiboot.c WATCHDOG_1S).
  'avr-stk500v1': 'press RESET and start the update within a second',
  'avr-stk500v2': 'press RESET and start the update within a second',
  // Caterina waits 8 s after a double tap on RESET (Caterina.c, "TIMEOUT_PERIOD").
  avr109: 'press RESET twice quickly and start the update within 8 seconds',
  // MCUboot serial recovery starts when its button (CONFIG_BOOT_SERIAL_DETECT_PIN) is held at reset.
  'mcuboot-smp': "hold the board's recovery button while pressing RESET (MCUboot serial recovery)",
};

export interface RecoveryContext {
  phase: JobPhase;
  error: WebflashError;
  cancelled: boolean;
  /** True once any byte may have been erased or written. */
  flashTouched: boolean;
  /** Known once the connector was chosen. */
  protocol: ProtocolId | undefined;
}

/**
 * The recovery text for a stopped job.
 * @example recoveryAdvice({ phase: 'writing', error, cancelled: false, flashTouched: true, protocol: 'esp-serial' })
 */
export function recoveryAdvice(ctx: RecoveryContext): string {
  const entry = ctx.protocol
    ? manualEntry[ctx.protocol]
    : 'put the board into its bootloader (on most ESP32 boards: hold BOOT and press RESET)';
  const code = ctx.error.code;
  const incomplete =
    'The firmware on the board is incomplete, so it will not start until it is written again.';

  if (ctx.cancelled) {
    return ctx.flashTouched
      ? `${incomplete} The board is still in the bootloader; press Flash again to finish.`
      : 'Nothing was written. Press RESET on the board (or unplug and replug it) to start the firmware it had.';
  }
  // DFU 1.1 §5.1: once switched to DFU mode for the download, a device whose new firmware is
  // incomplete stays there (a new download starts over, §6.1.1), under its DFU-mode USB id.
  const staysInDfuMode = ctx.protocol === 'dfu' && ctx.flashTouched;
  if (code === 'transport.device-lost') {
    if (staysInDfuMode) {
      return `${incomplete} Plug the device back in: it stays in its update (DFU) mode, and pressing Flash again updates it. If it does not appear, ${entry}, then retry.`;
    }
    return ctx.flashTouched
      ? `${incomplete} Plug the board back in and press Flash again. If it does not connect, ${entry}, then retry.`
      : `Nothing was written. Plug the board back in and press Flash again. If it does not connect, ${entry}, then retry.`;
  }
  if (!ctx.flashTouched) {
    switch (code) {
      case 'usage.invalid-argument':
      case 'bundle.rejected':
      case 'protocol.wrong-chip':
        return 'Nothing was written and the board keeps its current firmware. Press RESET to restart it, then choose a bundle made for this board.';
      case 'transport.unavailable':
        return 'Nothing was written. Use a browser with Web Serial or WebUSB (Chrome or Edge on a desktop).';
      case 'transport.no-port-selected':
        return 'Nothing was written. Press Flash again and pick the board in the browser’s list.';
      case 'transport.port-busy':
      case 'transport.open-failed':
        return 'Nothing was written. Close other programs that use the port (serial monitors, IDEs), then press Flash again.';
      case 'transport.driver-missing':
        return 'Nothing was written. Install the USB-serial driver for the board’s adapter, then press Flash again.';
      case 'protocol.no-sync':
      case 'timeout':
        return `Nothing was written. ${cap(entry)}, then press Flash again. If it still does not answer, try another USB cable (some only carry power) or a lower speed.`;
      case 'protocol.read-protected':
        return 'Nothing was written. The chip’s flash is read-protected; removing the protection with the vendor’s tool erases the chip, after which it can be flashed.';
      default:
        return `Nothing was written. Press RESET to restart the board, or ${entry} and press Flash again.`;
    }
  }
  if (staysInDfuMode && code !== 'protocol.read-protected') {
    return `${incomplete} The device stays in its update (DFU) mode; press Flash again to update it. If it does not answer, unplug it and plug it back in, then press Flash again.`;
  }
  switch (code) {
    case 'verify.mismatch':
      return `${incomplete} The board is still in the bootloader; press Flash again. If it fails the same way, the flash may be write-protected or worn.`;
    case 'protocol.read-protected':
      return `${incomplete} The chip’s flash is protected; remove the protection with the vendor’s tool (this erases the chip), then flash again.`;
    default:
      return `${incomplete} The board is still in the bootloader; press Flash again. If it does not answer, ${entry}, then retry (a lower speed may help).`;
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
