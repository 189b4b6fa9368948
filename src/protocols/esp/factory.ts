/**
 * The ESP serial bootloader's driver factory for the protocol registry (../registry.ts): the
 * driver of connect.ts with the face's compressor, port watcher and stub source. The stub images
 * are imported as modules only when no `loadStub` is given and a stub is needed.
 */
import type { ProtocolDriver } from '../driver.ts';
import type { BaudSetting } from '../link-speed.ts';
import type { PortWatcher, SerialPortHandle } from '../../transport/link.ts';
import type { CompressFn } from './compress.ts';
import type { ImageDigests } from './digests.ts';
import { openEspSession } from './connect.ts';
import { LinkCeiling } from './link-speed.ts';
import type { StubLoader } from './stub.ts';

const importStub: StubLoader = async (chip) =>
  (await import('./stub-modules.ts')).importStubJson(chip);

export function createEspDriver(options: {
  compress?: CompressFn | undefined;
  digests?: ImageDigests | undefined;
  loadStub?: StubLoader | undefined;
  portWatcher?: PortWatcher | undefined;
}): ProtocolDriver<SerialPortHandle, BaudSetting> {
  const { compress, digests, portWatcher } = options;
  // One driver serves one job: a rate that failed is not tried again when the job reconnects.
  const linkCeiling = new LinkCeiling();
  return {
    id: 'esp-serial',
    autoBaud: true,
    connect: (port, o) =>
      openEspSession(port, {
        ...o,
        linkCeiling,
        loadStub: options.loadStub ?? importStub,
        ...(compress ? { compress } : {}),
        ...(digests ? { digests } : {}),
        ...(portWatcher ? { portWatcher } : {}),
      }),
  };
}
