/**
 * The SMP packet (Zephyr "SMP Protocol Specification", "Frame: the envelope"): an 8-byte
 * big-endian header — Res:3 Ver:2 OP:3, Flags, Data Length (16), Group ID (16), Sequence Num,
 * Command ID — then `Data Length` bytes of CBOR. Ver 0 is SMP version 1, Ver 1 is version 2.
 * Groups and commands are listed as data below; bodies are CBOR maps (cbor.ts).
 */
import { FramingError } from '../../core/errors.ts';

export const SMP_HEADER_SIZE = 8;

/** `mcumgr_op_t` (SMP Protocol Specification, "OP"). */
export const SmpOp = { READ: 0, READ_RSP: 1, WRITE: 2, WRITE_RSP: 3 } as const;

/** `mcumgr_group_t`: the groups used here ("Management Group ID's"). */
export const SmpGroup = { OS: 0, IMAGE: 1 } as const;

/** OS management group (smp_group_0.rst). */
export const OsCmd = {
  ECHO: 0,
  CONSOLE_ECHO: 1,
  TASK_STATS: 2,
  MEMORY_POOL_STATS: 3,
  DATETIME: 4,
  RESET: 5,
  MCUMGR_PARAMS: 6,
  INFO: 7,
  BOOTLOADER_INFO: 8,
} as const;

/** Application/software image management group (smp_group_1.rst). */
export const ImageCmd = {
  STATE: 0,
  UPLOAD: 1,
  FILE: 2,
  CORELIST: 3,
  CORELOAD: 4,
  ERASE: 5,
  SLOT_INFO: 6,
} as const;

/** Header `Ver` values: 0 for SMP version 1, 1 for SMP version 2. */
export type SmpVersion = 0 | 1;

export interface SmpHeader {
  version: SmpVersion;
  op: number;
  flags: number;
  length: number;
  group: number;
  seq: number;
  id: number;
}

/** Encodes a header and body into one SMP packet. */
export function encodeSmpPacket(header: Omit<SmpHeader, 'length'>, body: Uint8Array): Uint8Array {
  if (body.length > 0xffff) throw new RangeError('encodeSmpPacket: body longer than 65535 bytes');
  const out = new Uint8Array(SMP_HEADER_SIZE + body.length);
  out[0] = ((header.version & 0b11) << 3) | (header.op & 0b111);
  out[1] = header.flags & 0xff;
  out[2] = body.length >> 8;
  out[3] = body.length & 0xff;
  out[4] = (header.group >> 8) & 0xff;
  out[5] = header.group & 0xff;
  out[6] = header.seq & 0xff;
  out[7] = header.id & 0xff;
  out.set(body, SMP_HEADER_SIZE);
  return out;
}

/**
 * Splits a packet into header and body.
 * @throws {FramingError} for a packet shorter than its header, a Data Length that does not
 *   match, reserved bits set or a reserved version.
 */
export function decodeSmpPacket(packet: Uint8Array): { header: SmpHeader; body: Uint8Array } {
  if (packet.length < SMP_HEADER_SIZE) {
    throw new FramingError(
      'framing.invalid',
      `An SMP packet of ${packet.length} bytes has no complete header.`,
    );
  }
  const b0 = packet[0]!;
  const version = (b0 >> 3) & 0b11;
  if (b0 >> 5 !== 0 || version > 1) {
    throw new FramingError(
      'framing.invalid',
      `SMP header byte 0x${b0.toString(16)} has reserved bits set.`,
    );
  }
  const length = (packet[2]! << 8) | packet[3]!;
  if (length !== packet.length - SMP_HEADER_SIZE) {
    throw new FramingError(
      'framing.invalid',
      `SMP Data Length ${length} does not match the ${packet.length - SMP_HEADER_SIZE} bytes received.`,
    );
  }
  return {
    header: {
      version: version as SmpVersion,
      op: b0 & 0b111,
      flags: packet[1]!,
      length,
      group: (packet[4]! << 8) | packet[5]!,
      seq: packet[6]!,
      id: packet[7]!,
    },
    body: packet.subarray(SMP_HEADER_SIZE),
  };
}

/** "echo", "image upload"… for messages. */
export function commandName(group: number, id: number): string {
  const names: Record<number, Record<number, string>> = {
    [SmpGroup.OS]: {
      0: 'echo',
      5: 'reset',
      6: 'MCUmgr parameters',
      7: 'OS/application info',
      8: 'bootloader info',
    },
    [SmpGroup.IMAGE]: { 0: 'image state', 1: 'image upload', 5: 'image erase', 6: 'slot info' },
  };
  return names[group]?.[id] ?? `group ${group} command ${id}`;
}
