/**
 * The ESP chips webflash supports, as data. Every number comes from esptool's chip classes
 * (espressif/esptool `esptool/targets/{esp8266,esp32,esp32s2,esp32s3,esp32c3,esp32c6,esp32h2}.py`,
 * `esptool/loader.py`) and esptool-js `src/esploader.ts` (`magic2Chip`); USB ids from esp-pylib
 * `constants.py` (`ESPRESSIF_VID`, `USB_JTAG_SERIAL_PID`) and loader.py `uses_usb_otg()` (the
 * ROM's USB-OTG PID equals the chip's IMAGE_CHIP_ID).
 */
import { STATUS_BYTES_ESP32_ROM, STATUS_BYTES_ESP8266_ROM } from './constants.ts';

export type EspChipId =
  'esp8266' | 'esp32' | 'esp32s2' | 'esp32s3' | 'esp32c3' | 'esp32c6' | 'esp32h2';

/** Espressif's USB vendor id (esp-pylib `ESPRESSIF_VID`). */
export const ESPRESSIF_VID = 0x303a;
/** PID of the USB-Serial/JTAG peripheral of the S3/C3/C6/H2 (esp-pylib `USB_JTAG_SERIAL_PID`). */
export const USB_JTAG_SERIAL_PID = 0x1001;

/** Some bits of a 32-bit register: `(readReg(addr) >>> shift) & ((1 << width) - 1)`. */
export interface RegField {
  addr: number;
  shift: number;
  width: number;
}

/**
 * How to read the factory MAC:
 * - `esp8266-otp`: OTP words MAC0, MAC1, MAC3 (targets/esp8266.py `read_mac`).
 * - `esp32-blk0`: efuse words 2 and 1, big-endian, first two bytes (a CRC) dropped
 *   (targets/esp32.py `read_mac`).
 * - `mac-efuse`: words MAC_EFUSE_REG and MAC_EFUSE_REG+4, packed big-endian as (word1, word0),
 *   first two bytes dropped (targets/esp32s2.py etc. `read_mac`).
 */
type MacLayout =
  | { kind: 'esp8266-otp'; mac0: number; mac1: number; mac3: number }
  | { kind: 'esp32-blk0'; word1: number; word2: number }
  | { kind: 'mac-efuse'; reg: number };

/** SPI0 (flash) peripheral registers for running a raw flash command (loader.py `run_spiflash_command`). */
interface SpiRegisters {
  base: number;
  usrOffs: number;
  usr1Offs: number;
  usr2Offs: number;
  /** ESP32 and later only; the ESP8266 packs lengths into USR1. */
  mosiDlenOffs?: number;
  misoDlenOffs?: number;
  w0Offs: number;
}

/**
 * The chip revision as esptool computes it: each list of fields is read and concatenated, first
 * field highest. `majorMap` (ESP32 only) maps the concatenated bits to the major revision.
 */
interface RevisionFields {
  major: readonly RegField[];
  minor: readonly RegField[];
  majorMap?: Readonly<Record<number, number>>;
  /**
   * ESP32-S3 v0.0 parts with eFuse block version 1.1 used the major-version field for something
   * else: when the low 3 bits of the minor version are 0 and both block-version fields read 1,
   * the revision is v0.0 whatever the fields say (targets/esp32s3.py `is_eco0`).
   */
  eco0?: { minorLow: RegField; blockMajor: RegField; blockMinor: RegField };
}

export interface EspChip {
  id: EspChipId;
  /** Name as esptool prints it: "ESP32-S3". */
  name: string;
  /** Values read from CHIP_DETECT_MAGIC_REG (0x40001000) identifying the chip. */
  magicValues: readonly number[];
  /** True when the ROM answers GET_SECURITY_INFO (ESP32-S2 and later). */
  supportsSecurityInfo: boolean;
  /**
   * The chip id in the GET_SECURITY_INFO reply, for ROMs that send one (the ESP32-S2 reply has
   * no chip id). Equals `imageChipId` (esptool matches the two).
   */
  securityInfoChipId?: number;
  /** `chip_id` of esp_image_header_t for this chip; the ESP8266 image format has none. */
  imageChipId?: number;
  /** Status bytes at the end of every ROM response (2 or 4; the stub always sends 2). */
  romStatusBytes: number;
  /** The ROM supports FLASH_DEFL_* (not the ESP8266 ROM). */
  romSupportsCompressed: boolean;
  /** The ROM supports SPI_ATTACH / SPI_SET_PARAMS (not the ESP8266 ROM). */
  romSupportsSpiAttach: boolean;
  /** The ROM supports CHANGE_BAUDRATE (not the ESP8266 ROM). */
  romSupportsChangeBaud: boolean;
  /**
   * The ROM has READ_FLASH_SLOW, 64 bytes per command: every ROM but the ESP8266's (targets/esp32.py
   * `ESP32ROM.read_flash_slow`, which the ESP32-S2, -S3, -C3, -C6 and -H2 ROM classes inherit;
   * the ESP8266 class keeps loader.py's NotImplementedInROMError).
   */
  romSupportsReadFlashSlow: boolean;
  /**
   * FLASH_BEGIN / FLASH_DEFL_BEGIN take a fifth word (encrypted write flag) on this ROM: every
   * ROM except the ESP32 and ESP8266 ones (loader.py `flash_begin`).
   */
  romBeginHasEncryptedWord: boolean;
  /** Where the second-stage bootloader lives in flash. */
  bootloaderOffset: number;
  /** Highest baud rate webflash asks this ROM for. */
  maxRomBaud: number;
  efuseBase: number;
  mac: MacLayout;
  spi: SpiRegisters;
  revision?: RevisionFields;
  /** USB-Serial/JTAG PID when the chip has that peripheral. */
  usbJtagSerialPid?: number;
  /** PID of the ROM's USB-OTG CDC download port when the chip has USB-OTG. */
  usbOtgPid?: number;
}

const ESP32_FAMILY_SPI = {
  usrOffs: 0x18,
  usr1Offs: 0x1c,
  usr2Offs: 0x20,
  mosiDlenOffs: 0x24,
  misoDlenOffs: 0x28,
  w0Offs: 0x58,
} as const;

const field = (addr: number, shift: number, width: number): RegField => ({ addr, shift, width });

/** The supported chips. Add a chip here and in the simulator; nothing else needs to change. */
export const ESP_CHIPS: Readonly<Record<EspChipId, EspChip>> = {
  esp8266: {
    id: 'esp8266',
    name: 'ESP8266',
    magicValues: [0xfff0c101],
    supportsSecurityInfo: false,
    romStatusBytes: STATUS_BYTES_ESP8266_ROM,
    romSupportsCompressed: false,
    romSupportsSpiAttach: false,
    romSupportsChangeBaud: false,
    romSupportsReadFlashSlow: false,
    romBeginHasEncryptedWord: false,
    bootloaderOffset: 0x0,
    maxRomBaud: 115200,
    efuseBase: 0x3ff00050,
    mac: { kind: 'esp8266-otp', mac0: 0x3ff00050, mac1: 0x3ff00054, mac3: 0x3ff0005c },
    spi: { base: 0x60000200, usrOffs: 0x1c, usr1Offs: 0x20, usr2Offs: 0x24, w0Offs: 0x40 },
  },
  esp32: {
    id: 'esp32',
    name: 'ESP32',
    magicValues: [0x00f01d83],
    supportsSecurityInfo: false,
    imageChipId: 0,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: false,
    bootloaderOffset: 0x1000,
    maxRomBaud: 921600,
    efuseBase: 0x3ff5a000,
    mac: { kind: 'esp32-blk0', word1: 0x3ff5a004, word2: 0x3ff5a008 },
    spi: {
      base: 0x3ff42000,
      usrOffs: 0x1c,
      usr1Offs: 0x20,
      usr2Offs: 0x24,
      mosiDlenOffs: 0x28,
      misoDlenOffs: 0x2c,
      w0Offs: 0x80,
    },
    revision: {
      // rev_bit2 = APB_CTL_DATE[31], rev_bit1 = efuse word 5 bit 20, rev_bit0 = efuse word 3 bit 15
      major: [field(0x3ff6607c, 31, 1), field(0x3ff5a014, 20, 1), field(0x3ff5a00c, 15, 1)],
      minor: [field(0x3ff5a014, 24, 2)],
      majorMap: { 0: 0, 1: 1, 3: 2, 7: 3 },
    },
  },
  esp32s2: {
    id: 'esp32s2',
    name: 'ESP32-S2',
    magicValues: [0x000007c6],
    supportsSecurityInfo: true,
    imageChipId: 2,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: true,
    bootloaderOffset: 0x1000,
    maxRomBaud: 921600,
    efuseBase: 0x3f41a000,
    mac: { kind: 'mac-efuse', reg: 0x3f41a044 },
    spi: { base: 0x3f402000, ...ESP32_FAMILY_SPI },
    revision: {
      // EFUSE_BLOCK1_ADDR = 0x3f41a044
      major: [field(0x3f41a044 + 12, 18, 2)],
      minor: [field(0x3f41a044 + 12, 20, 1), field(0x3f41a044 + 16, 4, 3)],
    },
    usbOtgPid: 0x0002,
  },
  esp32s3: {
    id: 'esp32s3',
    name: 'ESP32-S3',
    magicValues: [0x9],
    supportsSecurityInfo: true,
    securityInfoChipId: 9,
    imageChipId: 9,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: true,
    bootloaderOffset: 0x0,
    maxRomBaud: 921600,
    efuseBase: 0x60007000,
    mac: { kind: 'mac-efuse', reg: 0x60007044 },
    spi: { base: 0x60002000, ...ESP32_FAMILY_SPI },
    revision: {
      // EFUSE_BLOCK1_ADDR = 0x60007044, EFUSE_BLOCK2_ADDR = 0x6000705c
      major: [field(0x60007044 + 20, 24, 2)],
      minor: [field(0x60007044 + 20, 23, 1), field(0x60007044 + 12, 18, 3)],
      eco0: {
        minorLow: field(0x60007044 + 12, 18, 3),
        blockMajor: field(0x6000705c + 16, 0, 2),
        blockMinor: field(0x60007044 + 12, 24, 3),
      },
    },
    usbJtagSerialPid: USB_JTAG_SERIAL_PID,
    usbOtgPid: 0x0009,
  },
  esp32c3: {
    id: 'esp32c3',
    name: 'ESP32-C3',
    magicValues: [0x6921506f, 0x1b31506f, 0x4881606f, 0x4361606f],
    supportsSecurityInfo: true,
    securityInfoChipId: 5,
    imageChipId: 5,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: true,
    bootloaderOffset: 0x0,
    maxRomBaud: 921600,
    efuseBase: 0x60008800,
    mac: { kind: 'mac-efuse', reg: 0x60008844 },
    spi: { base: 0x60002000, ...ESP32_FAMILY_SPI },
    revision: {
      // EFUSE_BLOCK1_ADDR = 0x60008844
      major: [field(0x60008844 + 20, 24, 2)],
      minor: [field(0x60008844 + 20, 23, 1), field(0x60008844 + 12, 18, 3)],
    },
    usbJtagSerialPid: USB_JTAG_SERIAL_PID,
  },
  esp32c6: {
    id: 'esp32c6',
    name: 'ESP32-C6',
    magicValues: [0x2ce0806f],
    supportsSecurityInfo: true,
    securityInfoChipId: 13,
    imageChipId: 13,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: true,
    bootloaderOffset: 0x0,
    maxRomBaud: 921600,
    efuseBase: 0x600b0800,
    mac: { kind: 'mac-efuse', reg: 0x600b0844 },
    spi: { base: 0x60003000, ...ESP32_FAMILY_SPI },
    revision: {
      // EFUSE_BLOCK1_ADDR = 0x600b0844
      major: [field(0x600b0844 + 12, 22, 2)],
      minor: [field(0x600b0844 + 12, 18, 4)],
    },
    usbJtagSerialPid: USB_JTAG_SERIAL_PID,
  },
  esp32h2: {
    id: 'esp32h2',
    name: 'ESP32-H2',
    magicValues: [0xd7b73e80, 0x97e30068],
    supportsSecurityInfo: true,
    securityInfoChipId: 16,
    imageChipId: 16,
    romStatusBytes: STATUS_BYTES_ESP32_ROM,
    romSupportsCompressed: true,
    romSupportsSpiAttach: true,
    romSupportsChangeBaud: true,
    romSupportsReadFlashSlow: true,
    romBeginHasEncryptedWord: true,
    bootloaderOffset: 0x0,
    maxRomBaud: 921600,
    efuseBase: 0x600b0800,
    mac: { kind: 'mac-efuse', reg: 0x600b0844 },
    spi: { base: 0x60003000, ...ESP32_FAMILY_SPI },
    revision: {
      // EFUSE_BLOCK1_ADDR = 0x600b0844
      major: [field(0x600b0844 + 12, 21, 2)],
      minor: [field(0x600b0844 + 12, 18, 3)],
    },
    usbJtagSerialPid: USB_JTAG_SERIAL_PID,
  },
};

/** Every supported chip, in the order above. */
export const ESP_CHIP_LIST: readonly EspChip[] = Object.values(ESP_CHIPS);

/** The chip whose CHIP_DETECT_MAGIC_REG value is `value`, if any. */
export function chipByMagic(value: number): EspChip | undefined {
  const v = value >>> 0;
  return ESP_CHIP_LIST.find((c) => c.magicValues.includes(v));
}

/** The chip whose GET_SECURITY_INFO chip id is `id`, if any. */
export function chipBySecurityInfoId(id: number): EspChip | undefined {
  return ESP_CHIP_LIST.find((c) => c.securityInfoChipId === id);
}

/** The chip whose application image header `chip_id` is `id`, if any. */
export function chipByImageChipId(id: number): EspChip | undefined {
  return ESP_CHIP_LIST.find((c) => c.imageChipId === id);
}

/** The chip with machine id `id` ("esp32s3"), if supported. */
export function chipById(id: string): EspChip | undefined {
  return Object.hasOwn(ESP_CHIPS, id) ? ESP_CHIPS[id as EspChipId] : undefined;
}

/** Chips that may sit behind a USB port with this Espressif PID (native USB). */
export function chipsByUsbPid(pid: number): EspChip[] {
  return ESP_CHIP_LIST.filter((c) => c.usbJtagSerialPid === pid || c.usbOtgPid === pid);
}

/** Reads the value of `fields` given register values: fields concatenated, first highest. */
export function composeFields(fields: readonly RegField[], read: (addr: number) => number): number {
  let value = 0;
  for (const f of fields) {
    const mask = f.width >= 32 ? 0xffffffff : (1 << f.width) - 1;
    value = value * 2 ** f.width + ((read(f.addr) >>> f.shift) & mask);
  }
  return value;
}

/**
 * Whether a port with these USB ids is the chip's own USB (USB-Serial/JTAG or USB-OTG), not a
 * USB-UART bridge; any Espressif id while the chip is not known yet.
 */
export function isNativeUsb(
  info: { usbVendorId?: number | undefined; usbProductId?: number | undefined },
  chip?: EspChip,
): boolean {
  if (info.usbVendorId !== ESPRESSIF_VID) return false;
  if (!chip) return true;
  return info.usbProductId === chip.usbJtagSerialPid || info.usbProductId === chip.usbOtgPid;
}
