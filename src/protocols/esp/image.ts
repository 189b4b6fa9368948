/**
 * ESP application and bootloader images (ESP-IDF "App Image Format", esp_app_format.h:
 * `esp_image_header_t`, `esp_image_segment_header_t`, `esp_app_desc_t`; esptool
 * `bin_image.py` `ESP32FirmwareImage` / `ESP8266ROMFirmwareImage`).
 *
 * ESP32 family layout: a 24-byte header (8 common bytes + 16 extended), segments each with an
 * 8-byte header, zero padding up to the last byte of a 16-byte line, one checksum byte (XOR of
 * all segment data, seeded 0xEF), then — when `hash_appended` is 1 — a SHA-256 of everything
 * before it. ESP8266 "v1" images have only the 8 common header bytes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, view } from '../../core/bytes.ts';
import { UsageError } from '../../core/errors.ts';
import type { EspChip, EspChipId } from './chips.ts';
import { chipByImageChipId } from './chips.ts';
import { ESP_CHECKSUM_SEED } from './constants.ts';

/** First byte of every image (loader.py `ESP_IMAGE_MAGIC`). */
const ESP_IMAGE_MAGIC = 0xe9;
/** `esp_app_desc_t.magic_word`. */
const ESP_APP_DESC_MAGIC = 0xabcd5432;
const COMMON_HEADER = 8;
const EXTENDED_HEADER = 16;
const SEGMENT_HEADER = 8;
const SHA256_LENGTH = 32;
/** esp_image_header_t offsets (esp_app_format.h). */
const OFF_CHIP_ID = 12;
const OFF_MIN_REV = 14;
const OFF_MIN_REV_FULL = 15;
const OFF_MAX_REV_FULL = 17;
const OFF_HASH_APPENDED = 23;
/** More segments than any real image has (ESP-IDF ESP_IMAGE_MAX_SEGMENTS is 16). */
const MAX_SEGMENTS = 16;

type FlashMode = 'qio' | 'qout' | 'dio' | 'dout' | 'unknown';

interface EspImageSegment {
  loadAddress: number;
  /** Offset of the segment's data in the image. */
  dataOffset: number;
  length: number;
}

/** `esp_app_desc_t`, the description ESP-IDF places at the start of the first segment. */
export interface EspAppDesc {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** Lower-case hex of app_elf_sha256. */
  appElfSha256: string;
}

export interface EspImage {
  /** 'esp32' for the extended header of the ESP32 family, 'esp8266' for the 8-byte v1 header. */
  format: 'esp32' | 'esp8266';
  segmentCount: number;
  flashMode: FlashMode;
  /** High nibble of byte 3, as stored. */
  flashSizeCode: number;
  /** The flash size it stands for, when the code is known. */
  flashSize?: number;
  /** Low nibble of byte 3 (SPI clock), as stored. */
  flashFreqCode: number;
  entry: number;
  /** `chip_id` (ESP32 family only). */
  chipId?: number;
  /** The chip it names, when supported. */
  chip?: EspChipId;
  minChipRevision?: number;
  /** `min_chip_rev_full` / `max_chip_rev_full`: major × 100 + minor. */
  minChipRevFull?: number;
  maxChipRevFull?: number;
  hashAppended: boolean;
  segments: EspImageSegment[];
  /** Offset of the checksum byte. */
  checksumOffset: number;
  checksumStored: number;
  checksumComputed: number;
  checksumValid: boolean;
  /** The appended SHA-256, when `hashAppended`. */
  sha256?: { stored: Uint8Array; computed: Uint8Array; valid: boolean };
  /** Bytes the image occupies (through the checksum, and the hash when appended). */
  length: number;
  /** The application description, when the first segment starts with one. */
  appDesc?: EspAppDesc;
}

const FLASH_MODES: readonly FlashMode[] = ['qio', 'qout', 'dio', 'dout'];
const MiB = 1024 * 1024;
/** Flash size nibble (targets/esp32.py `FLASH_SIZES`, shared by the later chips). */
const ESP32_FLASH_SIZES: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128].map((n) => n * MiB);
/** Flash size nibble of ESP8266 images (targets/esp8266.py `FLASH_SIZES`). */
const ESP8266_FLASH_SIZES: Readonly<Record<number, number>> = {
  0: 512 * 1024,
  1: 256 * 1024,
  2: MiB,
  3: 2 * MiB,
  4: 4 * MiB,
  5: 2 * MiB,
  6: 4 * MiB,
  8: 8 * MiB,
  9: 16 * MiB,
};

/** Options for `parseEspImage`. */
export interface ParseEspImageOptions {
  /**
   * Header layout. By default an image is taken as ESP32-family when its extended header is
   * plausible (`chip_id` a known chip, `hash_appended` 0 or 1), else as ESP8266.
   */
  format?: 'esp32' | 'esp8266';
}

function fail(message: string): UsageError {
  return new UsageError(`Not a valid ESP image: ${message}`);
}

/**
 * Parses an image and checks its checksum and appended SHA-256 (reported, not thrown).
 * @throws {UsageError} when the bytes are not an ESP image (bad magic, truncated segments).
 * @example parseEspImage(bytes).appDesc?.projectName // "blink"
 */
export function parseEspImage(bytes: Uint8Array, options: ParseEspImageOptions = {}): EspImage {
  if (bytes.length < COMMON_HEADER) throw fail(`only ${bytes.length} bytes`);
  if (bytes[0] !== ESP_IMAGE_MAGIC) {
    throw fail(`first byte is 0x${bytes[0]!.toString(16)}, not 0xe9`);
  }
  const v = view(bytes);
  const segmentCount = bytes[1]!;
  if (segmentCount === 0 || segmentCount > MAX_SEGMENTS) throw fail(`${segmentCount} segments`);
  const format = options.format ?? guessFormat(bytes);
  const flashSizeCode = bytes[3]! >> 4;
  const image: EspImage = {
    format,
    segmentCount,
    flashMode: FLASH_MODES[bytes[2]!] ?? 'unknown',
    flashSizeCode,
    flashFreqCode: bytes[3]! & 0x0f,
    entry: v.getUint32(4, true),
    hashAppended: false,
    segments: [],
    checksumOffset: 0,
    checksumStored: 0,
    checksumComputed: 0,
    checksumValid: false,
    length: 0,
  };
  const size =
    format === 'esp32' ? ESP32_FLASH_SIZES[flashSizeCode] : ESP8266_FLASH_SIZES[flashSizeCode];
  if (size !== undefined) image.flashSize = size;

  let offset = COMMON_HEADER;
  if (format === 'esp32') {
    if (bytes.length < COMMON_HEADER + EXTENDED_HEADER) throw fail('extended header is truncated');
    image.chipId = v.getUint16(OFF_CHIP_ID, true);
    const chip = chipByImageChipId(image.chipId);
    if (chip) image.chip = chip.id;
    image.minChipRevision = bytes[OFF_MIN_REV]!;
    image.minChipRevFull = v.getUint16(OFF_MIN_REV_FULL, true);
    image.maxChipRevFull = v.getUint16(OFF_MAX_REV_FULL, true);
    image.hashAppended = bytes[OFF_HASH_APPENDED] === 1;
    offset += EXTENDED_HEADER;
  }

  let checksum = ESP_CHECKSUM_SEED;
  for (let i = 0; i < segmentCount; i++) {
    if (offset + SEGMENT_HEADER > bytes.length) throw fail(`segment ${i} header is truncated`);
    const loadAddress = v.getUint32(offset, true);
    const length = v.getUint32(offset + 4, true);
    const dataOffset = offset + SEGMENT_HEADER;
    if (dataOffset + length > bytes.length) {
      throw fail(`segment ${i} (${length} bytes) runs past the end of the file`);
    }
    image.segments.push({ loadAddress, dataOffset, length });
    for (let j = dataOffset; j < dataOffset + length; j++) checksum ^= bytes[j]!;
    offset = dataOffset + length;
  }

  // esptool bin_image.py `append_checksum`: pad so the checksum is the last byte of a 16-byte line.
  const checksumOffset = offset + (15 - (offset % 16));
  if (checksumOffset >= bytes.length) throw fail('the checksum byte is missing');
  image.checksumOffset = checksumOffset;
  image.checksumStored = bytes[checksumOffset]!;
  image.checksumComputed = checksum;
  image.checksumValid = image.checksumStored === checksum;
  image.length = checksumOffset + 1;

  if (image.hashAppended) {
    const end = image.length + SHA256_LENGTH;
    if (end > bytes.length) throw fail('the appended SHA-256 is missing');
    const stored = bytes.slice(image.length, end);
    const computed = sha256(bytes.subarray(0, image.length));
    image.sha256 = { stored, computed, valid: equalBytes(stored, computed) };
    image.length = end;
  }

  const first = image.segments[0];
  if (format === 'esp32' && first && first.length >= 256) {
    const desc = parseAppDesc(bytes.subarray(first.dataOffset, first.dataOffset + 256));
    if (desc) image.appDesc = desc;
  }
  return image;
}

function guessFormat(bytes: Uint8Array): 'esp32' | 'esp8266' {
  if (bytes.length < COMMON_HEADER + EXTENDED_HEADER) return 'esp8266';
  const chipId = bytes[OFF_CHIP_ID]! | (bytes[OFF_CHIP_ID + 1]! << 8);
  const hash = bytes[OFF_HASH_APPENDED]!;
  return chipByImageChipId(chipId) && (hash === 0 || hash === 1) ? 'esp32' : 'esp8266';
}

/**
 * Reads an `esp_app_desc_t` (256 bytes) when `bytes` starts with its magic word.
 * Layout: magic u32, secure_version u32, reserv1 u32[2], version char[32], project_name
 * char[32], time char[16], date char[16], idf_ver char[32], app_elf_sha256 u8[32], …
 */
export function parseAppDesc(bytes: Uint8Array): EspAppDesc | undefined {
  if (bytes.length < 256) return undefined;
  const v = view(bytes);
  if (v.getUint32(0, true) !== ESP_APP_DESC_MAGIC) return undefined;
  const text = (from: number, len: number): string => {
    const field = bytes.subarray(from, from + len);
    const nul = field.indexOf(0);
    return new TextDecoder().decode(nul >= 0 ? field.subarray(0, nul) : field);
  };
  let sha = '';
  for (const b of bytes.subarray(144, 176)) sha += b.toString(16).padStart(2, '0');
  return {
    secureVersion: v.getUint32(4, true),
    version: text(16, 32),
    projectName: text(48, 32),
    time: text(80, 16),
    date: text(96, 16),
    idfVersion: text(112, 32),
    appElfSha256: sha,
  };
}

/** Offset of `esp_app_desc_t` in an ESP-IDF application image (after both headers). */
export const APP_DESC_OFFSET = COMMON_HEADER + EXTENDED_HEADER + SEGMENT_HEADER;

/**
 * A copy of an ESP32-family image with `chip_id` set to `chip`'s image id and the checksum
 * and appended SHA-256 recomputed. (Used to derive demo images for another chip of the family;
 * the code itself is not recompiled, so such an image is for simulated boards only.)
 * @throws {UsageError} for an ESP8266 image or a chip without an image id.
 */
export function retargetImage(image: Uint8Array, chip: EspChip): Uint8Array {
  if (chip.imageChipId === undefined) {
    throw new UsageError(`retargetImage: ${chip.name} images have no chip id`);
  }
  const parsed = parseEspImage(image, { format: 'esp32' });
  const out = image.slice();
  view(out).setUint16(OFF_CHIP_ID, chip.imageChipId, true);
  out[parsed.checksumOffset] = parsed.checksumComputed;
  if (parsed.sha256) {
    const end = parsed.checksumOffset + 1;
    out.set(sha256(out.subarray(0, end)), end);
  }
  return out;
}
