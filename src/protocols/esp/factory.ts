/**
 * The ESP serial bootloader's driver factory for the protocol registry (../registry.ts): the
 * driver of connect.ts with the face's compressor, port watcher and stub source. The stub images
 * are imported as modules only when no `loadStub` is given and a stub is needed.
 */
import type { ProtocolDriver } from '../driver.ts';
import type { PortWatcher, SerialPortHandle } from '../../transport/link.ts';
import type { CompressFn } from './compress.ts';
import { openEspSession } from './connect.ts';
import type { StubLoader } from './stub.ts';

const importStub: StubLoader = async (chip) =>
  (await import('./stub-modules.ts')).importStubJson(chip);

export function createEspDriver(options: {
  compress?: CompressFn | undefined;
  loadStub?: StubLoader | undefined;
  portWatcher?: PortWatcher | undefined;
}): ProtocolDriver<SerialPortHandle> {
  const { compress, portWatcher } = options;
  return {
    id: 'esp-serial',
    connect: (port, o) =>
      openEspSession(port, {
        ...o,
        loadStub: options.loadStub ?? importStub,
        ...(compress ? { compress } : {}),
        ...(portWatcher ? { portWatcher } : {}),
      }),
  };
}
