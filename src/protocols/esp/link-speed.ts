/**
 * The ESP side of the line speed (../link-speed.ts): which rates the ROM loader and the flasher
 * stub take after CHANGE_BAUDRATE, the ladder a connect tries, and what a job learned about the
 * link (a rate that failed is not tried again by the next connect of the same job).
 */
import type { PortInfo } from '../../transport/link.ts';
import { linkPlan, type BaudSetting } from '../link-speed.ts';
import type { EspChip } from './chips.ts';
import { ESP_ROM_BAUD } from './constants.ts';
import type { EspLoader } from './loader.ts';

/**
 * Rates tried above the ROM's 115200. esptool's documentation ("Basic Options", `--baud`):
 * "Most hardware configurations will work with -b 230400, some with -b 460800, -b 921600
 * and/or -b 1500000 or higher."
 */
const ESP_RUNGS: readonly number[] = [1_500_000, 921_600, 460_800, 230_400];

/**
 * The highest rate 'auto' asks the flasher stub for: the highest rate esptool's documentation
 * names (above). The stub takes any rate (its CHANGE_BAUDRATE sets the UART divider from the new
 * rate and the old one, loader.py `change_baud`), on the ESP8266 too, whose ROM has no
 * CHANGE_BAUDRATE (esptool `stub_and_esp32_function_only`).
 */
const ESP_STUB_MAX_BAUD = 1_500_000;

/** What a job learned about its link, kept across the connects of one job. */
export class LinkCeiling {
  /** Rates above this failed on this link. */
  max = Number.POSITIVE_INFINITY;

  /** Records that `rate` (and everything above) did not work. */
  failedAt(rate: number): void {
    this.max = Math.min(this.max, rate - 1);
  }
}

/** The rates one connect tries, highest first (above the ROM rate), and why. */
export interface EspLadder {
  readonly ladder: readonly number[];
  /** For the log; undefined for an explicit rate. */
  readonly why?: string;
}

/**
 * The ladder for this chip, loader and port. An explicit rate is tried first, then the lower
 * rungs (the ROM only up to `chip.maxRomBaud`). 'auto' takes the rungs the adapter named by the
 * port's USB ids and the loader both carry (../link-speed.ts `linkPlan`); an unknown adapter
 * stays at 115200. Rates above `ceiling` are left out.
 * @example espLadder({ requested: 'auto', port: { label: '', usbVendorId: 0x1a86, usbProductId: 0x7523 }, chip, isStub: true }).ladder // [1500000, 921600, 460800, 230400]
 */
export function espLadder(options: {
  requested: BaudSetting;
  port: PortInfo;
  chip: EspChip;
  isStub: boolean;
  ceiling?: LinkCeiling | undefined;
}): EspLadder {
  const { requested, chip, isStub } = options;
  const max = options.ceiling?.max ?? Number.POSITIVE_INFINITY;
  const above = (b: number): boolean => b > ESP_ROM_BAUD && b <= max;
  if (requested !== 'auto') {
    const romMax = isStub ? Number.POSITIVE_INFINITY : chip.maxRomBaud;
    const ladder = [requested, ...ESP_RUNGS.filter((b) => b < requested)].filter(
      (b) => above(b) && b <= romMax,
    );
    return { ladder };
  }
  const chipMax = isStub ? ESP_STUB_MAX_BAUD : chip.maxRomBaud;
  const plan = linkPlan({
    ids: { vendorId: options.port.usbVendorId, productId: options.port.usbProductId },
    rungs: ESP_RUNGS,
    chipMax,
    chip: `the ${chip.name} ${isStub ? 'flasher stub' : 'ROM loader'}`,
    safe: ESP_ROM_BAUD,
  });
  const ladder = plan.ladder.filter(above);
  const learned = max < chipMax ? `; ${Math.floor(max) + 1} baud and above failed earlier` : '';
  return { ladder, why: `${plan.why}${learned}` };
}

/**
 * Raises the line speed as `requested` asks (`espLadder`), stepping down the ladder past rates
 * that do not answer SYNC (loader.ts `raiseBaudrate`, which calls `reenter` when the chip is
 * lost at a rate), and says in the log which rate it chose and why. Rates that failed go into
 * `ceiling`. Returns the rungs below the chosen rate, for a later step down ('auto' only; empty
 * otherwise).
 */
export async function raiseLineSpeed(
  loader: EspLoader,
  options: {
    requested: BaudSetting;
    port: PortInfo;
    /** Espressif's native USB: nothing to raise. */
    nativeUsb: boolean;
    ceiling?: LinkCeiling | undefined;
    signal?: AbortSignal | undefined;
    reenter: () => Promise<void>;
  },
): Promise<readonly number[]> {
  const { requested, ceiling } = options;
  const chip = loader.chip!;
  const link = loader.link;
  const logger = loader.logger;
  if (options.nativeUsb) {
    if (requested === 'auto') logger.info('native USB: the baud rate does not matter');
    return [];
  }
  if (!loader.isStub && !chip.romSupportsChangeBaud) {
    if (requested === 'auto' || requested > link.baudRate) {
      logger.info(`${link.baudRate} baud: the ${chip.name} ROM cannot change its line speed`);
    }
    return [];
  }
  const { ladder, why } = espLadder({
    requested,
    port: options.port,
    chip,
    isStub: loader.isStub,
    ceiling,
  });
  if (why) logger.info(`line speed: ${why}`);
  if (ladder.length === 0 || ladder[0]! <= link.baudRate) return [];
  const chosen = await loader.raiseBaudrate(ladder, {
    signal: options.signal,
    reenter: options.reenter,
  });
  const failed = ladder.filter((b) => b > chosen);
  if (failed.length > 0) ceiling?.failedAt(Math.min(...failed));
  if (requested !== 'auto') return [];
  const loaderName = loader.isStub ? 'flasher stub' : 'ROM';
  logger.info(
    failed.length > 0
      ? `flashing at ${chosen} baud: the fastest rate that answered (${failed.join(', ')} did not)`
      : `flashing at ${chosen} baud: the fastest rate the adapter and the ${loaderName} both carry`,
  );
  return ladder.filter((b) => b < chosen);
}
