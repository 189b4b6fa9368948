/**
 * The bench's services in a browser: the granted Web Serial ports and WebUSB devices and their
 * events, the ESP driver with the compression worker (one worker serves every board), the DFU
 * 1.1 and DfuSe drivers for USB boards, bundle verification in the verify worker against the
 * root this build pins, and the flash log in IndexedDB (or in memory for virtual boards).
 */
import { AuditLog, MemoryAuditStore } from '../../audit/store.ts';
import type { BuildMode } from '../../bundle/pinned-root.ts';
import { MemoryRollbackStore, type RollbackStore } from '../../bundle/rollback-store.ts';
import { IdbRollbackStore } from '../../platform/browser/rollback-idb.ts';
import { realClock, type Clock } from '../../core/clock.ts';
import type { Connector, JobSettings } from '../../job/types.ts';
import { compressOnce, digestsOnce, ImageMemo } from '../../protocols/esp/once-per-image.ts';
import { driverFor } from '../../protocols/registry.ts';
import { WebSerialPortWatcher } from '../../transport/webserial.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import { IdbAuditStore } from '../../platform/browser/audit-idb.ts';
import { createWorkerVerifier } from '../../platform/browser/worker-verifier.ts';
import { createCompressClient } from '../../platform/browser/compress-client.ts';
import type { BenchSerialConnectors, BenchServices } from '../state/types.ts';
import { webSerialPorts } from './web-serial-ports.ts';
import { benchUsbConnectors, webUsbPorts } from './web-usb-ports.ts';

export interface BenchBrowserOptions {
  buildMode: BuildMode;
  /** root.json text for production builds. */
  productionRoot?: string | undefined;
  /** Default `navigator.serial`. */
  serial?: Serial | undefined;
  /** Default `navigator.usb`; without WebUSB the bench takes serial ports only. */
  usb?: USB | undefined;
  /** Virtual boards: keep the flash log in memory (they start blank on every visit). */
  virtualBoards?: boolean;
  /** A better label for a port (demo mode's board names). */
  labelFor?: (port: SerialPort) => string | undefined;
  /** A better label for a USB device (demo mode's board names). */
  usbLabelFor?: (device: USBDevice) => string | undefined;
  /**
   * The one store bundle verification and flash jobs share (src/job/verify-release.ts). Default:
   * IndexedDB, the technician console's store, or memory with virtual boards.
   */
  rollbackStore?: RollbackStore | undefined;
  jobSettings?: JobSettings;
  clock?: Clock;
}

/** The services plus a way to stop the workers. */
export interface BenchBrowserServices extends BenchServices {
  dispose(): void;
}

/**
 * Builds the bench's browser services.
 * @example const bench = createBenchStore(createBenchBrowserServices({ buildMode: 'demo' }));
 */
export function createBenchBrowserServices(options: BenchBrowserOptions): BenchBrowserServices {
  const clock = options.clock ?? realClock;
  const nav = globalThis.navigator as Navigator | undefined;
  const serial = options.serial ?? nav?.serial;
  const usb = options.usb ?? nav?.usb;
  const userAgent = nav?.userAgent ?? '';
  const compressor = createCompressClient();
  // Every board gets the same images: compress each and compute its MD5s once, not per board.
  const memo = new ImageMemo();
  const compress = compressOnce(compressor.compress, memo);
  const digests = digestsOnce(memo);
  const rollbackStore =
    options.rollbackStore ??
    (options.virtualBoards ? new MemoryRollbackStore() : new IdbRollbackStore());
  const verifier = createWorkerVerifier({ ...options, rollbackStore });
  // Every serial protocol through the registry: the shared compressor, and a watcher that
  // follows a board whose port comes back under another identity (an AVR109 bootloader).
  const portWatcher = serial ? new WebSerialPortWatcher({ clock, serial }) : undefined;
  const serialConnectors: BenchSerialConnectors = (protocol, context) =>
    driverFor(protocol, {
      compress,
      digests,
      portWatcher,
      bootloaderBaud: context.bootloaderBaud,
      chip: context.chip,
    });
  const connector: Connector<SerialPortHandle> = driverFor('esp-serial', { compress, digests });
  const audit = new AuditLog({
    store: options.virtualBoards ? new MemoryAuditStore() : new IdbAuditStore(),
  });
  return {
    clock,
    now: () => new Date(),
    connector,
    serialConnectors,
    rollbackStore,
    jobSettings: options.jobSettings,
    ports: webSerialPorts({
      serial,
      clock,
      ...(options.labelFor ? { labelFor: options.labelFor } : {}),
    }),
    ...(usb
      ? {
          usb: webUsbPorts({
            usb,
            clock,
            userAgent,
            ...(options.usbLabelFor ? { labelFor: options.usbLabelFor } : {}),
          }),
          usbConnectors: benchUsbConnectors({ usb, clock, userAgent }),
        }
      : {}),
    audit,
    verifyBundle: verifier.verifyBundle,
    dispose() {
      compressor.dispose();
      verifier.dispose();
    },
  };
}
