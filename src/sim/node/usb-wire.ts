/**
 * The USB-over-TCP wire protocol of `npm run sim -- --usb-listen` (docs/simulator.md, "USB over
 * TCP"), spoken by tools/usb-bridge/libusb-bridge.c. Every integer is little-endian.
 *
 * - Request: u32 length (of what follows), u8 opcode, the opcode's fields.
 * - Answer: u32 length (of what follows), i32 result (a libusb error code when negative), payload.
 *
 * One request is in flight per connection; answers come in order.
 */

/** Request opcodes. */
export const UsbWireOp = {
  /** → result: device count; payload per device: u32 id, u8 address, u8 port, 18-byte device
   *  descriptor, u16 length + configuration descriptor. */
  list: 1,
  /** u32 id → 0, or NO_DEVICE. */
  open: 2,
  /** u32 id → 0. */
  close: 3,
  /** u32 id, u8 bmRequestType, u8 bRequest, u16 wValue, u16 wIndex, u16 wLength, u32 timeout
   *  (ms), OUT data → bytes transferred (IN data as payload), or PIPE (stall), NO_DEVICE. */
  control: 4,
  /** u32 id, i32 configuration value → 0, or PIPE. */
  setConfiguration: 5,
  /** u32 id → the configuration value. */
  getConfiguration: 6,
  /** u32 id, u8 interface → 0, or NOT_FOUND, BUSY. */
  claim: 7,
  /** u32 id, u8 interface → 0, or NOT_FOUND. */
  release: 8,
  /** u32 id, u8 interface, u8 alternate setting → 0, or NOT_FOUND, PIPE. */
  setAlt: 9,
  /** u32 id → 0, or NOT_FOUND when the device re-enumerated (libusb_reset_device). */
  reset: 10,
} as const;

/** libusb's error codes (libusb.h `enum libusb_error`). */
export const LibusbError = {
  io: -1,
  invalidParam: -2,
  noDevice: -4,
  notFound: -5,
  busy: -6,
  overflow: -8,
  pipe: -9,
  notSupported: -12,
} as const;

/** Frames larger than this are refused (a control transfer carries at most 64 KiB). */
const MAX_FRAME = 0x20000;

/** Splits a TCP byte stream into request frames (opcode + body). */
export class FrameReader {
  private buffer = new Uint8Array(0);

  /**
   * Adds received bytes; returns the frames completed.
   * @throws {RangeError} for a frame longer than MAX_FRAME or an empty one.
   */
  push(chunk: Uint8Array): { op: number; body: Uint8Array }[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const frames: { op: number; body: Uint8Array }[] = [];
    let at = 0;
    while (joined.length - at >= 4) {
      const len = new DataView(joined.buffer, at, 4).getUint32(0, true);
      if (len === 0 || len > MAX_FRAME) throw new RangeError(`bad frame length ${len}`);
      if (joined.length - at - 4 < len) break;
      frames.push({ op: joined[at + 4]!, body: joined.slice(at + 5, at + 4 + len) });
      at += 4 + len;
    }
    this.buffer = joined.slice(at);
    return frames;
  }
}

/** Encodes an answer frame. */
export function encodeAnswer(result: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 4 + payload.length, true);
  view.setInt32(4, result, true);
  out.set(payload, 8);
  return out;
}

/** One device of a LIST answer. */
export interface ListedDevice {
  id: number;
  address: number;
  port: number;
  deviceDescriptor: Uint8Array;
  configDescriptor: Uint8Array;
}

/** Encodes the payload of a LIST answer. */
export function encodeDeviceList(devices: readonly ListedDevice[]): Uint8Array {
  const size = devices.reduce((n, d) => n + 26 + d.configDescriptor.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const d of devices) {
    view.setUint32(at, d.id, true);
    out[at + 4] = d.address;
    out[at + 5] = d.port;
    out.set(d.deviceDescriptor.subarray(0, 18), at + 6);
    view.setUint16(at + 24, d.configDescriptor.length, true);
    out.set(d.configDescriptor, at + 26);
    at += 26 + d.configDescriptor.length;
  }
  return out;
}

/** A decoded CONTROL request. */
export interface ControlRequest {
  id: number;
  requestType: number;
  request: number;
  value: number;
  index: number;
  length: number;
  timeoutMs: number;
  data: Uint8Array;
}

/**
 * Decodes a CONTROL request body.
 * @throws {RangeError} when the body is too short for its wLength.
 */
export function decodeControl(body: Uint8Array): ControlRequest {
  if (body.length < 16) throw new RangeError('short CONTROL request');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const requestType = body[4]!;
  const length = view.getUint16(10, true);
  const out = (requestType & 0x80) === 0;
  if (out && body.length < 16 + length) throw new RangeError('CONTROL data shorter than wLength');
  return {
    id: view.getUint32(0, true),
    requestType,
    request: body[5]!,
    value: view.getUint16(6, true),
    index: view.getUint16(8, true),
    length,
    timeoutMs: view.getUint32(12, true),
    data: out ? body.slice(16, 16 + length) : new Uint8Array(0),
  };
}
