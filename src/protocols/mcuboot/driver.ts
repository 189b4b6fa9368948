/**
 * The 'mcuboot-smp' protocol driver: a FlashSession (src/protocols/driver.ts) over SMP (MCUmgr)
 * on a serial or USB CDC ACM port, with a Zephyr application's MCUmgr or MCUboot's own serial
 * recovery at the other end.
 *
 * connect: echo until the board answers; MCUmgr parameters (buffer size for the chunks);
 * bootloader info and the image state list tell the application from serial recovery; OS info
 * "p" names the chip. write: the image is parsed and its SHA-256 TLV checked before anything
 * is sent; an image already active or pending (same hash in the state list) is not sent again;
 * otherwise it is uploaded (upload.ts), resuming from the board's offset after a fault.
 * verify: the state list shows the image's hash. reset (application): test → reset → wait for
 * the port to come back → the new image is active and unconfirmed → confirm it, or leave that
 * to the application; in serial recovery the image is already in the primary slot: reset only.
 */
import { equalBytes, toHex } from '../../core/bytes.ts';
import { sleep, type Clock } from '../../core/clock.ts';
import { TransportError, VerificationError, WebflashError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { PortWatcher, SerialLink, SerialPortHandle } from '../../transport/link.ts';
import {
  confirmedBytesOf,
  type DeltaUnit,
  type DeviceIdentity,
  type FlashRegion,
  type FlashSession,
  type InstalledFirmware,
  type SessionOptions,
  type WriteOptions,
} from '../driver.ts';
import { SmpClient, type ImageSlotState } from './client.ts';
import { parseMcubootImage, type McubootImage } from './image.ts';
import { uploadImage } from './upload.ts';
import {
  describeSlot,
  openPort,
  optional,
  retrying,
  syncClient,
  withImageList,
  DEFAULT_TIMEOUTS,
  type McubootTimeouts,
} from './session-support.ts';

const MCUBOOT_PROTOCOL = 'mcuboot-smp' as const;

/** Who confirms a test image once it runs: this updater, or the application itself. */
type ConfirmPolicy = 'host' | 'application';

export interface McubootDriverOptions {
  /** Line speed (a CDC ACM port ignores it). Default 115200. */
  baudRate?: number;
  /** Finds the port again after the board re-enumerated (reset, unplug). */
  portWatcher?: PortWatcher;
  /** Chip id when the board cannot tell (serial recovery has no OS info). */
  chip?: string;
  /** Default confirmation policy; a region's `confirm` (from the bundle target) wins. Default 'host'. */
  confirm?: ConfirmPolicy;
  timeouts?: Partial<McubootTimeouts>;
}

interface McubootConnectOptions extends SessionOptions {
  baudRate?: number | undefined;
}

export interface McubootDriver {
  readonly id: typeof MCUBOOT_PROTOCOL;
  readonly protocol: typeof MCUBOOT_PROTOCOL;
  connect(port: SerialPortHandle, options: McubootConnectOptions): Promise<McubootSession>;
}

/** Builds a driver. @example new FlashJob({ connector: createMcubootDriver({ portWatcher }), … }) */
export function createMcubootDriver(driverOptions: McubootDriverOptions = {}): McubootDriver {
  return {
    id: MCUBOOT_PROTOCOL,
    protocol: MCUBOOT_PROTOCOL,
    connect: (port, options) => McubootSession.open(port, driverOptions, options),
  };
}

/** Buffer assumed when the board does not report MCUmgr parameters. */
const FALLBACK_BUF_SIZE = 256;

type Mode = 'application' | 'recovery';

class McubootSession implements FlashSession {
  identity: DeviceIdentity;
  private link: SerialLink;
  private port: SerialPortHandle;
  client: SmpClient;
  private mode: Mode;
  private bufSize: number;
  private readonly o: McubootDriverOptions;
  private readonly t: McubootTimeouts;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Images written (or found pending) in this session, by image number. */
  private readonly written = new Map<
    number,
    { hash: Uint8Array; uploaded: boolean; confirm: ConfirmPolicy }
  >();

  private constructor(init: {
    port: SerialPortHandle;
    link: SerialLink;
    client: SmpClient;
    mode: Mode;
    bufSize: number;
    identity: DeviceIdentity;
    o: McubootDriverOptions;
    session: SessionOptions;
  }) {
    this.port = init.port;
    this.link = init.link;
    this.client = init.client;
    this.mode = init.mode;
    this.bufSize = init.bufSize;
    this.identity = init.identity;
    this.o = init.o;
    this.t = { ...DEFAULT_TIMEOUTS, ...init.o.timeouts };
    this.clock = init.session.clock;
    this.log = init.session.logger ?? silentLogger;
  }

  static async open(
    port: SerialPortHandle,
    o: McubootDriverOptions,
    s: McubootConnectOptions,
  ): Promise<McubootSession> {
    const t = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
    const opened = await openPort(port, o, s, t.reboot);
    try {
      const log = s.logger ?? silentLogger;
      const client = new SmpClient(opened.link, {
        clock: s.clock,
        logger: log,
        timeoutMs: t.reply,
      });
      // A board that just reset may still be starting: give it a few seconds.
      await syncClient(client, s.signal, 5);
      const again = <T>(step: () => Promise<T>): Promise<T> => retrying(client, step, s.signal);
      const params = await again(() => optional(() => client.mcumgrParams({ signal: s.signal })));
      const bufSize = params?.bufSize ?? FALLBACK_BUF_SIZE;
      const bootloader = await again(() =>
        optional(() => client.bootloaderInfo(undefined, { signal: s.signal })),
      );
      const states = await again(() => client.imageState({ signal: s.signal }));
      const mode: Mode =
        bootloader !== undefined || states.some((e) => e.active) ? 'application' : 'recovery';
      // OS info names the CPU core ('p', "cortex-m4") and the board ('i', CONFIG_BOARD, e.g.
      // "nrf52840dk" or "nrf5340dk/nrf5340/cpuapp"), not the chip a bundle targets: the chip
      // comes from the driver options, else from a board target's SoC part.
      const platform =
        mode === 'application'
          ? await again(() => optional(() => client.osInfo('pi', { signal: s.signal })))
          : undefined;
      const [processor, board] = platform?.split(' ') ?? [];
      const chip = o.chip ?? board?.split('/')[1]?.split('@')[0] ?? board ?? 'mcuboot';
      const details: Record<string, string> = {
        Mode: mode === 'application' ? 'application with MCUmgr' : 'MCUboot serial recovery',
        'SMP version': client.version === 1 ? '2' : '1',
        ...(board ? { Board: board } : {}),
        ...(processor ? { Processor: processor } : {}),
        'SMP buffer': params
          ? `${params.bufSize} bytes × ${params.bufCount}`
          : `not reported (using ${bufSize})`,
      };
      const identity = withImageList(
        {
          protocol: MCUBOOT_PROTOCOL,
          chip,
          name: `${chip} (${mode === 'application' ? 'MCUboot, application with MCUmgr' : 'MCUboot serial recovery'})`,
          details,
        },
        states,
      );
      for (const e of states) log.info(`Image ${e.image} slot ${e.slot}: ${describeSlot(e)}.`);
      if (typeof bootloader?.['bootloader'] === 'string')
        identity.bootloaderVersion = bootloader['bootloader'];
      log.info(`Connected to ${identity.name}; SMP buffer ${bufSize} bytes.`);
      return new McubootSession({
        port: opened.port,
        link: opened.link,
        client,
        mode,
        bufSize,
        identity,
        o,
        session: s,
      });
    } catch (err) {
      await opened.link.close().catch(() => undefined);
      throw err;
    }
  }

  async readInstalledFirmware(signal?: AbortSignal): Promise<InstalledFirmware | undefined> {
    const states = await this.again(() => this.client.imageState({ signal }));
    const running = states.find((e) => e.image === 0 && e.slot === 0);
    return running ? { version: running.version } : undefined;
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    const image = parseMcubootImage(region.data);
    const n = region.slot ?? 0;
    const confirm = region.confirm ?? this.o.confirm ?? 'host';
    const fresh = (options.resumeFrom ?? 0) === 0;
    if (fresh && (await this.alreadyThere(region, image, n, confirm, options))) {
      return reportWhole(region, 'write', options);
    }
    if (fresh) {
      const hash = toHex(image.hash).slice(0, 16);
      this.log.info(`Uploading ${region.name} ${image.versionText} (image ${n}, hash ${hash}…).`);
    }
    let resumeFrom = options.resumeFrom ?? 0;
    for (let reconnects = 0; ; reconnects++) {
      try {
        await uploadImage({
          client: this.client,
          data: region.data,
          image: n,
          bufSize: this.bufSize,
          resumeFrom,
          name: region.name,
          log: this.log,
          signal: options.signal,
          onProgress: options.onProgress,
          firstChunkTimeoutMs: this.t.firstChunk,
          isComplete: async () => this.listed(n, image.hash, options.signal),
        });
        break;
      } catch (err) {
        // A board that reset or was unplugged comes back as a new port: follow it and go on
        // from what it says it has (it answers offset 0 when it lost the upload).
        const lost =
          err instanceof WebflashError &&
          (err.code === 'transport.device-lost' || err.code === 'transport.closed');
        if (!lost || reconnects >= 3 || options.signal?.aborted) throw err;
        resumeFrom = confirmedBytesOf(err) ?? resumeFrom;
        this.log.warn(
          `The board went away at byte ${resumeFrom} of ${region.name}; waiting for it.`,
        );
        try {
          await this.reconnect();
        } catch {
          throw err;
        }
      }
    }
    this.written.set(n, { hash: image.hash, uploaded: true, confirm });
  }

  /**
   * Delta update: the whole image is one unit, unchanged when the state list shows its hash
   * active or pending (recovery: in the primary slot); then nothing is sent.
   */
  async compareUnits(region: FlashRegion, options: WriteOptions): Promise<DeltaUnit[]> {
    const image = parseMcubootImage(region.data);
    const confirm = region.confirm ?? this.o.confirm ?? 'host';
    const same = await this.alreadyThere(region, image, region.slot ?? 0, confirm, options);
    reportWhole(region, 'compare', options); // the hash check is one step
    return [{ start: 0, end: region.data.length, unchanged: same }];
  }

  /** An image already active or pending (recovery: in the primary slot) is not sent again. */
  private async alreadyThere(
    region: FlashRegion,
    image: McubootImage,
    n: number,
    confirm: ConfirmPolicy,
    options: WriteOptions,
  ): Promise<boolean> {
    const states = await this.again(() => this.client.imageState({ signal: options.signal }));
    const same = states.find((e) => e.image === n && e.hash && equalBytes(e.hash, image.hash));
    if (!same || !(same.active || same.pending || (this.mode === 'recovery' && same.slot === 0))) {
      return false;
    }
    const where = same.active
      ? 'running'
      : same.pending
        ? 'waiting to be started'
        : 'in the primary slot';
    this.log.info(
      `${region.name} ${image.versionText} is already on the device (${where}, same hash); nothing to send.`,
    );
    this.written.set(n, { hash: image.hash, uploaded: false, confirm });
    return true;
  }

  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    const image = parseMcubootImage(region.data);
    const n = region.slot ?? 0;
    const states = await this.again(() => this.client.imageState({ signal: options.signal }));
    if (!states.some((e) => this.holds(e, n, image.hash))) {
      throw new VerificationError(
        `${region.name}: the board does not list an image with hash ${toHex(image.hash).slice(0, 16)}… after the upload.`,
        {
          hints: [
            'The board refused the image (header or TLVs); check that it was signed for this board, then write it again.',
          ],
        },
      );
    }
    options.onProgress?.({
      phase: 'verify',
      region: region.name,
      bytesDone: region.data.length,
      bytesTotal: region.data.length,
    });
  }

  async resync(signal?: AbortSignal): Promise<void> {
    this.client.reader.discard();
    await syncClient(this.client, signal, 3);
  }

  /** Test → reset → reconnect → check → confirm (application); reset only in serial recovery. */
  async reset(): Promise<void> {
    if (this.mode === 'recovery') {
      await this.resetBoard();
      return;
    }
    const entries = [...this.written.entries()];
    const states = await this.again(() => this.client.imageState());
    const toTest = entries.filter(
      ([n, w]) =>
        !states.some(
          (e) => e.image === n && e.hash && equalBytes(e.hash, w.hash) && (e.active || e.pending),
        ),
    );
    const needBoot = entries.some(
      ([n, w]) =>
        !states.some((e) => e.image === n && e.active && e.hash && equalBytes(e.hash, w.hash)),
    );
    for (const [n, w] of toTest) {
      this.log.info(`Marking image ${n} for test.`);
      await this.again(() => this.client.setImageState({ hash: w.hash, confirm: false }));
    }
    let after = states;
    // A board still listing an image as pending did not restart (the reset request was lost):
    // ask again.
    for (let tries = 1; needBoot && tries <= 3; tries++) {
      await this.resetBoard();
      await this.reconnect();
      after = await this.again(() => this.client.imageState());
      const stillPending = entries.some(([n, w]) =>
        after.some((e) => e.image === n && e.pending && e.hash && equalBytes(e.hash, w.hash)),
      );
      if (!stillPending) break;
      this.log.warn('The board did not restart; asking it again.');
    }
    for (const [n, w] of entries) {
      const e = after.find((s) => s.image === n && s.slot === 0);
      if (!e?.active || !e.hash || !equalBytes(e.hash, w.hash)) {
        throw new VerificationError(
          `MCUboot did not start the new image ${n}: the board runs ${e?.version ?? 'no image'} (${e?.hash ? toHex(e.hash).slice(0, 16) : '?'}…).`,
          {
            hints: [
              'MCUboot refused the image (signature or hash) or reverted it. Check that it is signed with the key this board trusts.',
            ],
          },
        );
      }
      if (e.confirmed) continue;
      if (w.confirm === 'application') {
        this.log.info(`Image ${n} ${e.version} runs as a test; the application is to confirm it.`);
        continue;
      }
      this.log.info(`Confirming image ${n} ${e.version}.`);
      await this.again(() => this.client.setImageState({ hash: w.hash, confirm: true }));
    }
    // The image list as it stands now, for the device panel.
    const now = await this.again(() => this.client.imageState());
    this.identity = withImageList(this.identity, now);
    for (const e of now) this.log.info(`Image ${e.image} slot ${e.slot}: ${describeSlot(e)}.`);
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * Whether a state-list entry holds image `n` with `hash` where the upload puts it: any slot
   * in the application (it uploads to slot 1), the primary slot in serial recovery (which
   * lists only images that validate).
   */
  private holds(e: ImageSlotState, n: number, hash: Uint8Array): boolean {
    return (
      e.image === n &&
      e.hash !== undefined &&
      equalBytes(e.hash, hash) &&
      (this.mode === 'application' || e.slot === 0)
    );
  }

  /** Reads the state list: is image `n` with `hash` on the board? */
  private async listed(
    n: number,
    hash: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const states = await this.again(() => this.client.imageState({ signal }));
    return states.some((e) => this.holds(e, n, hash));
  }

  /** Runs a read-only or idempotent step again after a lost or damaged reply. */
  private again<T>(step: () => Promise<T>): Promise<T> {
    return retrying(this.client, step, undefined);
  }

  /**
   * Sends reset and waits for the board to go: Zephyr and MCUboot reset 250 ms after their
   * reply (CONFIG_MCUMGR_GRP_OS_RESET_MS), and a USB CDC ACM port vanishes then. A port behind a
   * USB-UART bridge stays; then the wait simply ends.
   */
  private async resetBoard(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let lost = false;
      const gone = new Promise<void>((resolve) => {
        const off = this.link.onLost(() => {
          lost = true;
          off();
          resolve();
        });
        void sleep(this.clock, 2000).then(() => {
          off();
          resolve();
        });
      });
      let replied = false;
      try {
        await this.client.reset();
        replied = true;
      } catch (err) {
        const quiet =
          err instanceof WebflashError &&
          (err.code === 'timeout' || err.code === 'transport.device-lost');
        if (!quiet) throw err;
        this.log.debug(`No reply to reset (${err.message}).`);
      }
      await gone;
      if (lost || replied || attempt >= 3) {
        this.log.debug(
          lost ? 'The board left the bus.' : 'The port stayed while the board restarts.',
        );
        return;
      }
      // No reply and the port is still there: the request itself was probably lost.
      this.client.reader.discard();
    }
  }

  /** Waits for the board to answer again after a reset (the port may come back as a new one). */
  private async reconnect(): Promise<void> {
    const deadline = this.clock.now() + this.t.reboot;
    await this.link.close().catch(() => undefined);
    for (;;) {
      await sleep(this.clock, 250);
      let link: SerialLink | undefined;
      try {
        const left = Math.max(1, deadline - this.clock.now());
        const opened = await openPort(this.port, this.o, { clock: this.clock }, left, true);
        link = opened.link;
        const client = new SmpClient(link, {
          clock: this.clock,
          logger: this.log,
          timeoutMs: this.t.reply,
          version: this.client.version,
        });
        await syncClient(client, undefined, 1);
        this.port = opened.port;
        this.link = link;
        this.client = client;
        this.log.info('The board answers again after the reset.');
        return;
      } catch (err) {
        await link?.close().catch(() => undefined);
        if (this.clock.now() >= deadline) {
          throw new TransportError(
            'transport.device-lost',
            `The board did not come back within ${this.t.reboot / 1000} s of the reset.`,
            {
              cause: err,
              hints: ['Unplug and replug the board, then connect again.'],
            },
          );
        }
      }
    }
  }
}

/** Reports all of `region` done in `phase`, for a step that is one step here. */
function reportWhole(region: FlashRegion, phase: 'compare' | 'write', o: WriteOptions): void {
  const total = region.data.length;
  o.onProgress?.({ phase, region: region.name, bytesDone: total, bytesTotal: total });
}
