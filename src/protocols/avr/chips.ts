/**
 * The AVR chips the Arduino serial bootloaders run on, as data: signature bytes (datasheet
 * "Signature Bytes", e.g. ATmega328P §27.3.1 / ATmega2560 §30.7.10), flash and page size,
 * EEPROM size, and the boot section the Arduino board's fuses reserve for its bootloader.
 */

/** One AVR part. Sizes in bytes. */
export interface AvrChip {
  /** Machine id, as in bundle targets: "atmega328p". */
  readonly chip: string;
  /** Datasheet name. */
  readonly name: string;
  /** The three signature bytes (0x1E = Atmel, size code, part). */
  readonly signature: readonly [number, number, number];
  readonly flashSize: number;
  /** SPM page (the unit a bootloader erases and writes). */
  readonly pageSize: number;
  readonly eepromSize: number;
  /**
   * Default boot section the Arduino boards reserve (BOOTSZ fuses): 512 B for optiboot on the
   * Uno, 2 KiB for ATmegaBOOT, 4 KiB for Caterina, 8 KiB for the Mega's STK500v2 bootloader.
   * A driver may be told another size for boards with other fuses.
   */
  readonly bootSectionSize: number;
  /**
   * Size of the No-Read-While-Write section at the top of flash (datasheet "Read-While-Write
   * and No Read-While-Write Flash Sections"): erasing a page there halts the CPU.
   */
  readonly nrwwSize: number;
  /** Avrdude part id (`-p`). */
  readonly avrdudePart: string;
}

const AVR_CHIPS: readonly AvrChip[] = [
  {
    chip: 'atmega328p',
    nrwwSize: 4096,
    name: 'ATmega328P',
    signature: [0x1e, 0x95, 0x0f],
    flashSize: 32 * 1024,
    pageSize: 128,
    eepromSize: 1024,
    bootSectionSize: 512,
    avrdudePart: 'm328p',
  },
  {
    chip: 'atmega168',
    nrwwSize: 2048,
    name: 'ATmega168',
    signature: [0x1e, 0x94, 0x06],
    flashSize: 16 * 1024,
    pageSize: 128,
    eepromSize: 512,
    bootSectionSize: 2048,
    avrdudePart: 'm168',
  },
  {
    chip: 'atmega32u4',
    nrwwSize: 4096,
    name: 'ATmega32U4',
    signature: [0x1e, 0x95, 0x87],
    flashSize: 32 * 1024,
    pageSize: 128,
    eepromSize: 1024,
    bootSectionSize: 4096,
    avrdudePart: 'm32u4',
  },
  {
    chip: 'atmega1280',
    nrwwSize: 8192,
    name: 'ATmega1280',
    signature: [0x1e, 0x97, 0x03],
    flashSize: 128 * 1024,
    pageSize: 256,
    eepromSize: 4096,
    bootSectionSize: 4096,
    avrdudePart: 'm1280',
  },
  {
    chip: 'atmega2560',
    nrwwSize: 8192,
    name: 'ATmega2560',
    signature: [0x1e, 0x98, 0x01],
    flashSize: 256 * 1024,
    pageSize: 256,
    eepromSize: 4096,
    bootSectionSize: 8192,
    avrdudePart: 'm2560',
  },
];

/** The chip with these signature bytes, if it is in the table. */
export function chipBySignature(signature: Uint8Array): AvrChip | undefined {
  return AVR_CHIPS.find(
    (c) =>
      c.signature[0] === signature[0] &&
      c.signature[1] === signature[1] &&
      c.signature[2] === signature[2],
  );
}

/** The chip with this machine id ("atmega2560"), if any. */
export function avrChipById(id: string): AvrChip | undefined {
  return AVR_CHIPS.find((c) => c.chip === id);
}

/** First byte of the boot section: everything below it is application flash. */
export function applicationEnd(chip: AvrChip, bootSectionSize = chip.bootSectionSize): number {
  return chip.flashSize - bootSectionSize;
}

/** "1e 95 0f". */
export function formatSignature(signature: ArrayLike<number>): string {
  return Array.from(signature, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
