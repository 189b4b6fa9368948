/**
 * The registry of simulated boards: a name ("esp32s3", "stm32f4"…) → a factory that builds the
 * board (chip model, flash, serial wire with the right USB identity and link model). The demo
 * mode, the Playwright tests, the benchmarks and `npm run sim` all create boards through it.
 *
 * A board family adds its presets to the list in `BUILTIN_PRESETS` below. A preset's `transport`
 * says whether a host reaches it through a serial port (`SimBoard.wire`, the default) or USB
 * (`SimBoard.usb`).
 */
import { UsageError } from '../core/errors.ts';
import type { BoardOptions, BoardPreset, SimBoard } from './board.ts';
import { DFU_BOARD_PRESETS } from './dfu/boards.ts';
import { AVR_BOARD_PRESETS } from './avr/boards.ts';
import { ESP_BOARD_PRESETS } from './esp/boards.ts';
import { MCUBOOT_BOARD_PRESETS } from './mcuboot/boards.ts';
import { STM32_BOARD_PRESETS } from './stm32/boards.ts';

export type { BoardOptions, BoardPreset, SimBoard } from './board.ts';

const BUILTIN_PRESETS: readonly BoardPreset[] = [
  ...ESP_BOARD_PRESETS,
  ...STM32_BOARD_PRESETS,
  ...DFU_BOARD_PRESETS,
  ...AVR_BOARD_PRESETS,
  ...MCUBOOT_BOARD_PRESETS,
];

const registry = new Map<string, BoardPreset>(BUILTIN_PRESETS.map((p) => [p.name, p]));

/** Every preset, sorted by name. */
export function listBoards(): BoardPreset[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The preset called `name`, if any. */
export function getBoardPreset(name: string): BoardPreset | undefined {
  return registry.get(name);
}

/**
 * Builds the board called `name`.
 * @throws {UsageError} for an unknown name (the message lists the known ones).
 * @example const board = createBoard('esp32s3', { clock: realClock, seed: 7 });
 */
export function createBoard(name: string, options: BoardOptions): SimBoard {
  const preset = registry.get(name);
  if (!preset) {
    throw new UsageError(
      `Unknown simulated board "${name}". Known boards: ${listBoards()
        .map((p) => p.name)
        .join(', ')}`,
    );
  }
  return preset.create(options);
}
