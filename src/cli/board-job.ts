/**
 * One board's flash from the command line: the protocol chosen through the protocol registry
 * (the bundle's targets, the port's USB ids, or `--protocol`), its driver built by `driverFor`
 * with the line-speed policy, and the job run by `runFlashJob` — the same runner, engine,
 * verification and release policy as the browser faces. Only the transport differs.
 */
import type { DowngradeOverride } from '../bundle/rollback.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { fromVerifiedBundle } from '../job/bundle-source.ts';
import { recoveryAdvice, type RecoveryContext } from '../job/recovery.ts';
import { runFlashJob, type JobListeners } from '../job/runner.ts';
import type { JobResult, JobSettings } from '../job/types.ts';
import { chooseUsbProtocol, dfuTargetFor } from '../protocols/dfu/usb-targets.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { BaudSetting } from '../protocols/link-speed.ts';
import {
  chooseSerialProtocol,
  driverFor,
  hintForUsbIds,
  targetChipFor,
  type SerialChoice,
} from '../protocols/registry.ts';
import type { PortWatcher, SerialPortHandle } from '../transport/link.ts';
import type { UsbDeviceHandle, UsbDeviceWatcher } from '../transport/usb.ts';

/**
 * The technician's recovery words (src/job/recovery.ts), with the command line's action in
 * place of the Flash button.
 */
function cliAdvice(ctx: RecoveryContext): string {
  return recoveryAdvice(ctx)
    .replaceAll('press Flash again', 'run the same webflash command again')
    .replaceAll('Press Flash again', 'Run the same webflash command again')
    .replaceAll('pressing Flash again', 'running the same webflash command again');
}

/** What every board job of one command shares. */
export interface BoardJobContext {
  bundle: VerifiedBundle;
  rollbackStore: RollbackStore;
  override?: DowngradeOverride | undefined;
  /** The bundle target's board id, for products whose targets share a chip. */
  board?: string | undefined;
  clock: Clock;
  logger: Logger;
  settings: JobSettings;
}

/** The context of every board's job from the shared command-line options. */
export function boardJobContext(o: {
  bundle: VerifiedBundle;
  rollbackStore: RollbackStore;
  override: DowngradeOverride | undefined;
  board: string | undefined;
  clock: Clock;
  logger: Logger;
  baud: BaudSetting | undefined;
  /** `--no-delta`: write every block, without asking the board what it holds. */
  noDelta?: boolean | undefined;
}): BoardJobContext {
  const { baud, noDelta, ...rest } = o;
  const settings: JobSettings = baud === undefined ? {} : { baudRate: baud };
  if (noDelta) settings.delta = false;
  return { ...rest, settings };
}

/** The serial protocol for a port: `--protocol`, else the bundle's targets and the port's USB ids. */
export function serialProtocolFor(
  bundle: VerifiedBundle,
  info: SerialPortHandle['info'],
  choice: SerialChoice,
): ProtocolId {
  return chooseSerialProtocol({
    targets: bundle.manifest.targets,
    choice,
    hint: hintForUsbIds('serial', {
      vendorId: info.usbVendorId,
      productId: info.usbProductId,
    })?.protocol,
  });
}

/**
 * Flashes the board on a serial port. Never rejects for a failed flash.
 * @throws {UsageError} when no serial protocol fits the bundle and the port (before any I/O).
 */
export async function runSerialBoardJob(
  ctx: BoardJobContext,
  options: {
    handle: SerialPortHandle;
    protocol: ProtocolId;
    watcher: PortWatcher;
    /** `--baud`: the flashing speed, or the bootloader's own for fixed-rate protocols. */
    baud?: BaudSetting | undefined;
    signal: AbortSignal;
    on: JobListeners;
    record?: (result: JobResult) => unknown;
  },
): Promise<JobResult> {
  const hint = hintForUsbIds('serial', {
    vendorId: options.handle.info.usbVendorId,
    productId: options.handle.info.usbProductId,
  });
  const connector = driverFor<SerialPortHandle>(options.protocol, {
    portWatcher: options.watcher,
    bootloaderBaud:
      (typeof options.baud === 'number' ? options.baud : undefined) ??
      (hint?.protocol === options.protocol ? hint.baudRate : undefined),
    chip: targetChipFor(ctx.bundle.manifest.targets, options.protocol),
  });
  return runJob(ctx, { ...options, port: options.handle, connector });
}

/**
 * Flashes a USB device (DFU 1.1, DfuSe), with the protocol the bundle's targets name for its ids.
 * @throws {UsageError} when the bundle has no USB target.
 */
export async function runUsbBoardJob(
  ctx: BoardJobContext,
  options: {
    handle: UsbDeviceHandle;
    watcher: UsbDeviceWatcher;
    signal: AbortSignal;
    on: JobListeners;
    record?: (result: JobResult) => unknown;
  },
): Promise<JobResult> {
  const { info } = options.handle;
  const targets = ctx.bundle.manifest.targets;
  const device = { vendorId: info.vendorId, productId: info.productId };
  const protocol = chooseUsbProtocol({ targets, device });
  const target = protocol === 'dfu' ? dfuTargetFor(targets, device) : undefined;
  const connector = driverFor<UsbDeviceHandle>(protocol, {
    usbWatcher: options.watcher,
    chip: target?.chip,
    alternateSetting: target?.alternateSetting,
  });
  return runJob(ctx, { ...options, port: options.handle, connector });
}

async function runJob<Port>(
  ctx: BoardJobContext,
  options: {
    port: Port;
    connector: ReturnType<typeof driverFor<Port>>;
    signal: AbortSignal;
    on: JobListeners;
    record?: (result: JobResult) => unknown;
  },
): Promise<JobResult> {
  return runFlashJob({
    port: options.port,
    connector: options.connector,
    source: fromVerifiedBundle(ctx.bundle, {
      mode: 'technician',
      rollbackStore: ctx.rollbackStore,
      override: ctx.override,
      board: ctx.board,
      logger: ctx.logger,
    }),
    clock: ctx.clock,
    signal: options.signal,
    logger: ctx.logger,
    settings: ctx.settings,
    advise: cliAdvice,
    on: options.on,
    ...(options.record ? { record: options.record } : {}),
  });
}
