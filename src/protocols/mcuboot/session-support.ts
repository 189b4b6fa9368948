/**
 * Helpers of the MCUboot session (driver.ts): opening a port that may have re-enumerated,
 * syncing with echo, retrying steps that may be repeated, optional commands.
 */
import type { Clock } from '../../core/clock.ts';
import type { DeviceIdentity } from '../driver.ts';
import { ProtocolError, TransportError, WebflashError } from '../../core/errors.ts';
import type { SerialLink, SerialPortHandle } from '../../transport/link.ts';
import type { ImageSlotState, SmpClient } from './client.ts';
import { MgmtErr, SmpError } from './errors.ts';
import type { McubootDriverOptions } from './driver.ts';
import { toHex } from '../../core/bytes.ts';

/**
 * Opens the port, following it to its new identity when a watcher is given. `left`: the board
 * is known to have left the bus (it reset, or its cable was pulled), so an open that fails at
 * all — Web Serial rejects `open()` on a vanished port with NetworkError, `transport.open-failed`
 * — means its port is gone, not busy.
 */
export async function openPort(
  port: SerialPortHandle,
  o: McubootDriverOptions,
  s: { clock: Clock; signal?: AbortSignal | undefined; baudRate?: number | undefined },
  waitMs: number,
  left = false,
): Promise<{ port: SerialPortHandle; link: SerialLink }> {
  try {
    return { port, link: await port.open({ baudRate: s.baudRate ?? o.baudRate ?? 115_200 }) };
  } catch (err) {
    const gone =
      err instanceof TransportError &&
      (err.code === 'transport.device-lost' || (left && err.code === 'transport.open-failed'));
    if (!gone || !o.portWatcher) throw err;
    const back = await o.portWatcher.waitForReturn(port, { timeoutMs: waitMs, signal: s.signal });
    return { port: back, link: await back.open({ baudRate: s.baudRate ?? o.baudRate ?? 115_200 }) };
  }
}

/**
 * Runs `step`; after a timeout or a damaged reply, drops what is buffered, syncs with echo and
 * runs it again (3 tries). For steps that may be repeated: reads, marking for test, confirming.
 */
export async function retrying<T>(
  client: SmpClient,
  step: () => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      const transient =
        err instanceof WebflashError &&
        (err.code === 'timeout' ||
          err.code === 'protocol.bad-reply' ||
          err.code.startsWith('framing.'));
      if (!transient || attempt >= 5 || signal?.aborted) throw err;
      client.reader.discard();
      await syncClient(client, signal, 3);
    }
  }
}

/** Echo until the board answers. */
export async function syncClient(
  client: SmpClient,
  signal: AbortSignal | undefined,
  attempts: number,
): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await client.echo('webflash', { signal, timeoutMs: 1000 });
      return;
    } catch (err) {
      if (!(err instanceof WebflashError) || err.code !== 'timeout') throw err;
      if (i >= attempts) {
        throw new ProtocolError(
          'protocol.no-sync',
          'The board does not answer SMP (MCUmgr) on this port.',
          {
            cause: err,
            hints: [
              'Check that the firmware runs MCUmgr over this serial port, or hold the recovery button while resetting the board to start MCUboot serial recovery.',
            ],
          },
        );
      }
      client.reader.discard();
    }
  }
}

/** Runs an optional command: a board without it (ENOTSUP, or no answer) gives undefined. */
export async function optional<T>(step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof SmpError && (err.rc === MgmtErr.ENOTSUP || err.smpGroup !== undefined))
      return undefined;
    throw err;
  }
}

export function describeSlot(e: ImageSlotState): string {
  const flags = (['active', 'confirmed', 'pending', 'permanent'] as const).filter((f) => e[f]);
  return `${e.version}${flags.length ? ` (${flags.join(', ')})` : ''}${e.hash ? ` ${toHex(e.hash).slice(0, 16)}…` : ''}`;
}

/** The details key of one state-list entry: "Image 0 slot 1". */
const SLOT_KEY = /^Image \d+ slot \d+$/;

/**
 * `identity` with its image list replaced by `states` (one "Image N slot M" detail each, in
 * the board's order): what the device panel shows before the upload and after the restart.
 */
export function withImageList(
  identity: DeviceIdentity,
  states: readonly ImageSlotState[],
): DeviceIdentity {
  const details: Record<string, string> = {};
  for (const [k, v] of Object.entries(identity.details ?? {}))
    if (!SLOT_KEY.test(k)) details[k] = v;
  for (const e of states) details[`Image ${e.image} slot ${e.slot}`] = describeSlot(e);
  return { ...identity, details };
}

/** How long the driver waits for the board. */
export interface McubootTimeouts {
  /** One SMP reply. Default 3000 ms. */
  reply: number;
  /** The first upload chunk (the board may erase the slot first). Default 30 000 ms. */
  firstChunk: number;
  /** From the reset to the application answering again (MCUboot swaps first). Default 60 000 ms. */
  reboot: number;
}

export const DEFAULT_TIMEOUTS: McubootTimeouts = {
  reply: 3000,
  firstChunk: 30_000,
  reboot: 60_000,
};
