/**
 * The flasher stub: a small program uploaded to the chip's RAM that replaces the ROM loader for
 * flashing. It acknowledges 16 KiB blocks before programming them (so programming overlaps the
 * next block's transfer), erases in the background as data arrives, answers SPI_FLASH_MD5 with
 * 16 raw bytes and adds READ_FLASH, ERASE_REGION and a CHANGE_BAUDRATE that takes the old rate.
 *
 * The images are the ones esptool-js ships (`esptool-js/lib/targets/stub_flasher/<chip>.json`:
 * `text` and `data` in base64 with their load addresses `text_start` / `data_start`, and the
 * `entry` point). In esptool-js 0.7.0 they are esp-flasher-stub release images (v1.2.2 and
 * v1.3.0; the ESP32-S3 file also carries its optional NAND plugin, which webflash ignores), the
 * stub esptool uses by default since v5.3. Where they come from is the caller's choice (a `StubLoader`): stub-modules.ts
 * imports them as modules (Node, the technician app); a page may fetch them as data instead.
 *
 * Upload: esptool loader.py `run_stub` — MEM_BEGIN / MEM_DATA (ESP_RAM_BLOCK bytes per block) /
 * MEM_END per segment, MEM_END with the entry point, then the stub's unsolicited "OHAI" frame
 * (esptool serial protocol, "Flasher stub").
 */
import { equalBytes, hex32 } from '../../core/bytes.ts';
import { ProtocolError, WebflashError } from '../../core/errors.ts';
import { md5 } from '@noble/hashes/legacy.js';
import { slipEncode } from '../../framing/slip.ts';
import type { EspChipId } from './chips.ts';
import {
  ESP_RAM_BLOCK,
  EspCommand,
  EspTimeouts,
  FLASH_SECTOR_SIZE,
  STUB_GREETING,
} from './constants.ts';
import type { EspLoader } from './loader.ts';
import { words } from './packet.ts';

/** One stub image as esptool-js ships it. */
export interface StubImage {
  /** Entry point (MEM_END). */
  entry: number;
  text: Uint8Array;
  textStart: number;
  data: Uint8Array;
  dataStart: number;
}

/** The JSON layout of esptool-js's `stub_flasher/<chip>.json` (extra fields ignored). */
interface StubJson {
  entry: number;
  text: string;
  text_start: number;
  data?: string;
  data_start?: number;
}

/** The chips esptool-js ships a stub image for (`stub_flasher/<chip>.json`). */
const STUB_CHIPS: ReadonlySet<EspChipId> = new Set<EspChipId>([
  'esp8266',
  'esp32',
  'esp32s2',
  'esp32s3',
  'esp32c3',
  'esp32c6',
  'esp32h2',
]);

/**
 * Supplies the stub JSON for a chip: the parsed contents of esptool-js's
 * `stub_flasher/<chip>.json`, checked by `parseStubJson` before use.
 */
export type StubLoader = (chip: EspChipId) => Promise<unknown>;

/** True when a stub image exists for `chip`. */
export function hasStub(chip: EspChipId): boolean {
  return STUB_CHIPS.has(chip);
}

/**
 * Loads the stub JSON for `chip` through `load` and decodes it.
 * @throws {ProtocolError} 'protocol.unsupported' when there is none or it is malformed; what
 *   `load` throws.
 */
export async function loadStubImage(chip: EspChipId, load: StubLoader): Promise<StubImage> {
  if (!hasStub(chip)) {
    throw new ProtocolError('protocol.unsupported', `There is no flasher stub for ${chip}`);
  }
  return parseStubJson(await load(chip), chip);
}

/**
 * Checks and decodes one stub JSON object.
 * @throws {ProtocolError} 'protocol.unsupported' for a missing field or bad base64.
 */
export function parseStubJson(json: unknown, chip: string): StubImage {
  const j = json as Partial<StubJson> | null;
  const isWord = (v: unknown): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  if (!j || typeof j.text !== 'string' || !isWord(j.entry) || !isWord(j.text_start)) {
    throw new ProtocolError('protocol.unsupported', `The flasher stub for ${chip} is malformed`);
  }
  const data = typeof j.data === 'string' ? decodeBase64(j.data) : new Uint8Array(0);
  if (data.length > 0 && !isWord(j.data_start)) {
    throw new ProtocolError('protocol.unsupported', `The flasher stub for ${chip} is malformed`);
  }
  return {
    entry: j.entry,
    text: decodeBase64(j.text),
    textStart: j.text_start,
    data,
    dataStart: j.data_start ?? 0,
  };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c.charCodeAt(0), i]));

/**
 * Standard base64 (RFC 4648 §4) with optional padding.
 * @throws {ProtocolError} on a character outside the alphabet.
 */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64_VALUE.get(clean.charCodeAt(i));
    if (v === undefined) {
      throw new ProtocolError('protocol.unsupported', `Bad base64 character at ${i}`);
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** How far an upload got, for the decision whether the ROM is still listening. */
export interface StubUploadError extends WebflashError {
  /** MEM_END with the entry point was sent: the chip may be running (part of) the stub. */
  jumped?: boolean;
}

/**
 * Uploads `image` through the ROM loader, starts it and waits for "OHAI". Afterwards
 * `loader.isStub` is true. Errors carry `jumped` (see StubUploadError).
 * @throws {TimeoutError} {ProtocolError} from the loader; 'protocol.bad-reply' without OHAI.
 */
export async function runStub(
  loader: EspLoader,
  image: StubImage,
  signal?: AbortSignal,
): Promise<void> {
  let jumped = false;
  try {
    for (const [bytes, address] of [
      [image.text, image.textStart],
      [image.data, image.dataStart],
    ] as const) {
      if (bytes.length === 0) continue;
      const blocks = Math.ceil(bytes.length / ESP_RAM_BLOCK);
      // loader.py `mem_begin`: size, blocks, block size, address.
      await loader.command(
        EspCommand.MEM_BEGIN,
        words(bytes.length, blocks, ESP_RAM_BLOCK, address),
        { signal },
      );
      for (let seq = 0; seq < blocks; seq++) {
        await loader.dataBlock({
          op: EspCommand.MEM_DATA,
          block: bytes.subarray(seq * ESP_RAM_BLOCK, (seq + 1) * ESP_RAM_BLOCK),
          seq,
          signal,
        });
      }
    }
    jumped = true;
    // loader.py `mem_finish`: "execute" flag 0 means jump to the entry point. The ROM may not
    // answer before it jumps; esptool ignores a missing reply (MEM_END_ROM_TIMEOUT).
    try {
      await loader.command(EspCommand.MEM_END, words(0, image.entry), {
        signal,
        timeoutMs: EspTimeouts.MEM_END_ROM,
      });
    } catch (err) {
      if (!(err instanceof WebflashError) || err.code !== 'timeout') throw err;
    }
    const greeting = await loader.readFrame({
      timeoutMs: EspTimeouts.DEFAULT,
      signal,
      what: 'The flasher stub greeting (OHAI)',
    });
    if (!equalBytes(greeting, STUB_GREETING)) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `The flasher stub did not start: expected OHAI, got ${greeting.length} bytes`,
        { opcode: EspCommand.MEM_END },
      );
    }
    loader.isStub = true;
    loader.logger.info(`flasher stub running (entry ${hex32(image.entry)})`);
  } catch (err) {
    if (err instanceof WebflashError) (err as StubUploadError).jumped = jumped;
    throw err;
  }
}

/** READ_FLASH packet size and packets in flight (loader.py `read_flash`). */
const READ_FLASH_PACKET = FLASH_SECTOR_SIZE;
const READ_FLASH_IN_FLIGHT = 64;

/**
 * Stub READ_FLASH (esptool serial protocol "Reading Flash"; loader.py `read_flash`): the stub
 * streams `length` bytes in packets; the host acknowledges each with the total received so far
 * (a 4-byte SLIP frame), and the stub ends with the MD5 of what it sent.
 * @throws {ProtocolError} 'protocol.bad-reply' for short packets or a digest that differs.
 */
export async function readFlash(
  loader: EspLoader,
  address: number,
  length: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  await loader.command(
    EspCommand.READ_FLASH,
    words(address, length, READ_FLASH_PACKET, READ_FLASH_IN_FLIGHT),
    { signal },
  );
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const packet = await loader.readFrame({
      timeoutMs: EspTimeouts.DEFAULT,
      signal,
      what: 'READ_FLASH data',
    });
    const short = packet.length < READ_FLASH_PACKET && got + packet.length < length;
    if (got + packet.length > length || short) {
      throw new ProtocolError(
        'protocol.bad-reply',
        `READ_FLASH sent a packet of ${packet.length} bytes at ${got} of ${length}`,
        { opcode: EspCommand.READ_FLASH },
      );
    }
    out.set(packet, got);
    got += packet.length;
    await loader.link.write(slipEncode(words(got)));
  }
  const digest = await loader.readFrame({
    timeoutMs: EspTimeouts.DEFAULT,
    signal,
    what: 'READ_FLASH digest',
  });
  if (!equalBytes(digest, md5(out))) {
    throw new ProtocolError(
      'protocol.bad-reply',
      `READ_FLASH data at ${hex32(address)} does not match the digest the stub sent`,
      { opcode: EspCommand.READ_FLASH },
    );
  }
  return out;
}
