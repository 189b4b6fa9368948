/**
 * Following boards that re-enumerate. A board with native USB (ESP32-S3/C3/C6 USB-Serial/JTAG)
 * drops off the bus when it restarts into its new firmware and comes back a moment later as a
 * new Web Serial port with the same USB vendor and product id (Web Serial exposes nothing else
 * before the port is opened: spec §"getInfo() method"). The bench must not take that port for a
 * new board and flash it again.
 *
 * After a job restarts a board, the tile registers a watch. The watch is armed when the board's
 * old port disconnects, and the first port with the same USB ids that connects within the
 * window is that board coming back. A port claimed by mistake (another board of the same kind
 * plugged in during those few hundred milliseconds) is caught later by the unique-id check: the
 * real board, then probed, reports a MAC that is already done (see run-job.ts).
 *
 * USB DFU boards re-enumerate too: on DFU_DETACH (DFU 1.1 §5.1, often with another product id)
 * and after manifestation (§7). A USB device with a serial number string is followed by that
 * (`usbBoardBack`); one without by a watch on its vendor id and any product id (`anyProduct`).
 * Serial ports and USB devices never claim each other's watches.
 */
import type { BenchPort, Tile } from './types.ts';

/** USB identity of a port, and how it is reached. */
export interface UsbIds {
  usbVendorId?: number | undefined;
  usbProductId?: number | undefined;
  /** Default 'serial'. */
  transport?: 'serial' | 'usb' | undefined;
}

/** A port, as far as following needs it. */
export interface FollowedPort extends UsbIds {
  id: string;
}

interface Watch {
  tileId: string;
  /** The port the board was on when it restarted. */
  portId: string;
  transport: 'serial' | 'usb';
  usbVendorId: number;
  usbProductId: number | undefined;
  /** The board may come back with another product id (DFU mode switch). */
  anyProduct: boolean;
  /** When the watch was registered (clock ms). */
  since: number;
  /** When the board's old port went away; undefined while it is still on the bus. */
  offBusAt: number | undefined;
}

export interface FollowTrackerOptions {
  /**
   * How long after leaving the bus a board may come back and still be followed; also how long
   * after the restart it may take to leave. Milliseconds.
   */
  windowMs: number;
}

/** Remembers which boards are expected back on a new port. */
export class FollowTracker {
  private watches: Watch[] = [];

  constructor(private readonly options: FollowTrackerOptions) {
    if (!(options.windowMs > 0)) throw new RangeError('FollowTracker: windowMs must be > 0');
  }

  /**
   * The board on `port` is being restarted and may come back as a new port; it belongs to
   * `tileId`. Replaces an older watch of that tile. With `anyProduct` the board may come back
   * with another USB product id of the same vendor (a DFU device switching modes).
   */
  expect(
    tileId: string,
    port: FollowedPort,
    now: number,
    options: { anyProduct?: boolean } = {},
  ): void {
    if (port.usbVendorId === undefined) return;
    this.forget(tileId);
    this.watches.push({
      tileId,
      portId: port.id,
      transport: port.transport ?? 'serial',
      usbVendorId: port.usbVendorId,
      usbProductId: port.usbProductId,
      anyProduct: options.anyProduct ?? false,
      since: now,
      offBusAt: undefined,
    });
  }

  /** The port `portId` disconnected: a board restarted from it has left the bus. */
  offBus(portId: string, now: number): void {
    this.expire(now);
    for (const w of this.watches)
      if (w.portId === portId && w.offBusAt === undefined) w.offBusAt = now;
  }

  /**
   * A port with `ids` connected: the tile whose board this is coming back, or undefined for a
   * new board. The watch is used up. The board that left the bus first is matched first.
   */
  claim(ids: UsbIds, now: number): string | undefined {
    this.expire(now);
    if (ids.usbVendorId === undefined) return undefined;
    let best: Watch | undefined;
    for (const w of this.watches) {
      if (w.offBusAt === undefined) continue;
      if (w.transport !== (ids.transport ?? 'serial')) continue;
      if (w.usbVendorId !== ids.usbVendorId) continue;
      if (!w.anyProduct && w.usbProductId !== ids.usbProductId) continue;
      if (!best || w.offBusAt < best.offBusAt!) best = w;
    }
    if (!best) return undefined;
    this.forget(best.tileId);
    return best.tileId;
  }

  /** Drops the watch of `tileId`, if any. */
  forget(tileId: string): void {
    this.watches = this.watches.filter((w) => w.tileId !== tileId);
  }

  /** Tiles with a live watch (for tests and the UI). */
  pending(now: number): string[] {
    this.expire(now);
    return this.watches.map((w) => w.tileId);
  }

  private expire(now: number): void {
    const win = this.options.windowMs;
    this.watches = this.watches.filter((w) =>
      w.offBusAt === undefined ? now - w.since <= win : now - w.offBusAt <= win,
    );
  }
}

/**
 * The tile whose USB board has come back as `port`: a USB tile off the bus with the same vendor
 * id and serial number string (USB 2.0 §9.6.1 iSerialNumber, which WebUSB gives before the
 * device is opened) that is being flashed — it re-enumerates on DFU_DETACH and after
 * manifestation (DFU 1.1 §5.1, §7) — or that finished and left the bus less than `windowMs` ago
 * (restarting into its firmware). A board back later than that is probed as a new board, and
 * recognised by its unique id as already done (run-job.ts). A tile whose board is still on the
 * bus is never matched: that is another board with the same serial number.
 * @example usbBoardBack(tiles, port, { leftAt: (id) => left.get(id), now, windowMs: 5000 })
 */
export function usbBoardBack(
  tiles: readonly Tile[],
  port: Pick<BenchPort, 'transport' | 'usbVendorId' | 'usbSerialNumber'>,
  options: { leftAt: (tileId: string) => number | undefined; now: number; windowMs: number },
): Tile | undefined {
  if (port.transport !== 'usb' || port.usbSerialNumber === undefined) return undefined;
  return tiles.find((t) => {
    if (t.transport !== 'usb' || t.connected) return false;
    if (t.usbVendorId !== port.usbVendorId || t.usbSerialNumber !== port.usbSerialNumber)
      return false;
    if (t.state === 'running') return true;
    const left = options.leftAt(t.id);
    return (
      (t.state === 'done' || t.state === 'skipped') &&
      left !== undefined &&
      options.now - left <= options.windowMs
    );
  });
}
