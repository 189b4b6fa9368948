/**
 * Vendor prefixes that `dfu-prefix` (dfu-util) places before a DFU payload:
 * - TI Stellaris/Tiva (TI "USB Device Firmware Upgrade" boot loader, DFU_CMD_PROG): 8 bytes,
 *   0x01, 0x00, start address / 1024 (u16), payload length (u32).
 * - NXP LPC (LPC18xx/43xx boot ROM DFU image header): 16 bytes, 0x1A 0x3F, payload size in
 *   512-byte blocks (u16), 8 zero bytes, 4 bytes 0xFF.
 * All little-endian. Pure.
 */
import { FramingError } from '../core/errors.ts';

const STELLARIS_PREFIX_LENGTH = 8;
const LPC_PREFIX_LENGTH = 16;

export type DfuPrefix =
  { kind: 'stellaris'; address: number; payloadLength: number } | { kind: 'lpc'; blocks: number };

/**
 * Recognises a prefix at the start of `payload` (the file without its DFU suffix).
 * A Stellaris prefix counts only when its length field equals the bytes that follow it, as
 * dfu-util checks, so plain binaries starting with 01 00 are not mistaken for one.
 */
export function detectDfuPrefix(
  payload: Uint8Array,
): { prefix: DfuPrefix; body: Uint8Array } | undefined {
  if (payload.length >= STELLARIS_PREFIX_LENGTH && payload[0] === 0x01 && payload[1] === 0x00) {
    const dv = new DataView(payload.buffer, payload.byteOffset, STELLARIS_PREFIX_LENGTH);
    const length = dv.getUint32(4, true);
    if (length === payload.length - STELLARIS_PREFIX_LENGTH) {
      return {
        prefix: { kind: 'stellaris', address: dv.getUint16(2, true) * 1024, payloadLength: length },
        body: payload.subarray(STELLARIS_PREFIX_LENGTH),
      };
    }
  }
  if (payload.length >= LPC_PREFIX_LENGTH && payload[0] === 0x1a && payload[1] === 0x3f) {
    const blocks = payload[2]! | (payload[3]! << 8);
    const body = payload.subarray(LPC_PREFIX_LENGTH);
    const tailOk = payload.subarray(12, 16).every((b) => b === 0xff);
    if (tailOk && blocks === Math.ceil(body.length / 512)) {
      return { prefix: { kind: 'lpc', blocks }, body };
    }
  }
  return undefined;
}

/**
 * Prepends a TI Stellaris prefix, as `dfu-prefix -s ADDRESS -a` does.
 * @throws {FramingError} when the address is not a multiple of 1024 or out of range.
 */
export function addStellarisPrefix(body: Uint8Array, address: number): Uint8Array {
  if (
    !Number.isInteger(address) ||
    address < 0 ||
    address % 1024 !== 0 ||
    address / 1024 > 0xffff
  ) {
    throw new FramingError(
      'framing.invalid',
      'A Stellaris address must be a multiple of 1024 below 64 MiB.',
    );
  }
  const out = new Uint8Array(STELLARIS_PREFIX_LENGTH + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, 0x01);
  dv.setUint16(2, address / 1024, true);
  dv.setUint32(4, body.length, true);
  out.set(body, STELLARIS_PREFIX_LENGTH);
  return out;
}
