/**
 * How fast an ESP chip answers SPI_FLASH_MD5, in bytes of flash hashed per millisecond: the
 * delta cost model (delta.ts) plans with it and the simulated chip (src/sim/esp/loader.ts)
 * takes that long. Sources and arithmetic: docs/protocols/esp.md, "How the chip hashes".
 *
 * Both flasher stubs hash synchronously, 4 KiB at a time: a flash read through the ROM's
 * `esp_rom_spiflash_read`, then the ROM's MD5 update. Reading dominates, so the rate follows
 * the SPI clock (APB ÷ 4) and how many bytes the ROM moves per SPI transaction
 * (`ESP_ROM_SPIFLASH_BUFF_BYTE_READ_NUM`: 64 on the ESP32, 16 on the ESP32-S2 and later).
 */
import type { EspChipId } from './chips.ts';

export const MD5_BYTES_PER_MS = {
  /**
   * The ROM loader: esp-serial-flasher raised its MD5 timeout from 0.8 to 8 s per MB after
   * timeouts on a 4 MB flash, "a safety margin of 2" included (commit 058156c).
   */
  rom: 250,
  /**
   * A stub at the ROM's clocks reading 64 bytes per transaction: an esptool `--trace` of the
   * stub hashing 261 840 bytes in 0.309 s (an ESP8266); the ESP32's figures (CPU and APB
   * 40 MHz, SPI 10 MHz: 54.4 µs per 64-byte read, MD5 about 10 cycles a byte) give 850–900.
   */
  stub: 850,
  /**
   * A stub at the ROM's clocks reading 16 bytes per transaction (ESP32-S3 on any port, ESP32-C3
   * and the RISC-V chips on a UART): 16 µs per read at 10 MHz plus its set-up, with MD5 at
   * 40 MHz. Derived, not measured.
   */
  stubShortReads: 650,
  /**
   * A stub that raised its clocks (ESP32: CPU 160 MHz, APB 80 MHz, so the SPI clock doubles):
   * at least twice `stub`; the same arithmetic gives about 2000. Derived, not measured.
   */
  stubFastClock: 1700,
} as const;

/** Which of the rates above applies. */
export type Md5Rate = keyof typeof MD5_BYTES_PER_MS;

/**
 * Chips whose stub raises its clocks on a UART as well (esp-flasher-stub `esp_main` since
 * v1.1.0); the others raise them only on a USB port.
 */
const RAISED_ON_ANY_PORT: ReadonlySet<EspChipId> = new Set(['esp32', 'esp32s2']);

/**
 * Chips whose stub never raises its clocks: esp-stub-lib keeps the ESP32-S3 at 40 MHz until it
 * can raise the core voltage first (`esp32s3/src/clock.c`, esptool #808 and #832); the ESP8266
 * has no clock code and no USB.
 */
const NEVER_RAISED: ReadonlySet<EspChipId> = new Set(['esp32s3', 'esp8266']);

/** ROMs that read flash 64 bytes per SPI transaction (the ESP8266's rate is the measured one). */
const LONG_ROM_READS: ReadonlySet<EspChipId> = new Set(['esp32', 'esp8266']);

/**
 * The rate that applies to `chip` (unknown: the ESP32's) with the ROM loader or the stub, on
 * the chip's own USB-Serial/JTAG or USB-OTG port or on a UART.
 */
export function md5Rate(o: {
  chip: EspChipId | undefined;
  stub: boolean;
  nativeUsb: boolean;
}): Md5Rate {
  if (!o.stub) return 'rom';
  const chip = o.chip ?? 'esp32';
  if (!NEVER_RAISED.has(chip) && (o.nativeUsb || RAISED_ON_ANY_PORT.has(chip)))
    return 'stubFastClock';
  return LONG_ROM_READS.has(chip) ? 'stub' : 'stubShortReads';
}
