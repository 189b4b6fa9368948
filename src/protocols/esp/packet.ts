/**
 * Command and response packets of the Espressif serial bootloader (esptool serial protocol,
 * "Command Packet", "Response Packet", "Status bytes", "Checksum"). Pure: bytes in, bytes out.
 * SLIP framing is separate (src/framing/slip.ts).
 *
 * Request:  [0x00, op, size u16 LE, checksum u32 LE, data…]
 * Response: [0x01, op, size u16 LE, value u32 LE, data…, status bytes (2 or 4)]
 */
import { ProtocolError, UsageError } from '../../core/errors.ts';
import { view } from '../../core/bytes.ts';
import {
  DIRECTION_REQUEST,
  DIRECTION_RESPONSE,
  ESP_CHECKSUM_SEED,
  PACKET_HEADER_LENGTH,
  RomError,
  StubError,
  commandName,
  errorMeaning,
} from './constants.ts';

/**
 * XOR checksum of `data` seeded with 0xEF (serial protocol "Checksum"); only the "data to
 * write" part of *_DATA commands is summed.
 * @example espChecksum(new Uint8Array([])) // 0xef
 */
export function espChecksum(data: Uint8Array, seed: number = ESP_CHECKSUM_SEED): number {
  // An indexed loop: the array iterator costs several times more per byte, and every block of
  // every image is summed.
  let state = seed & 0xff;
  for (let i = 0; i < data.length; i++) state ^= data[i]!;
  return state;
}

export interface CommandPacket {
  op: number;
  data: Uint8Array;
  /** Checksum field; 0 for commands that do not use it. */
  checksum: number;
}

/**
 * Builds a request packet (not yet SLIP framed).
 * @throws {UsageError} when op is not a byte or data is longer than 65535 bytes.
 */
export function encodeCommand(
  op: number,
  data: Uint8Array = new Uint8Array(0),
  checksum = 0,
): Uint8Array {
  if (!Number.isInteger(op) || op < 0 || op > 0xff) {
    throw new UsageError(`encodeCommand: op must be a byte, got ${op}`);
  }
  if (data.length > 0xffff) {
    throw new UsageError(`encodeCommand: data must be at most 65535 bytes, got ${data.length}`);
  }
  const out = new Uint8Array(PACKET_HEADER_LENGTH + data.length);
  const v = view(out);
  out[0] = DIRECTION_REQUEST;
  out[1] = op;
  v.setUint16(2, data.length, true);
  v.setUint32(4, checksum >>> 0, true);
  out.set(data, PACKET_HEADER_LENGTH);
  return out;
}

/**
 * Parses a request packet (the device side: used by the simulated boards).
 * @throws {ProtocolError} 'protocol.bad-reply' on a wrong direction byte or size field.
 */
export function decodeCommand(frame: Uint8Array): CommandPacket {
  if (frame.length < PACKET_HEADER_LENGTH) {
    throw badPacket(`command packet is ${frame.length} bytes, shorter than its 8-byte header`);
  }
  if (frame[0] !== DIRECTION_REQUEST) {
    throw badPacket(`command packet starts with 0x${hexByte(frame[0]!)}, not 0x00`, frame[1]);
  }
  const v = view(frame);
  const size = v.getUint16(2, true);
  if (size !== frame.length - PACKET_HEADER_LENGTH) {
    throw badPacket(
      `command packet size field says ${size} bytes but ${frame.length - PACKET_HEADER_LENGTH} follow`,
      frame[1],
    );
  }
  return {
    op: frame[1]!,
    checksum: v.getUint32(4, true),
    data: frame.subarray(PACKET_HEADER_LENGTH),
  };
}

/** Data of FLASH_DATA / FLASH_DEFL_DATA / MEM_DATA: [size, seq, 0, 0] then the block. */
export function encodeDataPayload(block: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(16 + block.length);
  const v = view(out);
  v.setUint32(0, block.length, true);
  v.setUint32(4, seq >>> 0, true);
  out.set(block, 16);
  return out;
}

/** Little-endian 32-bit words as bytes: the argument format of most commands. */
export function words(...values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = view(out);
  values.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return out;
}

export interface ResponsePacket {
  op: number;
  /** The 32-bit value field (READ_REG result; SYNC: non-zero from ROM, 0 from the stub). */
  value: number;
  /** Data before the status bytes. */
  data: Uint8Array;
  /** The status bytes (2 or 4; may be fewer only if the device sent fewer). */
  status: Uint8Array;
  /**
   * The error code when the status says the command failed, else undefined: the byte after a
   * status of 1 (ROM), or the first status byte itself when it is a stub code (0xC0 and up).
   */
  error: number | undefined;
}

export interface DecodeResponseOptions {
  /** Number of status bytes this loader sends: 2 (ESP8266 ROM, stub) or 4 (later ROMs). */
  statusBytes: number;
  /** The command the reply must answer; a reply to another command is rejected. */
  expectOp?: number;
  /** Throw ProtocolError when the status says the command failed (default true). */
  checkStatus?: boolean;
}

/**
 * Parses and validates a response packet.
 * @throws {ProtocolError} 'protocol.bad-reply' for a wrong direction byte, a short packet, a size
 *   field that does not match, a reply to another command, or missing status bytes;
 *   'protocol.unsupported' when the ROM answered "invalid message" (0x05) as it does to unknown
 *   commands; 'protocol.command-failed' for any other error status. `opcode` and `status` (the
 *   error byte) are set.
 * @example decodeResponse(frame, { statusBytes: 4, expectOp: EspCommand.SYNC })
 */
export function decodeResponse(frame: Uint8Array, options: DecodeResponseOptions): ResponsePacket {
  const { statusBytes, expectOp, checkStatus = true } = options;
  if (frame.length < PACKET_HEADER_LENGTH) {
    throw badPacket(
      `reply is ${frame.length} bytes, shorter than its 8-byte header`,
      frame.length > 1 ? frame[1] : expectOp,
    );
  }
  const op = frame[1]!;
  if (frame[0] !== DIRECTION_RESPONSE) {
    throw badPacket(`reply starts with 0x${hexByte(frame[0]!)}, not 0x01`, op);
  }
  const v = view(frame);
  const size = v.getUint16(2, true);
  const body = frame.subarray(PACKET_HEADER_LENGTH);
  if (size !== body.length) {
    throw badPacket(`reply size field says ${size} bytes but ${body.length} follow`, op);
  }
  const value = v.getUint32(4, true);
  const nStatus = Math.min(statusBytes, body.length);
  const status = body.subarray(body.length - nStatus);
  const data = body.subarray(0, body.length - nStatus);
  const error = statusError(status);

  if (expectOp !== undefined && op !== expectOp) {
    // The ROM answers an unknown command with "invalid message" (loader.py `command`).
    if (error !== undefined && UNSUPPORTED.has(error)) throw unsupported(expectOp, error);
    throw badPacket(`reply to ${commandName(op)} while waiting for ${commandName(expectOp)}`, op);
  }
  if (status.length < 2) {
    throw badPacket(
      `reply to ${commandName(op)} has ${status.length} status bytes, expected ${statusBytes}`,
      op,
    );
  }
  if (checkStatus && error !== undefined) {
    if (UNSUPPORTED.has(error)) throw unsupported(op, error);
    throw new ProtocolError(
      'protocol.command-failed',
      `The bootloader rejected ${commandName(op)}: ${errorMeaning(error)} (0x${hexByte(error)})`,
      { opcode: op, status: error, hints: hintsFor(error) },
    );
  }
  return { op, value, data, status, error };
}

/**
 * Error codes meaning "this loader does not know the command": the ROM's invalid message, the
 * stubs' "command not implemented" and esp-flasher-stub's "invalid command" for an unknown
 * opcode (`handle_command` default case).
 */
const UNSUPPORTED: ReadonlySet<number> = new Set([
  RomError.INVALID_MESSAGE,
  StubError.CMD_NOT_IMPLEMENTED,
  StubError.INVALID_COMMAND,
]);

/**
 * The error code in a reply's status bytes, or undefined on success. The ROM sends status 1 and
 * then the error (serial protocol "Status bytes"). Both flasher stubs send the error code first
 * and 0 after it: esptool's legacy stub `cmd_loop` sends `error` then `status`, esp-flasher-stub
 * sends its 16-bit response code big-endian (0xC100 → C1 00), and esptool reads the two bytes
 * as one big-endian number (`FatalError.WithResult`). Stub codes are 0xC0 and up, so the first
 * byte tells the two layouts apart.
 */
function statusError(status: Uint8Array): number | undefined {
  const first = status[0] ?? 0;
  if (first === 0) return undefined;
  return first === 1 ? (status[1] ?? 0) : first;
}

/**
 * Builds a response packet (the device side: used by the simulated boards).
 * `error` undefined means success; `layout` places it as the ROM does (status 1, then the error;
 * the default) or as the stub does (the error, then 0; see `statusError`).
 */
export function encodeResponse(options: {
  op: number;
  value?: number;
  data?: Uint8Array;
  statusBytes: number;
  error?: number | undefined;
  layout?: 'rom' | 'stub';
}): Uint8Array {
  const data = options.data ?? new Uint8Array(0);
  const body = new Uint8Array(data.length + options.statusBytes);
  body.set(data, 0);
  if (options.error !== undefined) {
    const stub = options.layout === 'stub';
    body[data.length] = stub ? options.error : 1;
    body[data.length + 1] = stub ? 0 : options.error;
  }
  const out = new Uint8Array(PACKET_HEADER_LENGTH + body.length);
  const v = view(out);
  out[0] = DIRECTION_RESPONSE;
  out[1] = options.op;
  v.setUint16(2, body.length, true);
  v.setUint32(4, (options.value ?? 0) >>> 0, true);
  out.set(body, PACKET_HEADER_LENGTH);
  return out;
}

function hintsFor(error: number): string[] {
  switch (error) {
    case RomError.INVALID_CRC:
    case StubError.BAD_DATA_CHECKSUM:
      return ['Data was corrupted on the way; the block will be resent.'];
    case RomError.FLASH_WRITE_ERROR:
    case RomError.FLASH_READ_ERROR:
      return [
        'The flash chip did not accept the data. Try again; if it persists the board may be faulty.',
      ];
    case RomError.DEFLATE_ERROR:
    case StubError.INFLATE_ERROR:
      return ['The compressed stream was out of step with the board; the write restarts.'];
    default:
      return [];
  }
}

function unsupported(op: number, error: number): ProtocolError {
  return new ProtocolError(
    'protocol.unsupported',
    `This bootloader does not support ${commandName(op)}`,
    { opcode: op, status: error },
  );
}

function badPacket(message: string, op?: number): ProtocolError {
  return new ProtocolError(
    'protocol.bad-reply',
    `Unexpected data from the bootloader: ${message}`,
    {
      ...(op === undefined ? {} : { opcode: op }),
      hints: ['Check the cable and the baud rate; the command will be retried.'],
    },
  );
}

function hexByte(b: number): string {
  return b.toString(16).padStart(2, '0');
}
