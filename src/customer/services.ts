/**
 * The customer updater's services in a browser: the update file fetched under the
 * allowed-origins policy and verified while it streams in against the root this build pins,
 * Web Serial ports, and the bootloader drivers, each loaded only once a device was chosen so
 * the element's own script stays small; USB updates load the WebUSB transport with the DFU
 * drivers (usb-connector.ts) when they start.
 *
 * No Web Workers: a vendor may serve the script from another origin, and browsers start workers
 * only from the page's own origin. Verification hashes each chunk as it arrives (SHA-256 runs at
 * about 40 MB/s here, so a 64 KiB chunk costs under 2 ms of the page's time) and the ESP
 * compressor takes a few milliseconds per image (docs/engine.md, "Compression worker").
 */
import { pinnedRoot, type BuildMode } from '../bundle/pinned-root.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import type { TrustRoot } from '../bundle/trust-root.ts';
import { DEFAULT_MAX_BUNDLE_BYTES, verifyBundle } from '../bundle/verify.ts';
import { realClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { JobSettings } from '../job/types.ts';
import { verifyRelease } from '../job/verify-release.ts';
import type { ProtocolId } from '../protocols/driver.ts';
import type { StubLoader } from '../protocols/esp/stub.ts';
import { driverFor, hintForUsbIds, protocolsOf, targetChipFor } from '../protocols/registry.ts';
import type { SerialPortHandle } from '../transport/link.ts';
import { requestSerialPort, WebSerialPortWatcher } from '../transport/webserial.ts';
import { fetchBundle } from './download.ts';
import type { CustomerServices, PortChoice } from './flow.ts';
import type { OriginPolicy } from './origins.ts';
import type { Transport } from './support.ts';

/** The transports the customer updater drives (support.ts `detectSupport`). */
export const USABLE_TRANSPORTS: readonly Transport[] = ['serial', 'usb'];

/**
 * Line speed: the fastest the port's adapter and the bootloader carry; the driver steps down
 * by itself if the link cannot keep up (src/protocols/link-speed.ts). Protocols with a fixed
 * rate use theirs.
 */
const SETTINGS: JobSettings = { baudRate: 'auto' };

export interface CustomerServicesOptions {
  buildMode: BuildMode;
  /** root.json text for production builds. */
  productionRoot?: string | undefined;
  policy: OriginPolicy;
  /** The one store verification and the flash job share (src/job/verify-release.ts). */
  rollbackStore: RollbackStore;
  /** Default `navigator.serial`. */
  serial?: Serial | undefined;
  /** Default `navigator.usb`. */
  usb?: USB | undefined;
  /** Demo mode: puts a virtual board for `transport` on the bench before the chooser opens. */
  prepareVirtualBoard?: ((transport: Transport) => void) | undefined;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
}

/**
 * The ESP flasher stub, fetched as data (stub-assets.ts) in a chunk of its own, so the element's
 * script carries neither the stub nor its file names.
 */
const fetchStub: StubLoader = async (chip) =>
  (await import('./stub-assets.ts')).fetchStubJson(chip);

/**
 * The serial protocol for a chosen port: among the registry's serial protocols the bundle's
 * targets use, the one the port's USB ids tell, else the first.
 */
function serialProtocolFor(
  targets: readonly { readonly protocol: string }[],
  port: SerialPortHandle,
): { protocol: ProtocolId; bootloaderBaud: number | undefined } {
  const { usbVendorId: vendorId, usbProductId: productId } = port.info;
  const hint = hintForUsbIds('serial', { vendorId, productId });
  const offered = protocolsOf('serial').filter((e) =>
    targets.some((t) => e.serves.includes(t.protocol)),
  );
  const entry = offered.find((e) => e.id === hint?.protocol) ?? offered[0]!;
  return {
    protocol: entry.id,
    bootloaderBaud: hint?.protocol === entry.id ? hint.baudRate : undefined,
  };
}

/**
 * Builds the browser services.
 * @example const services = createCustomerServices({ buildMode: 'demo', policy });
 */
export function createCustomerServices(options: CustomerServicesOptions): CustomerServices {
  const clock = options.clock ?? realClock;
  const serial = (): Serial | undefined =>
    options.serial ?? (globalThis.navigator as Navigator | undefined)?.serial;
  let root: TrustRoot | undefined;

  return {
    clock,
    rollbackStore: options.rollbackStore,
    logger: options.logger,
    async loadBundle({ url, expectedProduct, signal, onProgress }) {
      root ??= await pinnedRoot({
        mode: options.buildMode,
        productionRoot: options.productionRoot,
      });
      const download = await fetchBundle({
        url,
        policy: options.policy,
        signal,
        maxBytes: DEFAULT_MAX_BUNDLE_BYTES,
      });
      return verifyRelease({
        verify: verifyBundle,
        source: download.chunks,
        trustRoot: root,
        now: new Date(),
        mode: 'customer',
        expectedProduct,
        rollbackStore: options.rollbackStore,
        signal,
        clock,
        onProgress: (p) =>
          onProgress({
            ...p,
            ...(p.bytesTotal === undefined && download.bytesTotal !== undefined
              ? { bytesTotal: download.bytesTotal }
              : {}),
          }),
      });
    },
    async choosePort({ bundle, transport, chooseAgain }): Promise<PortChoice> {
      const targets = bundle.manifest.targets;
      options.prepareVirtualBoard?.(transport);
      if (transport === 'usb') {
        // The chooser opens from the lazy chunk, a few milliseconds into the click's
        // activation (Chromium keeps it 5 s); the transport and drivers stay out of the element.
        const { chooseUsbDevice } = await import('./usb-connector.ts');
        const nav = globalThis.navigator as Navigator | undefined;
        return chooseUsbDevice({
          targets,
          usb: options.usb ?? nav?.usb,
          userAgent: nav?.userAgent ?? '',
          clock,
          chooseAgain,
        });
      }
      // The chooser first, while the click still counts as a user gesture; then the driver
      // (chooseTransport picked serial, so a serial target is there).
      const port = await requestSerialPort({ clock, serial: serial() });
      const { protocol, bootloaderBaud } = serialProtocolFor(targets, port);
      const s = serial();
      // The driver's own compressor runs on the page (about 5 ms per 180 KB image,
      // docs/engine.md "Compression worker"): no worker script that a page on another origin
      // could not start.
      const connector = driverFor<SerialPortHandle>(protocol, {
        loadStub: fetchStub,
        portWatcher: s ? new WebSerialPortWatcher({ clock, serial: s }) : undefined,
        bootloaderBaud,
        chip: targetChipFor(targets, protocol),
      });
      return {
        port,
        connector,
        protocol,
        settings: SETTINGS,
      };
    },
  };
}
