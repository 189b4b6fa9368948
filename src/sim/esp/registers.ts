/**
 * The registers an ESP ROM loader exposes through READ_REG / WRITE_REG that flashing tools
 * read: the chip-detect magic word, the eFuse words holding the factory MAC and the chip
 * revision, the UART clock divider (esptool derives the crystal frequency from it), and the SPI0
 * "user command" registers esptool drives to read the flash JEDEC id (esptool loader.py
 * `run_spiflash_command`, `read_spiflash_id`). Everything else reads as written, or 0.
 *
 * Register addresses come from the chip table in src/protocols/esp/chips.ts.
 */
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  SPIFLASH_RDID,
  SpiUserCommand,
} from '../../protocols/esp/constants.ts';
import type { EspChip } from '../../protocols/esp/chips.ts';

/** UART0 clock divider register (esptool targets `UART_CLKDIV_REG`). */
const UART_CLKDIV_REG: Partial<Record<string, number>> = {
  esp8266: 0x60000014,
  esp32: 0x3ff40014,
  esp32s2: 0x3f400014,
  esp32s3: 0x60000014,
  esp32c3: 0x60000014,
  esp32c6: 0x60000014,
  esp32h2: 0x60000014,
};

/** Crystal frequency in MHz (esptool targets `get_crystal_freq`; ESP8266 modules: 26 MHz). */
const XTAL_MHZ: Partial<Record<string, number>> = { esp8266: 26, esp32h2: 32 };

/**
 * Divider the ROM programs for `baud`: esptool computes the crystal as
 * `baud * (CLKDIV & 0xFFFFF) / 1e6 / XTAL_CLK_DIVIDER` (targets/esp32.py `get_crystal_freq`).
 */
function clockDivider(chipId: string, baud: number): number {
  const xtal = XTAL_MHZ[chipId] ?? 40;
  // ESP8266 ROM runs the UART from 52 MHz (2 × 26 MHz crystal, XTAL_CLK_DIVIDER = 2).
  const divider = chipId === 'esp8266' ? 2 : 1;
  return Math.round((xtal * 1e6 * divider) / baud) & 0xfffff;
}

export interface EspRegisterOptions {
  chip: EspChip;
  /** Factory MAC, 6 bytes. */
  mac: Uint8Array;
  /** JEDEC id of the SPI flash as read by RDID: manufacturer | type << 8 | capacity << 16. */
  flashJedecId: number;
  /** The UART speed now (for the clock divider register). */
  baudRate: () => number;
  /** Chip-specific eFuse words (address → value), e.g. revision bits. */
  extra?: ReadonlyMap<number, number>;
}

/** A sparse 32-bit register file with the behaviour flashing tools rely on. */
export class EspRegisterFile {
  private readonly values = new Map<number, number>();
  private readonly chip: EspChip;
  private readonly jedecId: number;
  private readonly baudRate: () => number;

  constructor(options: EspRegisterOptions) {
    this.chip = options.chip;
    this.jedecId = options.flashJedecId >>> 0;
    this.baudRate = options.baudRate;
    this.values.set(CHIP_DETECT_MAGIC_REG_ADDR, options.chip.magicValues[0]!);
    for (const [addr, value] of macWords(options.chip, options.mac)) this.values.set(addr, value);
    for (const [addr, value] of options.extra ?? []) this.values.set(addr >>> 0, value >>> 0);
  }

  /** READ_REG. */
  read(addr: number): number {
    const a = addr >>> 0;
    const clkdiv = UART_CLKDIV_REG[this.chip.id];
    if (a === clkdiv) return clockDivider(this.chip.id, this.baudRate());
    return (this.values.get(a) ?? 0) >>> 0;
  }

  /** WRITE_REG: `value` under `mask`; a write to SPI_CMD with SPI_CMD_USR runs the user command. */
  write(addr: number, value: number, mask = 0xffffffff): void {
    const a = addr >>> 0;
    const old = this.values.get(a) ?? 0;
    const next = ((old & ~mask) | (value & mask)) >>> 0;
    this.values.set(a, next);
    const spi = this.chip.spi;
    if (a === spi.base + SpiUserCommand.SPI_CMD_OFFS && next & SpiUserCommand.SPI_CMD_USR) {
      this.runSpiUserCommand();
    }
  }

  /**
   * Runs the command byte in SPI_USR2 against the simulated flash, then clears SPI_CMD_USR as
   * the peripheral does when done (esptool polls it).
   */
  private runSpiUserCommand(): void {
    const spi = this.chip.spi;
    const command = (this.values.get(spi.base + spi.usr2Offs) ?? 0) & 0xff;
    const w0 = spi.base + spi.w0Offs;
    if (command === SPIFLASH_RDID) this.values.set(w0, this.jedecId);
    else this.values.set(w0, 0); // status registers read 0: not busy, not write-protected
    this.values.set(spi.base + SpiUserCommand.SPI_CMD_OFFS, 0);
  }
}

/**
 * The upper half of the second MAC eFuse word on chips with an IEEE 802.15.4 radio: MAC_EXT,
 * the two bytes inserted in the middle of the EUI-64. Factory parts read ff:fe there (esptool
 * targets/esp32c6.py `read_mac`: "EUI64 MAC: 60:55:f9:ff:fe:f7:2c:a2", "EXT_MAC: ff:fe"; the
 * ESP32-H2 class inherits it).
 */
const MAC_EXT: Partial<Record<string, number>> = { esp32c6: 0xfffe, esp32h2: 0xfffe };

/** Where each chip's ROM reads the factory MAC from, as register words (see chips.ts MacLayout). */
function macWords(chip: EspChip, mac: Uint8Array): [number, number][] {
  const m = (i: number): number => mac[i] ?? 0;
  const low32 = ((m(2) << 24) | (m(3) << 16) | (m(4) << 8) | m(5)) >>> 0;
  const high16 = (m(0) << 8) | m(1);
  switch (chip.mac.kind) {
    case 'esp32-blk0':
      return [
        [chip.mac.word1, low32],
        [chip.mac.word2, high16],
      ];
    case 'mac-efuse':
      return [
        [chip.mac.reg, low32],
        [chip.mac.reg + 4, (((MAC_EXT[chip.id] ?? 0) << 16) | high16) >>> 0],
      ];
    case 'esp8266-otp':
      // esptool targets/esp8266.py `read_mac`: OUI from MAC3, bytes 3-4 from MAC1, byte 5 from MAC0.
      return [
        [chip.mac.mac0, (m(5) << 24) >>> 0],
        [chip.mac.mac1, (m(3) << 8) | m(4)],
        [chip.mac.mac3, (m(0) << 16) | (m(1) << 8) | m(2)],
      ];
  }
}
