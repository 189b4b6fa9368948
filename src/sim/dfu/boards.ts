/**
 * Simulated USB DFU boards for the registry (../boards.ts): the STM32F405 system bootloader in
 * DfuSe mode and a generic DFU 1.1 gadget, each on a simulated USB bus (`SimBoard.usb`).
 * `npm run sim -- --board NAME --usb-listen HOST:PORT` serves that bus to libusb programs.
 */
import type { BoardOptions, BoardPreset, SimBoard } from '../board.ts';
import { W25Q32_TIMING } from '../flash-model.ts';
import { usbId } from '../../transport/usb.ts';
import { DfuseSimDevice, STM32_DFU_PRODUCT_ID, STM32_DFU_VENDOR_ID } from './dfuse-sim.ts';
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

export const DFU_BOARD_PRESETS: readonly BoardPreset[] = [
  {
    name: 'stm32f405-dfuse',
    description: `USB: STM32F405 system bootloader in DFU mode (DfuSe ${usbId(STM32_DFU_VENDOR_ID, STM32_DFU_PRODUCT_ID)}, 1 MiB flash, 4 alternate settings)`,
    transport: 'usb',
    protocol: 'dfuse',
    chip: 'stm32f405',
    create(o: BoardOptions): DfuseBoardHandle {
      const usb = o.usbBus ?? new SimUsbBus();
      const device = new DfuseSimDevice({
        clock: o.clock,
        bus: usb,
        serialNumber: (o.seed ?? 1) === 1 ? '336F38673231' : stm32Serial(o.seed ?? 1),
      });
      for (const image of o.images ?? []) device.flash.load(image.address, image.data);
      if (!o.unplugged) usb.attach(device);
      return {
        name: 'stm32f405-dfuse',
        label: 'STM32F405 in DFU mode (DfuSe)',
        protocol: 'dfuse',
        chip: 'stm32f405',
        flash: device.flash,
        usb,
        device,
        // BOOT0 held high: a power cycle brings the bootloader back.
        enterBootloader: () => {
          if (!device.attached) device.powerOnInBootloader();
        },
      };
    },
  },
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
