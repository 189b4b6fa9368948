/**
 * The ESP driver as the customer updater uses it, loaded as one lazy chunk once an ESP board is
 * chosen: the driver, and the flasher stub fetched as data (stub-assets.ts).
 */
import type { Connector } from '../job/types.ts';
import { openEspSession } from '../protocols/esp/connect.ts';
import type { PortWatcher, SerialPortHandle } from '../transport/link.ts';
import { fetchStubJson } from './stub-assets.ts';

/**
 * The ESP connector. `portWatcher` (when the browser has Web Serial) lets the driver follow a
 * board whose USB port goes away and comes back while it resets.
 */
export function espConnector(portWatcher: PortWatcher | undefined): Connector<SerialPortHandle> {
  return {
    id: 'esp-serial',
    // The driver's own compressor runs on the page (about 5 ms per 180 KB image, docs/engine.md
    // "Compression worker"): no worker script that a page on another origin could not start.
    connect: (port, o) =>
      openEspSession(port, {
        ...o,
        loadStub: fetchStubJson,
        ...(portWatcher ? { portWatcher } : {}),
      }),
  };
}
