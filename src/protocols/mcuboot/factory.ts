/**
 * MCUboot SMP's driver factory for the protocol registry (../registry.ts): the port watcher
 * follows the board across its resets, and the chip comes from the bundle target when the
 * board cannot tell (serial recovery).
 */
import type { ProtocolDriver } from '../driver.ts';
import type { PortWatcher, SerialPortHandle } from '../../transport/link.ts';
import { createMcubootDriver } from './driver.ts';

export function createMcubootDriverFor(options: {
  portWatcher?: PortWatcher | undefined;
  chip?: string | undefined;
}): ProtocolDriver<SerialPortHandle> {
  return createMcubootDriver({
    ...(options.portWatcher ? { portWatcher: options.portWatcher } : {}),
    ...(options.chip !== undefined ? { chip: options.chip } : {}),
  });
}
