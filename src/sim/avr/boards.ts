/**
 * Simulated Arduino boards for the registry (../boards.ts). USB identities: Arduino Uno R3's
 * ATmega16U2 2341:0043, the FTDI FT232RL of older Nanos 0403:6001, Arduino Mega 2560 R3's
 * ATmega16U2 2341:0042, the Leonardo's own USB 2341:8036 (sketch) / 2341:0036 (Caterina).
 * Fuses are those of Arduino's boards.txt for each board.
 */
import { avrChipById, type AvrChip } from '../../protocols/avr/chips.ts';
import type { BoardOptions, BoardPreset, SimBoard } from '../board.ts';
import { LINK_FTDI, LINK_USB_CDC, SerialWire, type LinkModel } from '../serial-wire.ts';
import { AvrSimBoard, type AvrBoardOptions, type AvrFuses } from './board.ts';
import { caterina, LeonardoBoard } from './caterina.ts';
import { atmegaBoot, optiboot } from './stk500v1-boot.ts';
import { stk500boot } from './stk500v2-boot.ts';

/**
 * The ATmega16U2 running Arduino-usbserial: a USB-UART bridge whose firmware flushes received
 * bytes to USB when its timer 0 (clk/256) overflows, about every 4.1 ms (Arduino-usbserial.c).
 */
const LINK_ATMEGA16U2: LinkModel = {
  name: 'ATmega16U2',
  kind: 'uart',
  latencyMs: 4,
  chunkSize: 64,
};

/** An AVR board, with its chip model exposed for tests. */
export interface AvrSimBoardHandle extends SimBoard {
  device: AvrSimBoard;
  /** The line speed its bootloader runs at. */
  baudRate: number;
}

interface AvrPresetSpec {
  name: string;
  label: string;
  chip: string;
  protocol: 'avr-stk500v1' | 'avr-stk500v2' | 'avr109';
  bootloaderName: string;
  baudRate: number;
  usb: { vid: number; pid: number; bridge: string };
  link: LinkModel;
  board: Omit<AvrBoardOptions, 'chip' | 'resetOnTraffic'>;
  /** The board class (default AvrSimBoard). */
  device?: new (options: AvrBoardOptions) => AvrSimBoard;
}

/** A stand-in for the bootloader's code in the boot section: its name, then 0x00 filler. */
function bootImage(name: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(new TextEncoder().encode(name).subarray(0, size));
  return out;
}

function avrPreset(spec: AvrPresetSpec): BoardPreset {
  const chip = avrChipById(spec.chip) as AvrChip;
  const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
  return {
    name: spec.name,
    description: `${spec.label}: ${chip.name}, ${spec.bootloaderName} at ${spec.baudRate} baud, ${spec.usb.bridge} ${hex4(spec.usb.vid)}:${hex4(spec.usb.pid)}`,
    protocol: spec.protocol,
    chip: chip.chip,
    create(o: BoardOptions): AvrSimBoardHandle {
      const Device = spec.device ?? AvrSimBoard;
      const device = new Device({
        chip,
        baudRate: spec.baudRate,
        ...spec.board,
        bootImage:
          spec.board.bootImage ?? bootImage(spec.bootloaderName, spec.board.bootSectionSize),
        ...(o.startInBootloader ? { resetOnTraffic: true } : {}),
      });
      for (const image of o.images ?? []) device.flash.load(image.address, image.data);
      const wire = new SerialWire({
        clock: o.clock,
        device,
        link: o.link ?? spec.link,
        usbVendorId: spec.usb.vid,
        usbProductId: spec.usb.pid,
        label: `Simulated ${spec.label}`,
        seed: o.seed ?? 1,
        ...(o.unplugged ? { unplugged: true } : {}),
      });
      return {
        name: spec.name,
        label: spec.label,
        protocol: spec.protocol,
        chip: chip.chip,
        flash: device.flash,
        wire,
        enterBootloader: () => device.enterBootloader(),
        device,
        baudRate: spec.baudRate,
      };
    },
  };
}

const UNO_FUSES: AvrFuses = { low: 0xff, high: 0xde, extended: 0xfd, lock: 0xcf };
const MEGA_FUSES: AvrFuses = { low: 0xff, high: 0xd8, extended: 0xfd, lock: 0xcf };
const LEONARDO_FUSES: AvrFuses = { low: 0xff, high: 0xd8, extended: 0xcb, lock: 0xef };
const DIECIMILA_FUSES: AvrFuses = { low: 0xff, high: 0xdd, extended: 0xf8, lock: 0xcf };
const NANO_OLD_FUSES: AvrFuses = { low: 0xff, high: 0xda, extended: 0xfd, lock: 0xcf };

/** The AVR presets. */
export const AVR_BOARD_PRESETS: readonly BoardPreset[] = [
  avrPreset({
    name: 'uno',
    label: 'Arduino Uno R3',
    chip: 'atmega328p',
    protocol: 'avr-stk500v1',
    bootloaderName: 'optiboot 4.4',
    baudRate: 115_200,
    usb: { vid: 0x2341, pid: 0x0043, bridge: 'ATmega16U2' },
    link: LINK_ATMEGA16U2,
    board: {
      bootloader: optiboot({ major: 4, minor: 4 }),
      bootSectionSize: 512,
      fuses: UNO_FUSES,
      timeoutMs: 1000, // optiboot.c: watchdogConfig(WATCHDOG_1S)
    },
  }),
  avrPreset({
    name: 'nano-old',
    label: 'Arduino Nano (ATmega328P, old bootloader)',
    chip: 'atmega328p',
    protocol: 'avr-stk500v1',
    bootloaderName: 'ATmegaBOOT 1.16',
    baudRate: 57_600,
    usb: { vid: 0x0403, pid: 0x6001, bridge: 'FT232RL' },
    link: LINK_FTDI,
    board: {
      bootloader: atmegaBoot,
      bootSectionSize: 2048,
      fuses: NANO_OLD_FUSES,
      timeoutMs: 1000, // ATmegaBOOT_168.c getch: MAX_TIME_COUNT (F_CPU >> 4) loop iterations
    },
  }),
  avrPreset({
    name: 'mega2560',
    label: 'Arduino Mega 2560 R3',
    chip: 'atmega2560',
    protocol: 'avr-stk500v2',
    bootloaderName: 'stk500boot v2 (AVRISP_2)',
    baudRate: 115_200,
    usb: { vid: 0x2341, pid: 0x0042, bridge: 'ATmega16U2' },
    link: LINK_ATMEGA16U2,
    board: {
      // stk500boot.c: boot_timeout 3 500 000 polling steps ("7 seconds") before the first byte,
      // then recchar_timeout's MAX_TIME_COUNT (F_CPU >> 1 loops, about 3 s) between bytes.
      bootloader: stk500boot(3000),
      bootSectionSize: 8192,
      fuses: MEGA_FUSES,
      timeoutMs: 7000,
      timeoutNeedsApplication: true,
    },
  }),
  avrPreset({
    name: 'leonardo',
    label: 'Arduino Leonardo',
    chip: 'atmega32u4',
    protocol: 'avr109',
    bootloaderName: 'Caterina 1.0',
    baudRate: 57_600,
    usb: { vid: 0x2341, pid: 0x8036, bridge: 'native USB' },
    link: LINK_USB_CDC,
    device: LeonardoBoard,
    board: {
      bootloader: caterina,
      bootSectionSize: 4096,
      fuses: LEONARDO_FUSES,
      timeoutMs: 8000, // Caterina.c TIMEOUT_PERIOD
    },
  }),
  avrPreset({
    name: 'diecimila',
    label: 'Arduino Diecimila (ATmega168)',
    chip: 'atmega168',
    protocol: 'avr-stk500v1',
    bootloaderName: 'ATmegaBOOT 1.16',
    baudRate: 19_200, // Arduino boards.txt: diecimila.menu.cpu.atmega168.upload.speed
    usb: { vid: 0x0403, pid: 0x6001, bridge: 'FT232RL' },
    link: LINK_FTDI,
    board: {
      bootloader: atmegaBoot,
      bootSectionSize: 2048,
      fuses: DIECIMILA_FUSES,
      timeoutMs: 1000,
    },
  }),
];
