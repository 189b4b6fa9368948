/**
 * The STM32 side of the line speed (../link-speed.ts). The system bootloader measures the rate
 * of the host's first 0x7F (ST AN3155 §2 "Bootloader code sequence"; AN2606 "USART
 * connection": autobaud), so the host chooses; ST tests up to 115200 (registry.ts `baud.max`).
 * 'auto' starts at the highest rate the adapter and the bootloader both carry and, when the
 * autobaud gets no ACK and the driver can reset the chip into the bootloader again (DTR/RTS
 * wiring), tries the next lower rung — the measurement happens once per reset.
 */
import { WebflashError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PortInfo } from '../../transport/link.ts';
import { linkPlan } from '../link-speed.ts';

/** The highest rate ST tests the autobaud at (AN2606, USART bootloader: "1200 to 115200"). */
const STM32_MAX_BAUD = 115_200;
/** Rungs below it, for a line that does not carry 115200 (long wires, slow level shifters). */
const STM32_FALLBACK: readonly number[] = [57_600, 38_400];

/**
 * Opens a session at the first rate of the ladder that synchronises.
 * @throws the last rate's error when none does, or at once for anything but 'protocol.no-sync'.
 */
export async function openAtBestRate<S>(options: {
  port: PortInfo;
  /** Opens the port at `rate`, resets into the bootloader if it can, and syncs. */
  open: (rate: number) => Promise<S>;
  /** The driver resets the chip into its bootloader on each open (a new autobaud). */
  canReset: boolean;
  logger: Logger;
}): Promise<S> {
  const { logger } = options;
  const plan = linkPlan({
    ids: { vendorId: options.port.usbVendorId, productId: options.port.usbProductId },
    rungs: [STM32_MAX_BAUD],
    chipMax: STM32_MAX_BAUD,
    chip: 'the STM32 system bootloader',
  });
  const top = plan.ladder.length > 0 ? plan.ladder : [STM32_MAX_BAUD];
  const ladder = options.canReset ? [...top, ...STM32_FALLBACK] : top;
  logger.info(`line speed: ${plan.native ? 'native USB' : plan.why}`);
  for (let i = 0; ; i++) {
    const rate = ladder[i]!;
    try {
      const session = await options.open(rate);
      logger.info(
        i === 0
          ? `flashing at ${rate} baud`
          : `flashing at ${rate} baud: ${ladder.slice(0, i).join(', ')} got no answer`,
      );
      return session;
    } catch (err) {
      const noSync = err instanceof WebflashError && err.code === 'protocol.no-sync';
      if (!noSync || i === ladder.length - 1) throw err;
      logger.warn(`no answer to the autobaud at ${rate} baud; trying ${ladder[i + 1]}`);
    }
  }
}
