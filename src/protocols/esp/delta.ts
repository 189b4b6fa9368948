/**
 * Delta updates on the ESP serial bootloader (driver.ts `compareUnits`), with SPI_FLASH_MD5
 * (esptool serial protocol "Verifying Uploaded Data", command 0x13; in the flasher stub and in
 * the ROM of the ESP32 and every later chip, not in the ESP8266 ROM, where nothing is
 * compared). The answer is per 4 KiB sector, the erase unit: a sector is unchanged when it lies
 * in a block whose digest equals the MD5 of what a write would leave there. FLASH_DEFL_BEGIN
 * erases whole sectors, so the last sector is hashed to its end and expected to read 0xFF
 * after the image.
 *
 * Hierarchical: the image is hashed in blocks of several sectors; a block that differs is split
 * in halves, the first half hashed, and so on down to single sectors. When a half matches, the
 * other half of a block that differs must differ: it is split without hashing it whole (it is
 * never skipped unhashed, only rewritten). Every sector is thus hashed at least once, and the
 * changed ones are found with few commands.
 *
 * The chip hashes one command at a time and runs nothing else meanwhile (both stubs and the
 * ROM). The stub receives one more command while it hashes (esp-flasher-stub frame_buffer.c:
 * two receive buffers, the second filled by the receive interrupt), so the first pass over the
 * blocks keeps one command waiting there (`spiFlashMd5Each`) and the round trip between them
 * disappears; the halving, which depends on each answer, and the ROM go one at a time.
 *
 * The block size comes from a cost model (`chooseBlockSectors`): each command costs a round
 * trip (hidden behind the hashing in the stub's first pass), and the chip hashes at a fixed
 * rate (`MD5_BYTES_PER_MS`), so large blocks save round trips when nothing changed and cost
 * hashing again when something did.
 *
 * Progress (`onProgress`, image bytes): half for hashing every sector once (the first pass, as
 * its answers arrive), half for settling each sector's verdict (a block found equal, a single
 * sector found different), so the count moves through the first pass whether the image
 * changed or not, and through the halving after it.
 */
import { equalBytes } from '../../core/bytes.ts';
import {
  EXPECTED_UNCHANGED,
  type DeltaUnit,
  type FlashRegion,
  type WriteOptions,
} from '../driver.ts';
import { FLASH_SECTOR_SIZE } from './constants.ts';
import { plainDigests, type ImageDigests } from './digests.ts';
import { canCompress } from './flash-writer.ts';
import type { EspLoader } from './loader.ts';
import { MD5_BYTES_PER_MS, md5Rate, type Md5Rate } from './md5-rate.ts';

/**
 * One USB full-speed frame each way: what a command's round trip costs beyond its bytes, on a
 * USB-serial bridge and on USB-Serial/JTAG alike.
 */
const USB_TURNAROUND_MS = 2;

/** SLIP frames of SPI_FLASH_MD5: the command, and the stub's and the ROM's reply. */
const FRAME_BYTES = { command: 26, stubReply: 28, romReply: 46 } as const;

/** What one SPI_FLASH_MD5 costs in the cost model, in milliseconds. */
export interface Md5Cost {
  /** The round trip of one command (its bytes on the line and the turnarounds). */
  commandMs: number;
  /** Hashing one 4 KiB sector on the chip. */
  sectorMs: number;
  /** The first pass keeps a command waiting in the loader (the stub): per block, the larger of the round trip and the hashing. */
  pipelined: boolean;
}

/** The cost model's figures for `loader` at `baudRate`. */
export function md5Cost(loader: Md5Rate, baudRate: number): Md5Cost {
  const reply = loader === 'rom' ? FRAME_BYTES.romReply : FRAME_BYTES.stubReply;
  return {
    commandMs: ((FRAME_BYTES.command + reply) * 10 * 1000) / baudRate + USB_TURNAROUND_MS,
    sectorMs: FLASH_SECTOR_SIZE / MD5_BYTES_PER_MS[loader],
    pipelined: loader !== 'rom',
  };
}

/**
 * Expected milliseconds to compare `sectors` sectors in blocks of `blockSectors`, when each
 * sector differs with probability `changed`, independently: per block one command and its
 * hashing, and for a block that differs the halving described above.
 */
export function expectedCompareMs(
  sectors: number,
  blockSectors: number,
  cost: Md5Cost,
  changed: number,
): number {
  const differs = (n: number): number => 1 - (1 - changed) ** n;
  const resolveMemo = new Map<number, number>();
  const hash = (n: number): number => cost.commandMs + n * cost.sectorMs;
  // A block of n sectors not yet hashed: hash it, and split it when it differs.
  const unknown = (n: number): number => hash(n) + (differs(n) > 0 ? differs(n) * known(n) : 0);
  // A block of n sectors known to differ.
  const known = (n: number): number => {
    if (n <= 1) return 0;
    const hit = resolveMemo.get(n);
    if (hit !== undefined) return hit;
    const first = Math.ceil(n / 2);
    const firstDiffers = differs(first) / differs(n);
    const v =
      hash(first) +
      known(n - first) * (1 - firstDiffers) +
      firstDiffers * (known(first) + unknown(n - first));
    resolveMemo.set(n, v);
    return v;
  };
  // The first pass: pipelined, the chip waits only for a round trip longer than its hashing.
  const first = (n: number): number =>
    (cost.pipelined ? Math.max(cost.commandMs, n * cost.sectorMs) : hash(n)) +
    (differs(n) > 0 ? differs(n) * known(n) : 0);
  const whole = Math.floor(sectors / blockSectors);
  const rest = sectors - whole * blockSectors;
  return whole * first(blockSectors) + (rest > 0 ? first(rest) : 0);
}

/**
 * The block size, in sectors, with the least expected cost (`expectedCompareMs`) among the
 * powers of two up to the image and the whole image, for the share of sectors a delta update
 * usually changes (1 − `EXPECTED_UNCHANGED`, as in driver.ts `worthComparing`). Ties go to the
 * smaller block.
 * @example chooseBlockSectors(256, md5Cost('stub', 921600)) // 2: 8 KiB blocks
 */
export function chooseBlockSectors(
  sectors: number,
  cost: Md5Cost,
  changed = 1 - EXPECTED_UNCHANGED,
): number {
  let best = 1;
  let bestMs = expectedCompareMs(sectors, 1, cost, changed);
  for (let n = 2; n < 2 * sectors; n *= 2) {
    const size = Math.min(n, sectors);
    const ms = expectedCompareMs(sectors, size, cost, changed);
    if (ms < bestMs) [best, bestMs] = [size, ms];
  }
  return best;
}

/**
 * Which sectors of `region` the board already holds.
 * @param options.blockSize bytes per first-level MD5 (a positive multiple of 4096); default:
 *   the cost model's choice for this loader and line speed.
 * @param options.nativeUsb the port is the chip's USB-Serial/JTAG (the stub's clocks are raised).
 * @returns one unit per 4 KiB sector (clipped to the image); undefined where the loader has no
 *   SPI_FLASH_MD5 (ESP8266 ROM) or the region is not sector-aligned (the write refuses it).
 * @throws {ProtocolError} 'protocol.bad-reply' for a digest it cannot parse; the loader's errors.
 * @throws {RangeError} for a block size that is not a positive multiple of 4096.
 */
export async function compareBlocks(
  loader: EspLoader,
  region: FlashRegion,
  options: {
    blockSize?: number | undefined;
    nativeUsb?: boolean;
    signal?: AbortSignal | undefined;
    /** Where the image's sector digests come from (default: computed here). */
    digests?: ImageDigests | undefined;
    /** `compare` progress: image bytes compared so far (see above), up to the image's size. */
    onProgress?: WriteOptions['onProgress'];
  },
): Promise<DeltaUnit[] | undefined> {
  const size = options.blockSize;
  if (size !== undefined && (!Number.isInteger(size) || size <= 0 || size % FLASH_SECTOR_SIZE)) {
    throw new RangeError(`blockSize must be a positive multiple of 4096, got ${size}`);
  }
  if (!canCompress(loader) || region.address % FLASH_SECTOR_SIZE !== 0) return undefined;
  const total = region.data.length;
  const sectors = Math.ceil(total / FLASH_SECTOR_SIZE);
  // What a write leaves in the sectors it touches: the image, then 0xFF to the sector's end.
  const want = (options.digests ?? plainDigests).sectors(region.data);
  const block =
    size === undefined
      ? chooseBlockSectors(
          sectors,
          md5Cost(
            md5Rate({
              chip: loader.chip?.id,
              stub: loader.isStub,
              nativeUsb: options.nativeUsb ?? false,
            }),
            loader.link.baudRate,
          ),
        )
      : size / FLASH_SECTOR_SIZE;
  loader.logger.debug(
    `${region.name}: comparing in ${block * 4} KiB blocks, halved where they differ`,
  );

  const unchanged = new Array<boolean>(sectors).fill(false);
  const expected = (from: number, to: number) => want.md5(from, to);
  // Image bytes in sectors [from, to).
  const bytesIn = (from: number, to: number) =>
    Math.min(total, to * FLASH_SECTOR_SIZE) - Math.min(total, from * FLASH_SECTOR_SIZE);
  let hashed = 0;
  let settled = 0;
  const progress = (more: { hashed?: number; settled?: number }): void => {
    hashed += more.hashed ?? 0;
    settled += more.settled ?? 0;
    const bytesDone = Math.floor((hashed + settled) / 2);
    options.onProgress?.({ phase: 'compare', region: region.name, bytesDone, bytesTotal: total });
  };
  const same = async (from: number, to: number): Promise<boolean> => {
    const start = from * FLASH_SECTOR_SIZE;
    const size = (to - from) * FLASH_SECTOR_SIZE;
    const board = await loader.spiFlashMd5(region.address + start, size, options.signal);
    const match = equalBytes(board, expected(from, to));
    if (match) {
      unchanged.fill(true, from, to);
      progress({ settled: bytesIn(from, to) });
    }
    return match;
  };
  // Sectors [from, to) hold at least one that differs.
  const split = async (from: number, to: number): Promise<void> => {
    if (to - from <= 1) return progress({ settled: bytesIn(from, to) });
    const mid = from + Math.ceil((to - from) / 2);
    if (await same(from, mid)) return split(mid, to);
    await split(from, mid);
    if (!(await same(mid, to))) await split(mid, to);
  };
  const blocks: [number, number][] = [];
  for (let from = 0; from < sectors; from += block) {
    blocks.push([from, Math.min(sectors, from + block)]);
  }
  const digests = await loader.spiFlashMd5Each(
    blocks.map(([from, to]) => [
      region.address + from * FLASH_SECTOR_SIZE,
      (to - from) * FLASH_SECTOR_SIZE,
    ]),
    options.signal,
    // For progress only: a block whose answer matches is settled unless a later answer is lost.
    (i, digest) => {
      const [from, to] = blocks[i]!;
      const match = equalBytes(digest, expected(from, to));
      progress({ hashed: bytesIn(from, to), settled: match ? bytesIn(from, to) : 0 });
    },
  );
  // Used only once every answer of the first pass is in: they are matched by order.
  for (const [i, [from, to]] of blocks.entries()) {
    const want = expected(from, to);
    if (equalBytes(digests[i]!, want)) unchanged.fill(true, from, to);
    else await split(from, to);
  }
  return unchanged.map((u, i) => ({
    start: i * FLASH_SECTOR_SIZE,
    end: Math.min(total, (i + 1) * FLASH_SECTOR_SIZE),
    unchanged: u,
  }));
}
