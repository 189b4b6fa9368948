/**
 * Helpers of the STM32 session (driver.ts): what the identification probe reads, which errors a
 * resync may cure, how a failed write tells the engine where to resume, and the read-back
 * compare of one block.
 */
import { equalBytes, hex32 } from '../../core/bytes.ts';
import {
  FramingError,
  ProtocolError,
  VerificationError,
  WebflashError,
} from '../../core/errors.ts';
import type { FlashRegion } from '../driver.ts';
import type { Stm32Chip } from './chips.ts';
import type { Stm32Client } from './client.ts';

/** What the identification probe learnt. */
export interface Probe {
  uid?: Uint8Array;
  flashKiB?: number;
  bootloaderId?: number;
  readProtected: boolean;
}

/** UID, flash size and bootloader ID; a read refused after the opcode means read protection. */
export async function probeChip(
  chip: Stm32Chip,
  readMemory: (address: number, n: number) => Promise<Uint8Array>,
): Promise<Probe> {
  const probe: Probe = { readProtected: false };
  const read = async (address: number | undefined, n: number): Promise<Uint8Array | undefined> => {
    if (address === undefined || probe.readProtected) return undefined;
    try {
      return await readMemory(address, n);
    } catch (err) {
      if (err instanceof WebflashError && err.code === 'protocol.read-protected') {
        probe.readProtected = true;
        return undefined;
      }
      if (err instanceof ProtocolError && err.code === 'protocol.command-failed') return undefined;
      throw err;
    }
  };
  const uid = await read(chip.uidAddress, 12);
  if (uid) probe.uid = uid;
  const size = await read(chip.flashSizeAddress, 2);
  if (size) probe.flashKiB = size[0]! | (size[1]! << 8);
  const id = await read(chip.bootloaderIdAddress, 1);
  if (id) probe.bootloaderId = id[0]!;
  if (chip.uidAddress === undefined) await read(chip.flash.start, 1); // still learn whether reads are allowed
  return probe;
}

/** Runs `step`; after a transient failure, resyncs and runs it again (3 tries in all). */
export async function retryTransient<T>(
  client: Stm32Client,
  step: () => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= 3 || !transient(err)) throw err;
      await client.resync({ signal });
    }
  }
}

/** Errors a resync and a second try may cure: timeouts, garbled or damaged replies. */
export function transient(err: unknown): boolean {
  if (!(err instanceof WebflashError)) return false;
  if (err instanceof VerificationError) return false;
  return (
    err.code === 'timeout' ||
    err.code.startsWith('framing.') ||
    err.code === 'protocol.bad-reply' ||
    (err as { retryable?: unknown }).retryable === true
  );
}

/** Pads a block to a multiple of 4 bytes with 0xFF (erased flash), as stm32flash does. */
export function padTo4(chunk: Uint8Array): Uint8Array {
  if (chunk.length % 4 === 0) return chunk;
  const out = new Uint8Array(chunk.length + (4 - (chunk.length % 4))).fill(0xff);
  out.set(chunk);
  return out;
}

/** Adds `confirmedBytes` (ResumableError) to an error thrown mid-write. */
export function withConfirmed(err: unknown, confirmedBytes: number): unknown {
  if (err instanceof Error) return Object.assign(err, { confirmedBytes });
  return err;
}

/**
 * Reads a block back. READ_MEMORY data has no checksum (AN3155 §3.4), so a difference is read
 * again until two reads agree: that tells bad flash from bytes damaged on the wire.
 */
export async function compareBlock(
  client: Stm32Client,
  region: FlashRegion,
  off: number,
  want: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<void> {
  const address = region.address + off;
  let previous = await client.readMemory(address, want.length, { signal });
  for (let reads = 1; ; reads++) {
    if (equalBytes(previous, want)) return;
    if (reads >= 5) {
      throw new FramingError(
        'framing.invalid',
        `Reads of ${hex32(address)} keep disagreeing: the link is damaging data.`,
      );
    }
    const next = await client.readMemory(address, want.length, { signal });
    if (equalBytes(next, previous)) {
      const i = want.findIndex((b, k) => b !== next[k]);
      throw new VerificationError(
        `${region.name}: byte at ${hex32(address + i)} reads 0x${hex2(next[i]!)}, the image has 0x${hex2(want[i]!)}.`,
        {
          hints: [
            'Write the image again; if it keeps failing, the flash may be worn or write-protected.',
          ],
        },
      );
    }
    previous = next;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
