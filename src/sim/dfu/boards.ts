/**
 * Simulated USB DFU boards for the registry (../boards.ts): the STM32F405 system bootloader in
 * DfuSe mode and a generic DFU 1.1 gadget, each on a simulated USB bus (`SimBoard.usb`).
 * `npm run sim -- --board NAME --usb-listen HOST:PORT` serves that bus to libusb programs.
 */
import type { BoardOptions, BoardPreset, SimBoard } from '../board.ts';
import { W25Q32_TIMING } from '../flash-model.ts';
import { usbId } from '../../transport/usb.ts';
import {
  DfuseSimDevice,
  STM32_DFU_PRODUCT_ID,
  STM32_DFU_VENDOR_ID,
  STM32F405_DFUSE,
  STM32L476_DFUSE,
  type DfuseChip,
} from './dfuse-sim.ts';
import { GenericDfuBoard } from './generic-dfu-sim.ts';
import { SimUsbBus } from '../usb/sim-usb-device.ts';

/** The DfuSe board, with its device exposed for tests. */
export interface DfuseBoardHandle extends SimBoard {
  usb: SimUsbBus;
  device: DfuseSimDevice;
}

/** The DFU 1.1 gadget, with the board model (its flash and current USB face) exposed. */
export interface GadgetBoardHandle extends SimBoard {
  usb: SimUsbBus;
  gadget: GenericDfuBoard;
}

/** Serial number of the simulated STM32F405, derived from the seed (12 hex digits, as ST's). */
function stm32Serial(seed: number): string {
  const n = (Math.imul(seed >>> 0, 0x9e3779b1) >>> 0).toString(16).toUpperCase();
  return `3${n.padStart(8, '0')}3231`.slice(0, 12);
}

/** An STM32 system bootloader in DFU mode (BOOT0 held high), with `chip`'s flash map. */
function dfusePreset(o: {
  name: string;
  chip: string;
  label: string;
  model: DfuseChip;
  description: string;
  /** The serial number at seed 1. */
  serial: string;
}): BoardPreset {
  return {
    name: o.name,
    description: `USB: ${o.description} (DfuSe ${usbId(STM32_DFU_VENDOR_ID, STM32_DFU_PRODUCT_ID)}, 4 alternate settings)`,
    transport: 'usb',
    protocol: 'dfuse',
    chip: o.chip,
    create(b: BoardOptions): DfuseBoardHandle {
      const usb = b.usbBus ?? new SimUsbBus();
      const device = new DfuseSimDevice({
        clock: b.clock,
        bus: usb,
        chip: o.model,
        serialNumber: (b.seed ?? 1) === 1 ? o.serial : stm32Serial(b.seed ?? 1),
      });
      for (const image of b.images ?? []) device.flash.load(image.address, image.data);
      if (!b.unplugged) usb.attach(device);
      return {
        name: o.name,
        label: o.label,
        protocol: 'dfuse',
        chip: o.chip,
        flash: device.flash,
        usb,
        device,
        // BOOT0 held high: a power cycle brings the bootloader back.
        enterBootloader: () => {
          if (!device.attached) device.powerOnInBootloader();
        },
      };
    },
  };
}

export const DFU_BOARD_PRESETS: readonly BoardPreset[] = [
  dfusePreset({
    name: 'stm32f405-dfuse',
    chip: 'stm32f405',
    label: 'STM32F405 in DFU mode (DfuSe)',
    model: STM32F405_DFUSE,
    description: 'STM32F405 system bootloader in DFU mode, 1 MiB flash in sectors of 16 to 128 KiB',
    serial: '336F38673231',
  }),
  dfusePreset({
    name: 'stm32l476-dfuse',
    chip: 'stm32l476',
    label: 'STM32L476 in DFU mode (DfuSe)',
    model: STM32L476_DFUSE,
    description: 'STM32L476 system bootloader in DFU mode, 1 MiB flash in 2 KiB pages',
    serial: '2065367E5141',
  }),
  {
    name: 'dfu11-gadget',
    description:
      'USB: generic DFU 1.1 gadget, application 1209:0001 with a run-time DFU interface, DFU mode 1209:0002 (256 KiB flash, manifestation tolerant)',
    transport: 'usb',
    protocol: 'dfu',
    chip: 'generic',
    create(o: BoardOptions): GadgetBoardHandle {
      const usb = o.usbBus ?? new SimUsbBus();
      const gadget = new GenericDfuBoard({
        clock: o.clock,
        bus: usb,
        timing: W25Q32_TIMING,
        serialNumber: `GADGET${String(o.seed ?? 1).padStart(4, '0')}`,
      });
      for (const image of o.images ?? []) {
        gadget.flash.load(image.address, image.data);
        gadget.imageLength = Math.max(gadget.imageLength, image.address + image.data.length);
      }
      if (o.unplugged) usb.detach(gadget.current);
      return {
        name: 'dfu11-gadget',
        label: 'generic DFU 1.1 gadget',
        protocol: 'dfu',
        chip: 'generic',
        flash: gadget.flash,
        usb,
        gadget,
        // Plugged in again, in the mode it was in (a re-enumeration under way just completes).
        enterBootloader: () => {
          if (!gadget.current.attached) usb.attach(gadget.current);
        },
      };
    },
  },
];
