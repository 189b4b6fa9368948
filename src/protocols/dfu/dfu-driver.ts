/**
 * The 'dfu' protocol driver: a USB DFU 1.1 device as a `FlashSession`. DFU 1.1 has no
 * addresses: one image is downloaded whole (§6.1.1) and the device places it. A device in
 * run-time mode is first switched to DFU mode (§5.1, re-enumeration). Manifestation follows §7:
 * a manifestation-tolerant device manifests right after the download (so it can be read back
 * with UPLOAD), another one when the session resets it. Pure.
 */
import { ProtocolError } from '../../core/errors.ts';
import type { UsbDeviceFilter, UsbDeviceHandle, UsbDeviceWatcher } from '../../transport/usb.ts';
import { usbId } from '../../transport/usb.ts';
import type {
  DeviceIdentity,
  FlashRegion,
  FlashSession,
  SessionOptions,
  WriteOptions,
} from '../driver.ts';
import { DfuClient } from './dfu-client.ts';
import { clientOptions, detachToDfuMode, openDfu, type OpenedDfu } from './dfu-open.ts';
import {
  bcdVersion,
  compareReadBack,
  readBackProgress,
  withConfirmed,
  withHint,
} from './session-util.ts';

/**
 * What a failed download leaves: the device is in DFU mode (DFU 1.1 §5.1) — still attached, or
 * back in DFU mode when plugged in again, since its application is incomplete — and a new
 * download starts over from block 0 (§6.1.1), so flashing again updates it.
 */
export const STAYS_IN_DFU_MODE =
  'The device stays in its update (DFU) mode; press Flash again to update it.';

export interface DfuConnectOptions extends SessionOptions {
  /** Machine chip id to report (from the bundle target); default "usb-VVVV:PPPP". */
  chip?: string;
  /** Finds the device again after DFU_DETACH; required for devices in run-time mode. */
  watcher?: UsbDeviceWatcher;
  /** The device's DFU-mode identity; default: same vendor id, any product. */
  dfuModeFilters?: readonly UsbDeviceFilter[];
  /** How long to wait for the device to come back in DFU mode. Default wDetachTimeOut + 5 s. */
  reenumerateTimeoutMs?: number;
  alternateSetting?: number;
  transferTimeoutMs?: number;
  maxBusyMs?: number;
}

class DfuSession implements FlashSession {
  readonly identity: DeviceIdentity;
  private pendingManifest = false;
  private manifested = false;
  private written = false;
  private closed = false;

  constructor(
    private readonly opened: OpenedDfu,
    private readonly client: DfuClient,
    handle: UsbDeviceHandle,
    options: DfuConnectOptions,
  ) {
    const f = opened.functional;
    this.identity = {
      protocol: 'dfu',
      chip: options.chip ?? `usb-${usbId(handle.info.vendorId, handle.info.productId)}`,
      name:
        handle.info.productName ??
        `DFU device ${usbId(handle.info.vendorId, handle.info.productId)}`,
      ...(handle.info.serialNumber ? { uniqueId: handle.info.serialNumber } : {}),
      bootloaderVersion: `DFU ${bcdVersion(f.dfuVersion)}`,
      details: {
        'USB id': usbId(handle.info.vendorId, handle.info.productId),
        wTransferSize: String(f.transferSize),
        download: f.canDownload ? 'yes' : 'no',
        upload: f.canUpload ? 'yes' : 'no',
        'manifestation tolerant': f.manifestationTolerant ? 'yes' : 'no',
        ...(opened.selected.name ? { interface: opened.selected.name } : {}),
      },
    };
  }

  async write(region: FlashRegion, options: WriteOptions): Promise<void> {
    const f = this.opened.functional;
    if (!f.canDownload) {
      throw new ProtocolError(
        'protocol.unsupported',
        'This DFU device does not accept downloads (bitCanDnload is 0).',
      );
    }
    if (this.written) {
      throw new ProtocolError(
        'protocol.unsupported',
        'A DFU 1.1 device takes one image per session; the bundle has more than one for it.',
      );
    }
    const { signal, onProgress } = options;
    try {
      await this.client.ensureIdle(signal);
      // DFU 1.1 restarts a download from block 0: a retry rewrites the whole image.
      onProgress?.({
        phase: 'write',
        region: region.name,
        bytesDone: 0,
        bytesTotal: region.data.length,
      });
      await this.client.downloadBlocks(region.data, {
        signal,
        onProgress: (p) => {
          onProgress?.({
            phase: 'write',
            region: region.name,
            bytesDone: p.bytesDone,
            bytesTotal: p.bytesTotal,
            wireBytes: p.bytesDone,
          });
        },
      });
      this.written = true;
      if (f.manifestationTolerant) {
        await this.client.manifest(signal);
        this.manifested = true;
      } else {
        this.pendingManifest = true;
      }
    } catch (err) {
      // A DFU 1.1 download cannot continue where it stopped: nothing counts as confirmed.
      throw withConfirmed(withHint(err, STAYS_IN_DFU_MODE), 0);
    }
  }

  async verify(region: FlashRegion, options: WriteOptions): Promise<void> {
    const f = this.opened.functional;
    if (!f.canUpload || !this.manifested) {
      // The device checks the image itself during manifestation (errVERIFY, errFIRMWARE).
      const why = !f.canUpload
        ? 'it cannot upload (bitCanUpload is 0)'
        : 'it is not manifestation tolerant';
      throw new ProtocolError(
        'protocol.unsupported',
        `This DFU device cannot be read back: ${why}.`,
      );
    }
    await this.client.ensureIdle(options.signal);
    const data = await this.client.uploadAll({
      maxLength: region.data.length,
      signal: options.signal,
      ...readBackProgress(region, options.onProgress),
    });
    compareReadBack(region.name, region.address, region.data, data);
  }

  async resync(signal?: AbortSignal): Promise<void> {
    await this.client.ensureIdle(signal);
    this.written = false;
    this.pendingManifest = false;
  }

  /** Manifests a pending image (the device resets itself or is reset), or resets the bus. */
  async reset(): Promise<void> {
    if (this.pendingManifest) {
      this.pendingManifest = false;
      await this.client.manifest();
    } else {
      await this.opened.connection.reset();
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opened.connection.close();
  }
}

/**
 * Opens a DFU 1.1 device, switching it from run-time to DFU mode first when needed.
 * @throws {ProtocolError} 'protocol.unsupported' without a DFU interface, or for a run-time
 *   device when no `watcher` was given.
 */
export async function connectDfu(
  handle: UsbDeviceHandle,
  options: DfuConnectOptions,
): Promise<FlashSession> {
  const logger = options.logger.child('dfu');
  let opened = await openDfu(handle, {
    logger,
    ...(options.alternateSetting !== undefined
      ? { alternateSetting: options.alternateSetting }
      : {}),
  });
  let current = handle;
  if (!opened.selected.dfuMode) {
    if (!options.watcher) {
      await opened.connection.close();
      throw new ProtocolError(
        'protocol.unsupported',
        `${handle.info.label} runs its application; it must be switched to DFU mode.`,
      );
    }
    logger.info(`${handle.info.label}: DFU_DETACH, waiting for the device in DFU mode`);
    current = await detachToDfuMode(opened, {
      watcher: options.watcher,
      filters: options.dfuModeFilters ?? [{ vendorId: handle.info.vendorId }],
      signal: options.signal,
      exclude: handle,
      ...(options.reenumerateTimeoutMs !== undefined
        ? { timeoutMs: options.reenumerateTimeoutMs }
        : {}),
    });
    opened = await openDfu(current, {
      logger,
      ...(options.alternateSetting !== undefined
        ? { alternateSetting: options.alternateSetting }
        : {}),
    });
    if (!opened.selected.dfuMode) {
      await opened.connection.close();
      throw new ProtocolError(
        'protocol.command-failed',
        `${current.info.label} came back still in run-time mode.`,
      );
    }
  }
  const client = new DfuClient(clientOptions(opened, { ...options, logger }));
  try {
    await client.ensureIdle(options.signal);
  } catch (err) {
    await opened.connection.close();
    throw err;
  }
  return new DfuSession(opened, client, current, options);
}

/** The driver record for protocol id 'dfu'. */
export const dfuDriver = { id: 'dfu', transport: 'usb', connect: connectDfu } as const;
