/**
 * Bench boards slice: one tile per board on the bench, one FlashJob per board, all at once in
 * one tab. In hands-off mode every granted serial port or USB device that connects (Web Serial
 * or WebUSB `connect` event) is provisioned with the bench's release without a click; a board
 * that restarts and re-enumerates is followed to its new port (follow.ts; USB devices by their
 * serial number), and a board already provisioned with this release is recognised by its
 * unique id and left alone (run-job.ts).
 */
import type { VerifiedBundle } from '../../bundle/verify.ts';
import type { ProtocolId } from '../../protocols/driver.ts';
import { changesUsbIdentity } from '../../protocols/registry.ts';
import { toErrorView } from '../../app/error-view.ts';
import type { ProgressEvent } from '../../job/types.ts';
import { FollowTracker, usbBoardBack, type FollowedPort } from './follow.ts';
import { PROGRESS_INTERVAL_MS, ProgressBatch } from './progress-batch.ts';
import { runBoardJob, type BoardJobEnd, type BoardJobOptions } from './run-job.ts';
import type { BenchSlice, BenchState } from './slice.ts';
import type { BenchPort, BenchRecord, BenchServices, PortChange, Tile } from './types.ts';
import { grantFilters, planSerialBoard, planUsbBoard } from './board-plan.ts';

type PortRef = Pick<
  BenchPort,
  'id' | 'label' | 'usbVendorId' | 'usbProductId' | 'usbSerialNumber' | 'transport'
>;

export interface BoardsSlice {
  /** Boards on the bench, in order of appearance. */
  tiles: readonly Tile[];
  /** True while new boards are flashed as soon as they appear. */
  handsOff: boolean;
  /** True once the store follows the granted ports (`attachPorts`). */
  attached: boolean;
  /** True when this bench also takes USB DFU and DfuSe boards (WebUSB). */
  usbSupported: boolean;
  /** Lists the granted ports and USB devices and follows their connect/disconnect events. */
  attachPorts: () => Promise<void>;
  /** Stops following ports (running jobs go on). */
  detachPorts: () => void;
  /** Asks the browser for one more port (a user gesture). Resolves true when one was granted. */
  grantPort: () => Promise<boolean>;
  /**
   * Asks the browser for one more USB device (a user gesture), offering the devices the
   * release has USB targets for. Resolves true when one was granted.
   */
  grantUsbDevice: () => Promise<boolean>;
  /**
   * Turns hands-off mode on: every waiting board, and every board that connects from now on, is
   * flashed. Refused (false) without a verified release.
   */
  startHandsOff: () => boolean;
  /** Turns hands-off mode off; running jobs finish. */
  stopHandsOff: () => void;
  /** Flashes one board now (a waiting board, or again after a failure). False if it cannot. */
  provision: (tileId: string) => boolean;
  /** Cancels one board's job. */
  cancel: (tileId: string) => void;
  /** Cancels every running job. */
  cancelAll: () => void;
  /** Removes a board's tile (not while it is being flashed). */
  dismiss: (tileId: string) => void;
  /** Removes every finished board that is no longer plugged in. */
  clearUnplugged: () => void;
}

/** A board job's options apart from the port and the connector. */
type CommonJobOptions = Omit<BoardJobOptions<unknown>, 'handle' | 'connector'>;

interface JobStarter {
  protocol: ProtocolId | undefined;
  run(common: CommonJobOptions): Promise<BoardJobEnd>;
}

const DEFAULT_FOLLOW_WINDOW_MS = 5000;

/** The tile's note when its board came back on a new port, during its job or after it. */
const followNotice = (t: Tile): string =>
  t.state === 'running'
    ? 'Re-enumerated during the update; followed to its new USB identity.'
    : 'Restarted into the new firmware; followed to its new port.';

/** What a tile's batched progress changes. */
type TileProgress = Partial<Pick<Tile, 'progress' | 'phase'>>;
const verified = (p: ProgressEvent): boolean =>
  p.phase === 'verifying' && p.bytesDone >= p.bytesTotal;

function newTile(id: string, port: BenchPort, now: number): Tile {
  return {
    id,
    portId: port.id,
    portLabel: port.label,
    transport: port.transport ?? 'serial',
    usbVendorId: port.usbVendorId,
    usbProductId: port.usbProductId,
    usbSerialNumber: port.usbSerialNumber,
    protocol: undefined,
    connected: true,
    state: 'waiting',
    phase: 'idle',
    progress: undefined,
    chip: undefined,
    chipName: undefined,
    // A USB device names itself before it is opened; a serial port does not.
    uniqueId: port.usbSerialNumber,
    durationMs: undefined,
    error: undefined,
    recovery: undefined,
    notice: undefined,
    attempts: 0,
    followed: 0,
    createdAt: now,
  };
}

export function createBoardsSlice(services: BenchServices): BenchSlice<BoardsSlice> {
  return (set, get) => {
    const tracker = new FollowTracker({
      windowMs: services.followWindowMs ?? DEFAULT_FOLLOW_WINDOW_MS,
    });
    const ports = new Map<string, BenchPort>();
    /** Port id → the tile whose board is on it. */
    const owner = new Map<string, string>();
    /** Tile id → the port it was followed to and has not been identified on since. */
    const followedTo = new Map<string, string>();
    const jobs = new Map<string, AbortController>();
    const progress = new ProgressBatch<TileProgress>(
      services.clock,
      PROGRESS_INTERVAL_MS,
      (b) =>
        set((s) => ({
          tiles: s.tiles.map((t) => (b.has(t.id) ? { ...t, ...b.get(t.id) } : t)),
        })),
      (queued, next) => ({ ...queued, ...next }),
    );
    /** Tile id → when its board last left the bus (services clock). */
    const leftAt = new Map<string, number>();
    const followWindowMs = services.followWindowMs ?? DEFAULT_FOLLOW_WINDOW_MS;
    let nextTile = 1;
    let unwatch: (() => void) | undefined;

    const tile = (id: string): Tile | undefined => get().tiles.find((t) => t.id === id);
    /** Changes tile `id`, after the progress still queued for it. */
    const update = (id: string, patch: Partial<Tile> | ((t: Tile) => Partial<Tile>)): void => {
      const queued = progress.take(id);
      set((s) => ({
        tiles: s.tiles.map((t) => {
          if (t.id !== id) return t;
          const base = queued ? { ...t, ...queued } : t;
          return { ...base, ...(typeof patch === 'function' ? patch(base) : patch) };
        }),
      }));
    };
    const remove = (id: string): void => {
      progress.take(id);
      tracker.forget(id);
      followedTo.delete(id);
      leftAt.delete(id);
      for (const [p, t] of owner) if (t === id) owner.delete(p);
      set((s) => ({ tiles: s.tiles.filter((t) => t.id !== id) }));
    };

    const alreadyDone = (state: BenchState, uniqueId: string | undefined): boolean => {
      const sha = state.bundle.info?.sha256;
      if (!uniqueId || !sha) return false;
      return state.records.some(
        (r) => r.result === 'ok' && r.uniqueId === uniqueId && r.bundleSha256 === sha,
      );
    };

    const addTile = (port: BenchPort): string => {
      const id = `board-${nextTile++}`;
      owner.set(port.id, id);
      set((s) => ({ tiles: [...s.tiles, newTile(id, port, services.clock.now())] }));
      return id;
    };

    /** Moves tile `id` onto `port` (its board came back there, or was found there). */
    const moveTo = (id: string, port: PortRef, notice: string, connected = true): void => {
      for (const [p, t] of owner) if (t === id) owner.delete(p);
      owner.set(port.id, id);
      if (connected) leftAt.delete(id);
      update(id, (t) => ({
        portId: port.id,
        portLabel: port.label,
        usbVendorId: port.usbVendorId,
        usbProductId: port.usbProductId,
        connected,
        followed: t.followed + 1,
        notice,
      }));
    };

    /** The port a tile's board is on, as following needs it. */
    const portOf = (t: Tile): PortRef & FollowedPort => ({
      id: t.portId,
      label: t.portLabel,
      transport: t.transport,
      usbVendorId: t.usbVendorId,
      usbProductId: t.usbProductId,
      usbSerialNumber: t.usbSerialNumber,
    });

    /**
     * Registers that the board of tile `t` may leave the bus and come back as a new port. A USB
     * device with a serial number needs no watch: it is recognised by that (`usbBoardBack`). A
     * USB device, or a serial board whose bootloader is another USB device than its sketch
     * (the Leonardo's Caterina), may come back with another product id.
     */
    const expectBack = (id: string, t: Tile, protocol = t.protocol): void => {
      if (t.transport === 'usb' && t.usbSerialNumber !== undefined) return;
      const anyProduct =
        t.transport === 'usb' || (protocol !== undefined && changesUsbIdentity(protocol));
      tracker.expect(id, portOf(t), services.clock.now(), { anyProduct });
    };

    /** The tile that owns the board with `uniqueId` once it is done (the probe's otherwise). */
    const doneTileOf = (uniqueId: string | undefined, except: string): Tile | undefined =>
      uniqueId === undefined
        ? undefined
        : get().tiles.find((t) => t.id !== except && t.uniqueId === uniqueId && t.state === 'done');

    /**
     * How a board's job starts: over a serial port with the bench's serial connector; over USB
     * with the protocol of the release's targets for the device's USB ids (board-plan.ts).
     */
    const jobStarter = (port: BenchPort, bundle: VerifiedBundle): JobStarter => {
      if (port.transport !== 'usb') {
        const plan = planSerialBoard({
          targets: bundle.manifest.targets,
          info: port.handle.info,
          connectors: services.serialConnectors,
          fallback: services.connector,
        });
        return {
          protocol: plan.protocol,
          run: (common) =>
            runBoardJob({ ...common, handle: port.handle, connector: plan.connector }),
        };
      }
      const plan = planUsbBoard({
        targets: bundle.manifest.targets,
        info: port.handle.info,
        connectors: services.usbConnectors,
      });
      return {
        protocol: plan.protocol,
        run: (common) => runBoardJob({ ...common, handle: port.handle, connector: plan.connector }),
      };
    };

    const onConnect = (port: BenchPort): void => {
      ports.set(port.id, port);
      if (owner.has(port.id)) return;
      const now = services.clock.now();
      const same = usbBoardBack(get().tiles, port, {
        leftAt: (id) => leftAt.get(id),
        now,
        windowMs: followWindowMs,
      });
      if (same) {
        moveTo(same.id, port, followNotice(same));
        return;
      }
      const back = tracker.claim(port, now);
      if (back !== undefined && tile(back)) {
        moveTo(back, port, followNotice(tile(back)!));
        followedTo.set(back, port.id);
        return;
      }
      const id = addTile(port);
      if (get().handsOff) get().provision(id);
    };

    const onDisconnect = (port: BenchPort): void => {
      ports.delete(port.id);
      const now = services.clock.now();
      tracker.offBus(port.id, now);
      const id = owner.get(port.id);
      if (id === undefined) return;
      const t = tile(id);
      if (!t || t.portId !== port.id) return;
      if (t.state === 'waiting') {
        remove(id);
        return;
      }
      leftAt.set(id, now);
      update(id, { connected: false });
    };

    const onChange = (change: PortChange): void =>
      change.type === 'connect' ? onConnect(change.port) : onDisconnect(change.port);

    /** The board on `probeId` turned out to be `done` (already provisioned): merge the tiles. */
    const mergeSkipped = (probeId: string, end: Extract<BoardJobEnd, { kind: 'skipped' }>) => {
      const probe = tile(probeId);
      if (!probe) return;
      const doneTile = doneTileOf(end.identity.uniqueId, probeId);
      const notice = 'Already has this release; restarted and left alone.';
      if (!doneTile) {
        update(probeId, {
          state: 'skipped',
          phase: 'idle',
          chip: end.identity.chip,
          chipName: end.identity.name,
          uniqueId: end.identity.uniqueId,
          notice,
        });
        return;
      }
      // A port followed to `doneTile` earlier was not this board after all: flash it.
      const wrong = followedTo.get(doneTile.id);
      followedTo.delete(doneTile.id);
      remove(probeId);
      moveTo(doneTile.id, portOf(probe), notice, probe.connected);
      if (wrong !== undefined && wrong !== probe.portId && ports.has(wrong)) {
        owner.delete(wrong);
        const id = addTile(ports.get(wrong)!);
        if (get().handsOff) get().provision(id);
      }
    };

    const finish = (id: string, end: BoardJobEnd, startedOn: string): void => {
      if (end.kind === 'skipped') {
        mergeSkipped(id, end);
        return;
      }
      const { result } = end;
      const t = tile(id);
      if (!t) return;
      const identity = result.ok ? result.identity : result.identity;
      const state = result.ok ? 'done' : result.cancelled ? 'cancelled' : 'failed';
      update(id, {
        state,
        phase: result.ok ? 'done' : result.cancelled ? 'cancelled' : 'failed',
        durationMs: result.durationMs,
        error: result.ok ? undefined : toErrorView(result.error),
        recovery: result.ok ? undefined : result.recovery,
        notice: result.ok ? result.notice : undefined,
        ...(identity
          ? { chip: identity.chip, chipName: identity.name, uniqueId: identity.uniqueId }
          : {}),
      });
      const s = get();
      const info = s.bundle.info!;
      const record: BenchRecord = {
        time: services.now().toISOString(),
        tileId: id,
        port: startedOn,
        // A USB board that failed before it was opened is still known by its serial number.
        uniqueId: identity?.uniqueId ?? (t.transport === 'usb' ? t.usbSerialNumber : '') ?? '',
        chip: identity?.chip ?? '',
        product: info.product,
        version: info.version,
        bundleSha256: info.sha256,
        result: state === 'done' ? 'ok' : state === 'cancelled' ? 'cancelled' : 'failed',
        errorCode: result.ok ? null : result.error.code,
        durationMs: Math.round(result.durationMs),
        note: s.note,
      };
      s.addRecord(record);
    };

    return {
      tiles: [],
      handsOff: false,
      attached: false,
      usbSupported: services.usb !== undefined,
      attachPorts: async () => {
        if (unwatch) return;
        const sources = [services.ports, ...(services.usb ? [services.usb] : [])];
        const offs = sources.map((source) => source.watch(onChange));
        unwatch = () => {
          for (const off of offs) off();
        };
        set({ attached: true });
        const lists = await Promise.allSettled(sources.map((source) => source.list()));
        for (const list of lists) {
          if (list.status === 'fulfilled') for (const port of list.value) onConnect(port);
        }
      },
      detachPorts: () => {
        unwatch?.();
        unwatch = undefined;
        set({ attached: false });
      },
      grantPort: async () => {
        try {
          const port = await services.ports.request();
          onConnect(port);
          return true;
        } catch {
          return false;
        }
      },
      grantUsbDevice: async () => {
        if (!services.usb) return false;
        try {
          const targets = get().bundle.verified?.manifest.targets;
          const port = await services.usb.request({ usbFilters: grantFilters(targets) });
          onConnect(port);
          return true;
        } catch {
          return false;
        }
      },
      startHandsOff: () => {
        if (get().bundle.status !== 'verified') return false;
        set({ handsOff: true });
        for (const t of get().tiles)
          if (t.state === 'waiting' && t.connected) get().provision(t.id);
        return true;
      },
      stopHandsOff: () => set({ handsOff: false }),
      provision: (id) => {
        const s = get();
        const t = tile(id);
        const bundle = s.bundle.verified;
        const port = t ? ports.get(t.portId) : undefined;
        if (!t || !bundle || !port || !t.connected || jobs.has(id)) return false;
        const starter = jobStarter(port, bundle);
        const ctl = new AbortController();
        jobs.set(id, ctl);
        tracker.forget(id);
        followedTo.delete(id);
        // Followed: a USB board on DFU_DETACH, a Leonardo after its 1200-baud touch.
        const renames = starter.protocol !== undefined && changesUsbIdentity(starter.protocol);
        if (port.transport === 'usb' || renames) expectBack(id, t, starter.protocol);
        update(id, (x) => ({
          state: 'running',
          phase: 'connecting',
          protocol: starter.protocol,
          progress: undefined,
          error: undefined,
          recovery: undefined,
          notice: undefined,
          durationMs: undefined,
          attempts: x.attempts + 1,
        }));
        const common: CommonJobOptions = {
          services,
          bundle,
          signal: ctl.signal,
          alreadyDone: (identity) => alreadyDone(get(), identity.uniqueId),
          onRestart: (identity) => {
            // Restarted before writing: it belongs to the tile that provisioned it.
            const t = tile(id);
            const to = doneTileOf(identity.uniqueId, id)?.id ?? id;
            if (t) expectBack(to, t);
          },
          on: {
            phase: (e) => {
              progress.add(id, { phase: e.phase });
              // A native-USB board re-enumerates when it restarts: follow it to its new port.
              const t = tile(id);
              if (e.phase === 'resetting' && t) expectBack(id, t);
            },
            progress: (p) => progress.add(id, { progress: p }, verified(p)),
            device: (identity) => {
              // The same board seen before on another tile (plugged in again): one tile per board.
              // A tile whose board is still on the bus is another board with the same id.
              const older = get().tiles.filter(
                (o) =>
                  o.id !== id &&
                  identity.uniqueId !== undefined &&
                  o.uniqueId === identity.uniqueId &&
                  o.state !== 'running' &&
                  !o.connected,
              );
              for (const o of older) remove(o.id);
              update(id, (x) => ({
                chip: identity.chip,
                chipName: identity.name,
                uniqueId: identity.uniqueId,
                attempts: x.attempts + older.reduce((n, o) => n + o.attempts, 0),
              }));
            },
          },
        };
        const startedOn = t.portLabel;
        void starter.run(common).then((end) => {
          jobs.delete(id);
          progress.flush();
          finish(id, end, startedOn);
        });
        return true;
      },
      cancel: (id) => jobs.get(id)?.abort(),
      cancelAll: () => {
        for (const ctl of jobs.values()) ctl.abort();
      },
      dismiss: (id) => {
        if (jobs.has(id)) return;
        remove(id);
      },
      clearUnplugged: () => {
        for (const t of get().tiles) if (!t.connected && !jobs.has(t.id)) remove(t.id);
      },
    };
  };
}
