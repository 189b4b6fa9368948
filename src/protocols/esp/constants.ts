/**
 * Constants of the Espressif serial bootloader protocol, as data.
 *
 * Sources: esptool documentation "Serial Protocol" (docs/en/advanced-topics/serial-protocol.rst:
 * "Command Packet", "Response Packet", "Status bytes", "ROM Loader Errors", "Checksum",
 * "Commands") and esptool `esptool/loader.py` (`ESPLoader.ESP_CMDS`, block sizes, timeouts).
 * Used by the client (loader.ts) and by the simulated boards in src/sim.
 */

/** Command opcodes (esptool loader.py `ESP_CMDS`; serial protocol "Commands"). */
export const EspCommand = {
  // Supported by the ESP8266 ROM and every later ROM.
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  // ESP32 and later ROMs (ESP8266 only with the stub).
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  /** ROM only: reads 64 bytes per command (ESP32 and later ROMs; esptool `read_flash_slow`). */
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  // ESP32-S2 and later ROMs only.
  GET_SECURITY_INFO: 0x14,
  // Stub loader only.
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;

/** Name of an opcode for messages and logs ("SYNC", or "0x42" when unknown). */
export function commandName(op: number): string {
  for (const [name, value] of Object.entries(EspCommand)) if (value === op) return name;
  return '0x' + op.toString(16).padStart(2, '0');
}

/** Direction byte of a request packet (serial protocol "Command Packet", byte 0). */
export const DIRECTION_REQUEST = 0x00;
/** Direction byte of a response packet (serial protocol "Response Packet", byte 0). */
export const DIRECTION_RESPONSE = 0x01;
/** Header length of both packet kinds: direction, command, size (u16 LE), checksum/value (u32 LE). */
export const PACKET_HEADER_LENGTH = 8;

/** Seed of the XOR checksum over the "data to write" of *_DATA commands (serial protocol "Checksum"). */
export const ESP_CHECKSUM_SEED = 0xef;

/**
 * Number of status bytes at the end of a response's data (serial protocol "Status bytes"):
 * the ESP8266 ROM and every stub send 2 (status, error); the ROM of the ESP32 and every later
 * chip sends 4 (status, error, 2 reserved).
 */
export const STATUS_BYTES_ESP8266_ROM = 2;
export const STATUS_BYTES_ESP32_ROM = 4;
export const STATUS_BYTES_STUB = 2;

/** SYNC payload: 0x07 0x07 0x12 0x20 then 32 × 0x55 (serial protocol "Commands", SYNC). */
export const SYNC_PAYLOAD: Uint8Array = (() => {
  const p = new Uint8Array(36).fill(0x55);
  p.set([0x07, 0x07, 0x12, 0x20], 0);
  return p;
})();

/**
 * After one SYNC the ROM answers 8 times in a row (esptool `sync()` reads 7 more replies;
 * loader.py comment "Unsupported command response is sent 8 times").
 */
export const SYNC_EXTRA_REPLIES = 7;

/** The only unsolicited packet: sent by the stub once running ("OHAI"). */
export const STUB_GREETING: Uint8Array = new Uint8Array([0x4f, 0x48, 0x41, 0x49]);

/** ROM loader error codes, sent in the byte after a non-zero status (serial protocol "ROM Loader Errors"). */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERROR: 0x08,
  FLASH_READ_ERROR: 0x09,
  FLASH_READ_LENGTH_ERROR: 0x0a,
  DEFLATE_ERROR: 0x0b,
} as const;

/**
 * Stub loader error codes (esptool flasher_stub/include/stub_flasher.h `esp_command_error`;
 * esp-flasher-stub src/commands.h `esp_response_code`, whose high byte they are).
 */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  FAILED_SPI_UNLOCK: 0xc5,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

const ERROR_MEANINGS: Readonly<Record<number, string>> = {
  [RomError.INVALID_MESSAGE]: 'received message is invalid (parameters or length field)',
  [RomError.FAILED_TO_ACT]: 'failed to act on received message',
  [RomError.INVALID_CRC]: 'invalid CRC in message',
  [RomError.FLASH_WRITE_ERROR]: 'flash write error (read-back differs from the data written)',
  [RomError.FLASH_READ_ERROR]: 'flash read error (SPI read failed)',
  [RomError.FLASH_READ_LENGTH_ERROR]: 'flash read length error (request too long)',
  [RomError.DEFLATE_ERROR]: 'deflate error (compressed data is invalid)',
  [StubError.BAD_DATA_LEN]: 'bad data length',
  [StubError.BAD_DATA_CHECKSUM]: 'bad data checksum',
  [StubError.BAD_BLOCKSIZE]: 'bad block size',
  [StubError.INVALID_COMMAND]: 'invalid command',
  [StubError.FAILED_SPI_OP]: 'SPI flash operation failed',
  [StubError.FAILED_SPI_UNLOCK]: 'SPI flash unlock failed',
  [StubError.NOT_IN_FLASH_MODE]: 'not in flash mode',
  [StubError.INFLATE_ERROR]: 'inflate error',
  [StubError.NOT_ENOUGH_DATA]: 'not enough data',
  [StubError.TOO_MUCH_DATA]: 'too much data',
  [StubError.CMD_NOT_IMPLEMENTED]: 'command not implemented',
};

/** Plain-language meaning of a ROM or stub error code. */
export function errorMeaning(code: number): string {
  return ERROR_MEANINGS[code] ?? `unknown error 0x${code.toString(16).padStart(2, '0')}`;
}

/** Largest RAM download block (MEM_DATA) accepted by the ROM (loader.py `ESP_RAM_BLOCK`). */
export const ESP_RAM_BLOCK = 0x1800;
/** Flash write block size of the ROM loaders (loader.py `FLASH_WRITE_SIZE`). */
export const FLASH_WRITE_SIZE_ROM = 0x400;
/** Flash write block size of the stub (targets/*.py stub `FLASH_WRITE_SIZE`, MAX_WRITE_BLOCK). */
export const FLASH_WRITE_SIZE_STUB = 0x4000;
/** Minimum erase unit (loader.py `FLASH_SECTOR_SIZE`). */
export const FLASH_SECTOR_SIZE = 0x1000;
/** ROM READ_FLASH_SLOW returns at most this many bytes per command (targets/esp32.py). */
export const READ_FLASH_SLOW_BLOCK = 64;

/** Baud rate every ROM starts at (esp-pylib `ESP_ROM_BAUD`). */
export const ESP_ROM_BAUD = 115200;

/** Address whose value differs per chip model (loader.py `CHIP_DETECT_MAGIC_REG_ADDR`). */
export const CHIP_DETECT_MAGIC_REG_ADDR = 0x40001000;

/** Timeouts in milliseconds (loader.py: DEFAULT_TIMEOUT, SYNC_TIMEOUT, *_PER_MB, MEM_END_ROM_TIMEOUT). */
export const EspTimeouts = {
  DEFAULT: 3000,
  SYNC: 100,
  MEM_END_ROM: 200,
  CHIP_ERASE: 120_000,
  MAX: 240_000,
  MD5_PER_MB: 8000,
  ERASE_REGION_PER_MB: 40_000,
  ERASE_WRITE_PER_MB: 40_000,
} as const;

/**
 * A size-scaled timeout, never below the default (loader.py `timeout_per_mb`: seconds per
 * megabyte × size / 1e6, at least DEFAULT_TIMEOUT), capped at MAX.
 */
export function timeoutPerMb(msPerMb: number, sizeBytes: number): number {
  const t = msPerMb * (sizeBytes / 1e6);
  return Math.min(EspTimeouts.MAX, Math.max(EspTimeouts.DEFAULT, Math.ceil(t)));
}

/** Attempts per data block before giving up (loader.py `WRITE_BLOCK_ATTEMPTS`). */
export const WRITE_BLOCK_ATTEMPTS = 3;

/** GET_SECURITY_INFO flag bits (loader.py `SECURITY_INFO_FLAG_MAP`, "taken from the ROM code"). */
export const SecurityFlag = {
  SECURE_BOOT_EN: 1 << 0,
  SECURE_BOOT_AGGRESSIVE_REVOKE: 1 << 1,
  SECURE_DOWNLOAD_ENABLE: 1 << 2,
  SECURE_BOOT_KEY_REVOKE0: 1 << 3,
  SECURE_BOOT_KEY_REVOKE1: 1 << 4,
  SECURE_BOOT_KEY_REVOKE2: 1 << 5,
  SOFT_DIS_JTAG: 1 << 6,
  HARD_DIS_JTAG: 1 << 7,
  DIS_USB: 1 << 8,
  DIS_DOWNLOAD_DCACHE: 1 << 9,
  DIS_DOWNLOAD_ICACHE: 1 << 10,
} as const;

/** SPI flash commands used through the SPI peripheral registers (JEDEC). */
export const SPIFLASH_RDID = 0x9f;

/** SPI peripheral register bits used to run a "user" flash command (loader.py `run_spiflash_command`). */
export const SpiUserCommand = {
  SPI_USR_COMMAND: 0x80000000,
  SPI_USR_MISO: 1 << 28,
  SPI_USR_MOSI: 1 << 27,
  SPI_CMD_USR: 1 << 18,
  SPI_USR2_COMMAND_LEN_SHIFT: 28,
  SPI_CMD_OFFS: 0x00,
} as const;
