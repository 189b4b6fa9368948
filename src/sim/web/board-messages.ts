/**
 * The messages between simulated boards running in a Web Worker (board-host.ts) and the page's
 * fake Web Serial and WebUSB (remote-boards.ts). One ordered channel carries them all, so the
 * page sees the boards' events in the order they happened on the worker's clock. Byte payloads
 * travel as transferred buffers.
 */
import type { PortInfo, SerialSignals } from '../../transport/link.ts';
import type { UsbConfigurationInfo, UsbSetup } from '../../transport/usb.ts';
import type { InputSignals, LineErrorKind, SimOpenOptions } from '../sim-link.ts';
import type { SimDeviceIdentity, SimInResult, SimOutResult } from '../usb/sim-usb-device.ts';

/** An error crossing the channel: a TransportError (or any Error) by name, code and words. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  hints?: string[];
}

/** A call the page makes; answered by one `reply` with the same `call` number. */
export type BoardCall =
  | { op: 'connect'; port: number; options: SimOpenOptions }
  | { op: 'write'; conn: number; data: Uint8Array }
  | { op: 'usb-control-in'; device: number; setup: UsbSetup; length: number }
  | { op: 'usb-control-out'; device: number; setup: UsbSetup; data: Uint8Array }
  | { op: 'usb-set-configuration'; device: number; value: number }
  | { op: 'usb-set-interface'; device: number; interfaceNumber: number; alternate: number }
  | { op: 'usb-bus-reset'; device: number };

/** What the page sends to the boards. */
export type ToBoards =
  | { kind: 'call'; call: number; body: BoardCall }
  | { kind: 'signals'; conn: number; signals: SerialSignals }
  | { kind: 'reconfigure'; conn: number; options: SimOpenOptions }
  | { kind: 'close'; conn: number }
  | { kind: 'usb-configuration-value'; device: number; value: number };

/** The answer to a call. */
export type CallResult =
  | { conn: number; inputSignals: InputSignals; signals: Required<SerialSignals> }
  | SimInResult
  | SimOutResult
  | undefined;

/** What the boards send to the page. */
export type FromBoards =
  | { kind: 'reply'; call: number; ok: true; result: CallResult }
  | { kind: 'reply'; call: number; ok: false; error: WireError }
  | { kind: 'wire'; wire: number; label: string | undefined; permitted: boolean }
  | { kind: 'wire-removed'; wire: number }
  | { kind: 'port'; wire: number; port: number; change: 'connect' | 'disconnect'; info: PortInfo }
  | { kind: 'data'; conn: number; data: Uint8Array }
  | { kind: 'line-error'; conn: number; error: LineErrorKind }
  | { kind: 'lost'; conn: number; error: WireError }
  | {
      kind: 'usb-attach';
      device: number;
      identity: SimDeviceIdentity;
      configurations: UsbConfigurationInfo[];
      configurationValue: number;
      label: string | undefined;
    }
  | { kind: 'usb-detach'; device: number }
  | { kind: 'usb-grant'; vendorId: number; productId: number; serialNumber: string | undefined };

/** An error as it crosses the channel. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; hints?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(Array.isArray(e.hints) ? { hints: e.hints.map(String) } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** One side of the channel: a Worker, the worker's global scope, or a MessagePort. */
export interface Endpoint<In, Out> {
  postMessage(message: Out, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<In>) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent<In>) => void): void;
}
