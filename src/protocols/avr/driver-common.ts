/**
 * What the three AVR drivers share: their options, the `{ id, connect }` object the engine
 * holds, and identification by signature bytes against the chip table (chips.ts).
 */
import type { Clock } from '../../core/clock.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { SerialLink, SerialPortHandle } from '../../transport/link.ts';
import type { DeviceIdentity, ProtocolId, SessionOptions } from '../driver.ts';
import { applicationEnd, chipBySignature, formatSignature, type AvrChip } from './chips.ts';
import { AvrSession, type AvrProgrammer } from './session.ts';
import type { Stk500v1Timeouts } from './stk500v1.ts';

export interface AvrDriverOptions {
  /** Line speed (optiboot 115200, ATmegaBOOT 57600, the Mega's STK500v2 115200). */
  baudRate?: number;
  /** Reset sequence into the bootloader (reset-sequence.ts notation); `null` leaves the lines alone. */
  enterSequence?: string | null;
  /**
   * Line speeds to try in turn when the bootloader does not answer at the first (STK500v1; set
   * when nothing told the bootloader's speed). Default none: only the first.
   */
  fallbackBaudRates?: readonly number[];
  /** Sync attempts (avrdude: 10; 4 per rate while several rates are tried). */
  syncAttempts?: number;
  /** Boot section size in bytes when the board's fuses differ from the chip table's. */
  bootSectionSize?: number;
  stk500v1Timeouts?: Partial<Stk500v1Timeouts>;
  /**
   * Read each page back as soon as it is written, besides the verification (default off; see
   * AvrSessionInit.checkPages).
   */
  checkPages?: boolean;
  /** Reply deadline of the STK500v2 and AVR109 clients, ms (default 1000). */
  replyTimeoutMs?: number;
}

export interface AvrConnectOptions extends SessionOptions {
  baudRate?: number | undefined;
}

/** The driver object the engine holds (its Connector). */
export interface AvrDriver<P extends ProtocolId> {
  readonly id: P;
  readonly protocol: P;
  connect(port: SerialPortHandle, options: AvrConnectOptions): Promise<AvrSession>;
}

type Opener = (
  link: SerialLink,
  driverOptions: AvrDriverOptions,
  session: { clock: Clock; logger: Logger; signal?: AbortSignal | undefined },
  port: SerialPortHandle,
) => Promise<AvrSession>;

/** A driver that opens the port at its speed and hands the link to `open`. */
export function connectWith<P extends ProtocolId>(
  id: P,
  defaultBaud: number,
  driverOptions: AvrDriverOptions,
  open: Opener,
): AvrDriver<P> {
  return {
    id,
    protocol: id,
    async connect(port, options) {
      const baudRate = options.baudRate ?? driverOptions.baudRate ?? defaultBaud;
      const link = await port.open({ baudRate });
      try {
        const session = await open(link, driverOptions, options, port);
        session.linkBaud = baudRate;
        return session;
      } catch (err) {
        await link.close().catch(() => undefined);
        throw err;
      }
    },
  };
}

export interface IdentifyInput {
  protocol: ProtocolId;
  /** Builds the programmer once the chip is known. */
  programmer: (chip: AvrChip) => AvrProgrammer;
  signature: Uint8Array;
  logger: Logger;
  driverOptions: AvrDriverOptions;
  /** The bootloader is known to take at least this much (ATmegaBOOT: 2 KiB). */
  minimumBootSection?: number;
  bootloaderVersion?: string;
  details: Record<string, string>;
  describe?: (bootStart: number) => string;
  /** See AvrSessionInit.checkPages. */
  checkPages?: boolean;
}

/**
 * Looks the signature up and builds the session.
 * @throws {ProtocolError} 'protocol.unsupported' for a signature not in the table.
 */
export function identify(input: IdentifyInput): AvrSession {
  const chip = chipBySignature(input.signature);
  if (!chip) {
    throw new ProtocolError(
      'protocol.unsupported',
      `Unknown AVR signature ${formatSignature(input.signature)}.`,
      {
        hints: [
          signatureHint(input.signature),
          "This chip is not in webflash's AVR table; check that the bundle targets this board.",
        ],
      },
    );
  }
  const bootSectionSize =
    input.driverOptions.bootSectionSize ??
    Math.max(chip.bootSectionSize, input.minimumBootSection ?? 0);
  const bootStart = applicationEnd(chip, bootSectionSize);
  const identity: DeviceIdentity = {
    protocol: input.protocol,
    chip: chip.chip,
    name: chip.name,
    flashSize: chip.flashSize,
    details: {
      ...input.details,
      'Boot section': `${bootSectionSize} bytes (application: ${bootStart} bytes)`,
      'Page size': `${chip.pageSize} bytes`,
    },
  };
  if (input.bootloaderVersion !== undefined) identity.bootloaderVersion = input.bootloaderVersion;
  input.logger.info(
    `Connected to ${chip.name} (signature ${formatSignature(input.signature)}), ${input.describe?.(bootStart) ?? `boot section ${bootSectionSize} bytes`}.`,
  );
  return new AvrSession({
    programmer: input.programmer(chip),
    chip,
    identity,
    bootSectionSize,
    logger: input.logger,
    ...(input.checkPages === undefined ? {} : { checkPages: input.checkPages }),
  });
}

function signatureHint(signature: Uint8Array): string {
  if (signature.every((b) => b === 0x00) || signature.every((b) => b === 0xff)) {
    return 'The signature reads as all 0x00 or 0xFF: the chip did not answer properly.';
  }
  return 'The board may carry another AVR than its name says.';
}
