/**
 * The ESP serial bootloader as a webflash protocol driver ('esp-serial'): connect.ts with
 * esptool's flasher stub images imported as modules (stub-modules.ts) unless the caller passes
 * its own `loadStub`. See docs/protocols/esp.md.
 */
import type { FlashSession, ProtocolId } from '../driver.ts';
import type { SerialPortHandle } from '../../transport/link.ts';
import { openEspSession, type EspConnectOptions, type EspSession } from './connect.ts';
import { importStubJson } from './stub-modules.ts';

export { EspSession, openEspSession, type EspConnectOptions } from './connect.ts';

/**
 * Opens the port, enters the bootloader, identifies the chip and returns a session
 * (connect.ts `openEspSession`), with the stub images from `options.loadStub` or, by default,
 * imported as modules.
 * @throws {ProtocolError} 'protocol.no-sync' when the board never answers; 'protocol.wrong-chip'.
 */
export function connectEsp(
  port: SerialPortHandle,
  options: EspConnectOptions,
): Promise<EspSession> {
  return openEspSession(port, { ...options, loadStub: options.loadStub ?? importStubJson });
}

/** The driver record the engine uses (src/job `Connector`). */
export const espDriver: {
  readonly id: ProtocolId;
  readonly autoBaud: true;
  connect(port: SerialPortHandle, options: EspConnectOptions): Promise<FlashSession>;
} = {
  id: 'esp-serial',
  autoBaud: true,
  connect: connectEsp,
};
