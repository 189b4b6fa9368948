/**
 * Codecs for the DFU 1.1 class requests (§3, §6): the SETUP packet of each request and the
 * six-byte DFU_GETSTATUS answer. Every request goes to the DFU interface:
 * bmRequestType 0x21 (host→device, class, interface) or 0xA1 (device→host). Pure.
 */
import { FramingError } from '../../core/errors.ts';
import type { UsbSetup } from '../../transport/usb.ts';
import { DfuRequest } from './dfu-spec.ts';

/** A request as sent: the setup packet, and for OUT requests the data stage. */
export interface DfuWireRequest {
  direction: 'in' | 'out';
  setup: UsbSetup;
  /** wLength: bytes sent (OUT) or asked for (IN). */
  length: number;
  data?: Uint8Array;
}

function setup(request: number, value: number, iface: number): UsbSetup {
  return { requestType: 'class', recipient: 'interface', request, value, index: iface };
}

function u16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff)
    throw new RangeError(`${name} must be 0..65535, got ${v}`);
}

/** DFU_DETACH (§5.1): wValue = wTimeout in ms, no data. */
export function detachRequest(iface: number, timeoutMs: number): DfuWireRequest {
  u16('timeoutMs', timeoutMs);
  return { direction: 'out', setup: setup(DfuRequest.DETACH, timeoutMs, iface), length: 0 };
}

/** DFU_DNLOAD (§6.1.1): wValue = wBlockNum, data = the block (empty ends the download). */
export function dnloadRequest(iface: number, blockNum: number, data: Uint8Array): DfuWireRequest {
  u16('blockNum', blockNum);
  u16('data.length', data.length);
  return {
    direction: 'out',
    setup: setup(DfuRequest.DNLOAD, blockNum, iface),
    length: data.length,
    data,
  };
}

/** DFU_UPLOAD (§6.2): wValue = wBlockNum, wLength = bytes asked for. */
export function uploadRequest(iface: number, blockNum: number, length: number): DfuWireRequest {
  u16('blockNum', blockNum);
  u16('length', length);
  return { direction: 'in', setup: setup(DfuRequest.UPLOAD, blockNum, iface), length };
}

/** DFU_GETSTATUS (§6.1.2): wLength = 6. */
export function getStatusRequest(iface: number): DfuWireRequest {
  return { direction: 'in', setup: setup(DfuRequest.GETSTATUS, 0, iface), length: 6 };
}

/** DFU_CLRSTATUS (§6.1.3): no data. */
export function clrStatusRequest(iface: number): DfuWireRequest {
  return { direction: 'out', setup: setup(DfuRequest.CLRSTATUS, 0, iface), length: 0 };
}

/** DFU_GETSTATE (§6.1.5): wLength = 1. */
export function getStateRequest(iface: number): DfuWireRequest {
  return { direction: 'in', setup: setup(DfuRequest.GETSTATE, 0, iface), length: 1 };
}

/** DFU_ABORT (§6.1.4): no data. */
export function abortRequest(iface: number): DfuWireRequest {
  return { direction: 'out', setup: setup(DfuRequest.ABORT, 0, iface), length: 0 };
}

/** The DFU_GETSTATUS answer (§6.1.2). */
export interface DfuStatusReport {
  status: number;
  /** Minimum time the host waits before the next DFU_GETSTATUS, ms (24-bit). */
  pollTimeoutMs: number;
  state: number;
  /** Index of a status string descriptor, 0 for none. */
  stringIndex: number;
}

/**
 * Decodes the 6 bytes of DFU_GETSTATUS: bStatus, bwPollTimeout (u24 LE), bState, iString.
 * @throws {FramingError} when the answer is not exactly 6 bytes.
 */
export function decodeStatus(bytes: Uint8Array): DfuStatusReport {
  if (bytes.length !== 6) {
    throw new FramingError(
      'framing.invalid',
      `DFU_GETSTATUS answered ${bytes.length} bytes instead of 6`,
    );
  }
  return {
    status: bytes[0]!,
    pollTimeoutMs: bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16),
    state: bytes[4]!,
    stringIndex: bytes[5]!,
  };
}

/** Encodes a DFU_GETSTATUS answer (the device side, for simulators). */
export function encodeStatus(report: DfuStatusReport): Uint8Array {
  const t = report.pollTimeoutMs;
  if (!Number.isInteger(t) || t < 0 || t > 0xffffff)
    throw new RangeError('pollTimeoutMs must be 0..0xFFFFFF');
  return new Uint8Array([
    report.status,
    t & 0xff,
    (t >> 8) & 0xff,
    (t >> 16) & 0xff,
    report.state,
    report.stringIndex,
  ]);
}
