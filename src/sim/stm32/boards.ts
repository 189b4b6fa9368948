/**
 * Simulated STM32 boards for the registry (../boards.ts): a chip from the table in
 * src/protocols/stm32/chips.ts behind a USB-UART bridge. USB ids: Silicon Labs CP2102
 * 10c4:ea60, WCH CH340 1a86:7523, FTDI FT232R 0403:6001. Boards "with auto-boot" wire DTR to
 * BOOT0 and RTS to NRST, so the driver's reset sequence enters the bootloader; the others have
 * a BOOT0 jumper, set to the bootloader.
 */
import { chipById, type Stm32Chip } from '../../protocols/stm32/chips.ts';
import type { BoardOptions, BoardPreset, SimBoard } from '../board.ts';
import { LINK_CH340, LINK_CP2102, LINK_FTDI, SerialWire, type LinkModel } from '../serial-wire.ts';
import { Stm32SimBoard, type Stm32Wiring } from './board.ts';

/** An STM32 board, with its chip model exposed for tests. */
export interface Stm32SimBoardHandle extends SimBoard {
  device: Stm32SimBoard;
}

interface Bridge {
  name: string;
  vid: number;
  pid: number;
  link: LinkModel;
}

const CP2102: Bridge = { name: 'CP2102', vid: 0x10c4, pid: 0xea60, link: LINK_CP2102 };
const CH340: Bridge = { name: 'CH340', vid: 0x1a86, pid: 0x7523, link: LINK_CH340 };
const FTDI: Bridge = { name: 'FT232R', vid: 0x0403, pid: 0x6001, link: LINK_FTDI };

function stm32Preset(options: {
  name: string;
  chip: string;
  label: string;
  bridge: Bridge;
  wiring: Stm32Wiring;
}): BoardPreset {
  const chip = chipById(options.chip) as Stm32Chip;
  const boot = options.wiring === 'none' ? 'BOOT0 jumper' : 'DTR→BOOT0, RTS→NRST';
  return {
    name: options.name,
    description: `${options.label}: ${chip.name} (product id 0x${chip.productId.toString(16)}), ${options.bridge.name} ${hex4(options.bridge.vid)}:${hex4(options.bridge.pid)}, ${boot}`,
    protocol: 'stm32-usart',
    chip: chip.chip,
    create(o: BoardOptions): Stm32SimBoardHandle {
      // Without control lines (TCP/pty) the board waits in its bootloader from power-on.
      const wired = options.wiring !== 'none' && !o.startInBootloader;
      const device = new Stm32SimBoard({
        chip,
        wiring: wired ? options.wiring : 'none',
        boot0: wired ? 'low' : 'high',
      });
      for (const image of o.images ?? []) device.memory.flash.load(image.address, image.data);
      const wire = new SerialWire({
        clock: o.clock,
        device,
        link: o.link ?? options.bridge.link,
        usbVendorId: options.bridge.vid,
        usbProductId: options.bridge.pid,
        label: `Simulated ${options.label}`,
        seed: o.seed ?? 1,
        ...(o.unplugged ? { unplugged: true } : {}),
      });
      return {
        name: options.name,
        label: options.label,
        protocol: 'stm32-usart',
        chip: chip.chip,
        flash: device.memory.flash,
        wire,
        enterBootloader: () => device.enterBootloader(),
        device,
      };
    },
  };
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** The STM32 presets, one per family in the chip table. */
export const STM32_BOARD_PRESETS: readonly BoardPreset[] = [
  stm32Preset({
    name: 'stm32f0',
    chip: 'stm32f0',
    label: 'STM32F030R8 board (CH340)',
    bridge: CH340,
    wiring: 'none',
  }),
  stm32Preset({
    name: 'stm32f1',
    chip: 'stm32f1',
    label: 'STM32F103CB board (CP2102, auto-boot)',
    bridge: CP2102,
    wiring: 'dtr-boot0-rts-nrst',
  }),
  stm32Preset({
    name: 'stm32f4',
    chip: 'stm32f4',
    label: 'STM32F407 board (CP2102, auto-boot)',
    bridge: CP2102,
    wiring: 'dtr-boot0-rts-nrst',
  }),
  stm32Preset({
    name: 'stm32g0',
    chip: 'stm32g0',
    label: 'STM32G071 board (FT232R, auto-boot)',
    bridge: FTDI,
    wiring: 'dtr-boot0-rts-nrst',
  }),
  stm32Preset({
    name: 'stm32l4',
    chip: 'stm32l4',
    label: 'STM32L432 board (CP2102)',
    bridge: CP2102,
    wiring: 'none',
  }),
  stm32Preset({
    name: 'stm32h7',
    chip: 'stm32h7',
    label: 'STM32H743 board (CP2102, auto-boot)',
    bridge: CP2102,
    wiring: 'dtr-boot0-rts-nrst',
  }),
];
