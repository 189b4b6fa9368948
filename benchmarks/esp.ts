/**
 * ESP flashing in real time: our engine (FlashJob + the esp-serial driver, with the flasher stub
 * or, in the ROM rows, the ROM loader alone) and esptool-js 0.7.0 (its flasher stub, as its users
 * run it) each flash the same image to a fresh simulated board over the same link model (src/sim
 * serial wire on realClock); esptool-js reaches it through the fake Web Serial port. Our engine
 * is also run once on a VirtualClock, which gives the modelled time without any CPU noise. Each
 * row is compared with the protocol's own limit (limits-esp.ts). Our runs are full writes
 * (`delta: false`): the board holds another release, so a delta update would compare every
 * block first and then write them all anyway; the espweb suite shows the default flow.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { ESPLoader, Transport, type IEspLoaderTerminal } from 'esptool-js';
import { zlibSync } from 'fflate';
import { equalBytes, toHex } from '../src/core/bytes.ts';
import { type Clock, realClock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import type { JobResult, JobSettings } from '../src/job/types.ts';
import type { Connector } from '../src/job/types.ts';
import type { SerialPortHandle } from '../src/transport/link.ts';
import { ESP_CHIPS } from '../src/protocols/esp/chips.ts';
import { compressImage } from '../src/protocols/esp/compress.ts';
import { FLASH_SECTOR_SIZE } from '../src/protocols/esp/constants.ts';
import { connectEsp, espDriver } from '../src/protocols/esp/driver.ts';
import { createBoard } from '../src/sim/boards.ts';
import type { EspSimBoard } from '../src/sim/esp/boards.ts';
import { W25Q32_TIMING } from '../src/sim/flash-model.ts';
import { LINK_CP2102, LINK_USB_CDC, type LinkModel } from '../src/sim/link-model.ts';
import { FakeSerial } from '../src/sim/web/fake-web-serial.ts';
import { benchImage, bestCompressedSize, espEraseMs, type ImageKind } from './images.ts';
import { rawBytesPerSecond, serialTiming, type Limit } from './limits.ts';
import { espRomLimit, espStubLimit } from './limits-esp.ts';
import { transferMs, type PhaseTimes } from './phases.ts';
import { measureJob } from './measure-job.ts';
import { lateClock } from './timer-lateness.ts';

const ADDRESS = 0x10000;
const KiB = 1024;

/**
 * The simulated stub's read of one sector for its blank check (src/sim/esp/stub-writer.ts
 * `SECTOR_READ_MS`, an estimate).
 */
const STUB_SECTOR_READ_MS = 0.5;

/** One flashing scenario. */
interface EspScenario {
  /** Board preset (src/sim/esp/boards.ts). */
  board: string;
  /** Link description for the table. */
  link: string;
  linkModel: LinkModel;
  /** Line speed asked for; native USB ignores it. */
  baud: number;
  imageBytes: number;
  /** Link throughput in bytes per second (baud/10 for a UART; the USB CDC model's rate). */
  linkBytesPerSecond: number;
  /** The flasher stub (our default) or the ROM loader alone (`useStub: 'never'`). */
  loader: 'stub' | 'rom';
}

function espScenarios(quick: boolean): EspScenario[] {
  const q = quick ? 4 : 1;
  const cp2102 = { board: 'esp32', link: 'CP2102 UART', linkModel: LINK_CP2102 };
  const at921600 = { ...cp2102, baud: 921600, linkBytesPerSecond: 92160 };
  return [
    {
      ...cp2102,
      baud: 115200,
      imageBytes: (256 * KiB) / q,
      linkBytesPerSecond: 11520,
      loader: 'stub',
    },
    { ...at921600, imageBytes: (1024 * KiB) / q, loader: 'stub' },
    {
      board: 'esp32s3',
      link: 'native USB (USB-Serial/JTAG)',
      linkModel: LINK_USB_CDC,
      baud: 921600,
      imageBytes: (4096 * KiB) / q,
      linkBytesPerSecond: 1_000_000,
      loader: 'stub',
    },
    { ...at921600, imageBytes: (1024 * KiB) / q, loader: 'rom' },
  ];
}

export interface EspRow extends EspScenario {
  kind: ImageKind;
  /** zlib level 9 size of the whole image. */
  compressedBytes: number;
  wireLimitMs: number;
  /** Erase + program time of the flash model. */
  flashLimitMs: number;
  /** max(wire, flash): the data alone, what no protocol can beat. */
  limitMs: number;
  /** Raw line rate, bytes per second. */
  rawBytesPerSecond: number;
  /** The protocol's own limit for erase + write (limits-esp.ts), with its parts. */
  protocolLimit: Limit;
  /** Bytes of the zlib stream the protocol limit sends. */
  limitStreamBytes: number;
  /** Our engine, whole job (connect … reset), real time. */
  oursMs: number;
  /** Our engine, erasing + writing phases (real time). */
  transferMs: number;
  /** Our engine, real time per phase. */
  phases: PhaseTimes;
  /** Our engine on a VirtualClock: modelled time of the whole job and of erasing + writing. */
  oursModelMs: number;
  modelTransferMs: number;
  /** esptool-js main() + writeFlash (compressed, MD5 check) + hard reset, real time. */
  esptoolJsMs: number | undefined;
  esptoolJsError?: string;
  /** limitMs ÷ transferMs. */
  ofLimit: number;
  /** protocolLimit ÷ modelTransferMs (target ≥ 0.95) and ÷ transferMs. */
  ofProtocolModel: number;
  ofProtocolReal: number;
  /** In the real-time run's erase + write, how late the timers fired, summed. */
  timersLateMs?: number;
  /** oursMs ÷ esptoolJsMs (target ≤ 1.0, equal settings). */
  oursOverEsptoolJs: number | undefined;
}

/**
 * A board that holds an older release where the image goes, as when firmware is updated: the
 * flasher stub erases only sectors that were written, so a factory-blank board would need no
 * erase at all and the erase + program limit would not apply.
 */
export function boardWithOldFirmware(
  name: string,
  clock: Clock,
  imageBytes: number,
  link?: LinkModel,
): EspSimBoard {
  const old = benchImage('random', imageBytes, 99);
  return createBoard(name, {
    clock,
    seed: 1,
    images: [{ address: ADDRESS, data: old }],
    ...(link ? { link } : {}),
  }) as EspSimBoard;
}

/** The esp-serial driver talking to the ROM loader only. */
const romOnly: Connector<SerialPortHandle> = {
  ...espDriver,
  connect: (port, options) => connectEsp(port, { ...options, useStub: 'never' }),
};

/**
 * Our engine writes `image` to a board of `s` that holds an older release, with `settings`.
 * Also returns the line speed the job ended at.
 */
export async function runOurs(
  s: Pick<EspScenario, 'board' | 'linkModel' | 'loader'>,
  image: Uint8Array,
  clock: Clock,
  settings: JobSettings,
): Promise<{ ms: number; phases: PhaseTimes; late: PhaseTimes; result: JobResult; baud: number }> {
  const board = boardWithOldFirmware(s.board, clock, image.length, s.linkModel);
  const job = new FlashJob({
    port: board.wire!.port!,
    connector: s.loader === 'rom' ? romOnly : espDriver,
    source: { kind: 'unverified', name: 'app', address: ADDRESS, data: image },
    allowUnverified: true,
    clock,
    settings,
  });
  const { ms, phases, late, result } = await measureJob(job, clock, 'our engine');
  if (!equalBytes(board.flash.read(ADDRESS, image.length), image)) {
    throw new Error('our engine: the flash does not hold the image');
  }
  return { ms, phases, late, result, baud: board.device.baudRate ?? 0 };
}

/**
 * The protocol limit of a scenario: the least over two zlib streams a host may send, level 9
 * as one stream and what our driver sends (level 6, flushed every 4 KiB). Neither is always the
 * faster: the bytes each block inflates to decide how the device's work falls.
 */
function protocolLimit(s: EspScenario, image: Uint8Array): { limit: Limit; streamBytes: number } {
  const t = serialTiming(s.linkModel, s.baud);
  const chip = ESP_CHIPS[s.board === 'esp32' ? 'esp32' : 'esp32s3'];
  const streams = [
    zlibSync(image, { level: 9 }),
    compressImage(image, { chunkSize: FLASH_SECTOR_SIZE, level: 6 }).data,
  ];
  const limits = streams.map((data) => {
    const write = { offset: ADDRESS, imageBytes: image.length, data, timing: W25Q32_TIMING };
    const limit =
      s.loader === 'rom'
        ? espRomLimit(t, {
            ...write,
            compressed: true,
            statusBytes: chip.romStatusBytes,
            beginWords: chip.romBeginHasEncryptedWord ? 5 : 4,
          })
        : espStubLimit(t, { ...write, sectorReadMs: STUB_SECTOR_READ_MS });
    return { limit, streamBytes: data.length };
  });
  return limits.reduce((a, b) => (b.limit.ms < a.limit.ms ? b : a));
}

/** A terminal that prints nothing. */
export const quietTerminal: IEspLoaderTerminal = {
  clean: () => undefined,
  writeLine: () => undefined,
  write: () => undefined,
};

async function runEsptoolJs(s: EspScenario, image: Uint8Array): Promise<number> {
  const board = boardWithOldFirmware(s.board, realClock, image.length, s.linkModel);
  const serial = new FakeSerial();
  serial.addWire(board.wire!);
  const port = await serial.requestPort();
  const transport = new Transport(port, false);
  // esptool-js 0.7.0 prints some trace lines even with tracing off.
  (transport as unknown as { trace: (message: string) => void }).trace = () => undefined;
  const t0 = performance.now();
  try {
    const loader = new ESPLoader({
      transport,
      baudrate: s.baud,
      romBaudrate: 115200,
      terminal: quietTerminal,
    });
    await loader.main('default_reset');
    await loader.writeFlash({
      fileArray: [{ data: image, address: ADDRESS }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
      calculateMD5Hash: (data: Uint8Array) => toHex(md5(data)),
    });
    await loader.after('hard_reset');
    const ms = performance.now() - t0;
    if (!equalBytes(board.flash.read(ADDRESS, image.length), image)) {
      throw new Error('esptool-js: the flash does not hold the image');
    }
    return ms;
  } finally {
    await transport.disconnect().catch(() => undefined);
  }
}

/** Runs every scenario with both image kinds; ours and esptool-js (stub rows) back to back. */
export async function runEspSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<EspRow[]> {
  const rows: EspRow[] = [];
  for (const s of espScenarios(options.quick)) {
    for (const kind of ['realistic', 'random'] as const) {
      const image = benchImage(kind, s.imageBytes, 7);
      const compressedBytes = bestCompressedSize(image);
      const wireLimitMs = (compressedBytes / s.linkBytesPerSecond) * 1000;
      const flashLimitMs =
        espEraseMs(image.length, W25Q32_TIMING) + W25Q32_TIMING.programMs(image.length);
      const limitMs = Math.max(wireLimitMs, flashLimitMs);
      const { limit, streamBytes } = protocolLimit(s, image);
      // A full write, as the limit counts it (the delta suite measures the comparison).
      const settings = { baudRate: s.baud, delta: false };
      const model = await runOurs(
        s,
        image,
        new VirtualClock({ yieldToHost: setImmediate }),
        settings,
      );
      const ours = await runOurs(s, image, lateClock(), settings);
      let esptoolJsMs: number | undefined;
      let esptoolJsError: string | undefined;
      // esptool-js 0.7.0 always uploads its stub: it has no ROM-only flow to compare with.
      if (s.loader === 'stub') {
        try {
          esptoolJsMs = await runEsptoolJs(s, image);
        } catch (err) {
          esptoolJsError = err instanceof Error ? err.message : String(err);
        }
      }
      const t = transferMs(ours.phases);
      const modelT = transferMs(model.phases);
      const row: EspRow = {
        ...s,
        kind,
        compressedBytes,
        wireLimitMs,
        flashLimitMs,
        limitMs,
        rawBytesPerSecond: rawBytesPerSecond(serialTiming(s.linkModel, s.baud)),
        protocolLimit: limit,
        limitStreamBytes: streamBytes,
        oursMs: ours.ms,
        transferMs: t,
        phases: ours.phases,
        oursModelMs: model.ms,
        modelTransferMs: modelT,
        esptoolJsMs,
        ...(esptoolJsError === undefined ? {} : { esptoolJsError }),
        ofLimit: limitMs / t,
        ofProtocolModel: limit.ms / modelT,
        ofProtocolReal: limit.ms / t,
        timersLateMs: transferMs(ours.late),
        oursOverEsptoolJs: esptoolJsMs === undefined ? undefined : ours.ms / esptoolJsMs,
      };
      rows.push(row);
      const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
      options.log(
        `esp ${s.loader} ${s.imageBytes / KiB} KiB ${kind} @ ${s.link} ${s.baud}: ours ${sec(ours.ms)}, ` +
          `erase+write ${sec(t)} (model ${sec(modelT)}), protocol limit ${sec(limit.ms)} ` +
          `(${row.ofProtocolModel.toFixed(3)} of modelled), data alone ${sec(limitMs)}, ` +
          `esptool-js ${esptoolJsMs === undefined ? (esptoolJsError ?? '–') : sec(esptoolJsMs)}`,
      );
    }
  }
  return rows;
}
