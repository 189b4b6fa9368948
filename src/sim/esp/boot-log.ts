/**
 * What the ESP ROM prints on UART0 when it starts, and what a simulated application prints
 * after it. The ROM banner tells tools which boot mode the strapping pins selected (esptool
 * looks for `boot:0x.. ... waiting for download`); the texts follow the ROM boot messages
 * documented in esptool "Boot Mode Selection" ("Boot Log" sections) per chip.
 */
import type { EspChipId } from '../../protocols/esp/chips.ts';

/** Why the chip (re)started, as the ROM prints it. */
export type ResetCause = 'power-on' | 'software' | 'usb' | 'watchdog';

interface RomText {
  /** First lines of every boot. */
  header: string;
  /** `rst:` text per cause. */
  reset: Record<ResetCause, string>;
  /** `boot:` text in download mode and in flash boot. */
  downloadBoot: string;
  flashBoot: string;
}

const CLASSIC_RESETS: Record<ResetCause, string> = {
  'power-on': 'rst:0x1 (POWERON_RESET)',
  software: 'rst:0xc (SW_CPU_RESET)',
  usb: 'rst:0x1 (POWERON_RESET)',
  watchdog: 'rst:0x10 (RTCWDT_RTC_RESET)',
};

const NEW_RESETS: Record<ResetCause, string> = {
  'power-on': 'rst:0x1 (POWERON)',
  software: 'rst:0xc (RTC_SW_CPU_RST)',
  usb: 'rst:0x15 (USB_UART_HPSYS)',
  watchdog: 'rst:0x10 (RTCWDT_RTC_RST)',
};

const ROM_TEXT: Record<Exclude<EspChipId, 'esp8266'>, RomText> = {
  esp32: {
    header: 'ets Jun  8 2016 00:22:57\r\n\r\n',
    reset: CLASSIC_RESETS,
    downloadBoot: 'boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))',
    flashBoot: 'boot:0x13 (SPI_FAST_FLASH_BOOT)',
  },
  esp32s2: {
    header: 'ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\n',
    reset: NEW_RESETS,
    downloadBoot: 'boot:0x0 (DOWNLOAD(USB/UART0/1))',
    flashBoot: 'boot:0x8 (SPI_FAST_FLASH_BOOT)',
  },
  esp32s3: {
    header: 'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n',
    reset: NEW_RESETS,
    downloadBoot: 'boot:0x0 (DOWNLOAD(USB/UART0))',
    flashBoot: 'boot:0x8 (SPI_FAST_FLASH_BOOT)',
  },
  esp32c3: {
    header: 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n',
    reset: NEW_RESETS,
    downloadBoot: 'boot:0x5 (DOWNLOAD(USB/UART0/1))',
    flashBoot: 'boot:0xc (SPI_FAST_FLASH_BOOT)',
  },
  esp32c6: {
    header: 'ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\n',
    reset: NEW_RESETS,
    downloadBoot: 'boot:0x4 (DOWNLOAD(USB/UART/SDIO_REI_FEO))',
    flashBoot: 'boot:0xc (SPI_FAST_FLASH_BOOT)',
  },
  esp32h2: {
    header: 'ESP-ROM:esp32h2-20221101\r\nBuild:Nov  1 2022\r\n',
    reset: NEW_RESETS,
    downloadBoot: 'boot:0x4 (DOWNLOAD(USB/UART0))',
    flashBoot: 'boot:0xc (SPI_FAST_FLASH_BOOT)',
  },
};

/**
 * The ROM banner. ESP8266: printed at 74880 baud (26 MHz crystal), "boot mode:(1,7)" for UART
 * download and "(3,7)" for flash boot.
 */
export function romBanner(
  chip: EspChipId,
  options: { download: boolean; cause: ResetCause },
): string {
  if (chip === 'esp8266') {
    const cause = options.cause === 'power-on' ? 1 : options.cause === 'watchdog' ? 4 : 2;
    const mode = options.download ? '(1,7)' : '(3,7)';
    return `\r\n ets Jan  8 2013,rst cause:${cause}, boot mode:${mode}\r\n\r\n`;
  }
  const t = ROM_TEXT[chip];
  const boot = options.download ? t.downloadBoot : t.flashBoot;
  return (
    `${t.header}${t.reset[options.cause]},${boot}\r\n` +
    (options.download ? 'waiting for download\r\n' : '')
  );
}

/** Application facts read from `esp_app_desc_t` (ESP-IDF `esp_app_format.h`), when present. */
export interface AppDescription {
  project: string;
  version: string;
  secureVersion: number;
}

const APP_DESC_MAGIC = 0xabcd5432;

/**
 * Reads `esp_app_desc_t` from an application image: it follows the 24-byte image header and the
 * first 8-byte segment header (ESP-IDF "App Image Format"): magic u32, secure_version u32, 2
 * reserved words, version[32], project_name[32]…
 */
export function readAppDescription(image: Uint8Array): AppDescription | undefined {
  if (image.length < 32 + 80 || image[0] !== 0xe9) return undefined;
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint32(32, true) !== APP_DESC_MAGIC) return undefined;
  const text = (off: number): string => {
    const bytes = image.subarray(off, off + 32);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  return { secureVersion: dv.getUint32(36, true), version: text(48), project: text(80) };
}

/**
 * What a booted board prints after the ROM banner: the image header check of the second-stage
 * bootloader and the application's start-up lines, or the ROM's complaint about an erased flash.
 */
export function appBootLog(options: {
  bootloader: Uint8Array;
  app: AppDescription | undefined;
  appPresent: boolean;
}): string {
  const head = options.bootloader;
  if (head[0] !== 0xe9) {
    const word = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0'))
      .reverse()
      .join('');
    return `invalid header: 0x${word}\r\n`;
  }
  let out =
    'I (29) boot: ESP-IDF 2nd stage bootloader\r\nI (31) boot: Loaded app from partition at offset 0x10000\r\n';
  if (!options.appPresent)
    return out + 'E (41) boot: No bootable app partitions in the partition table\r\n';
  if (options.app) {
    out += `I (250) app_init: Project name:     ${options.app.project}\r\n`;
    out += `I (251) app_init: App version:      ${options.app.version}\r\n`;
    out += `I (252) app_init: Secure version:   ${options.app.secureVersion}\r\n`;
  }
  return out + 'I (300) main_task: Calling app_main()\r\n';
}
