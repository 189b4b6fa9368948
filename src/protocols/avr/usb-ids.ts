/**
 * USB serial ports of the Arduino AVR boards, as data for whatever matches a port to a protocol
 * (Arduino boards.txt `vid.N`/`pid.N`; the Leonardo family's bootloader ids from the same file's
 * `build.vid`/`bootloader` entries). Generic bridges (FTDI 0403:6001, CH340 1a86:7523) sit on
 * Nano clones and much else, so they tell nothing alone and are not listed.
 */
import type { ProtocolId } from '../driver.ts';

export interface AvrUsbIdentity {
  board: string;
  vendorId: number;
  productId: number;
  protocol: Extract<ProtocolId, 'avr-stk500v1' | 'avr-stk500v2' | 'avr109'>;
  chip: string;
  /** Line speed of the bootloader (AVR109 over native USB ignores it). */
  baudRate: number;
  /** The port is the board's bootloader itself (Caterina), not its sketch. */
  bootloader?: boolean;
}

/**
 * The line speeds STK500v1 bootloaders are built with (Arduino boards.txt `upload.speed`:
 * optiboot 115200, ATmegaBOOT on the ATmega328P 57600, on the ATmega168 19200), most common
 * first: the order a port whose ids tell nothing is tried in.
 */
export const STK500V1_BAUD_RATES: readonly number[] = [115_200, 57_600, 19_200];

export const AVR_USB_IDENTITIES: readonly AvrUsbIdentity[] = [
  {
    board: 'Arduino Uno',
    vendorId: 0x2341,
    productId: 0x0001,
    protocol: 'avr-stk500v1',
    chip: 'atmega328p',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Uno R3',
    vendorId: 0x2341,
    productId: 0x0043,
    protocol: 'avr-stk500v1',
    chip: 'atmega328p',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Uno R3',
    vendorId: 0x2a03,
    productId: 0x0043,
    protocol: 'avr-stk500v1',
    chip: 'atmega328p',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Mega 2560',
    vendorId: 0x2341,
    productId: 0x0010,
    protocol: 'avr-stk500v2',
    chip: 'atmega2560',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Mega 2560 R3',
    vendorId: 0x2341,
    productId: 0x0042,
    protocol: 'avr-stk500v2',
    chip: 'atmega2560',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Mega 2560 R3',
    vendorId: 0x2a03,
    productId: 0x0042,
    protocol: 'avr-stk500v2',
    chip: 'atmega2560',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Mega ADK',
    vendorId: 0x2341,
    productId: 0x0044,
    protocol: 'avr-stk500v2',
    chip: 'atmega2560',
    baudRate: 115_200,
  },
  {
    board: 'Arduino Leonardo',
    vendorId: 0x2341,
    productId: 0x8036,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
  },
  {
    board: 'Arduino Leonardo',
    vendorId: 0x2341,
    productId: 0x0036,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
    bootloader: true,
  },
  {
    board: 'Arduino Micro',
    vendorId: 0x2341,
    productId: 0x8037,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
  },
  {
    board: 'Arduino Micro',
    vendorId: 0x2341,
    productId: 0x0037,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
    bootloader: true,
  },
  {
    board: 'Arduino Esplora',
    vendorId: 0x2341,
    productId: 0x803c,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
  },
  {
    board: 'Arduino Esplora',
    vendorId: 0x2341,
    productId: 0x003c,
    protocol: 'avr109',
    chip: 'atmega32u4',
    baudRate: 57_600,
    bootloader: true,
  },
];

/** The AVR board a USB serial port belongs to, when its ids say so. */
export function avrBoardForUsb(
  vendorId: number | undefined,
  productId: number | undefined,
): AvrUsbIdentity | undefined {
  return AVR_USB_IDENTITIES.find((b) => b.vendorId === vendorId && b.productId === productId);
}
