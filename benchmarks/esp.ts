/**
 * ESP flashing in real time: our engine (FlashJob + the esp-serial driver, ROM loader) and
 * esptool-js 0.7.0 (its flasher stub, as its users run it) each flash the same image to a fresh
 * simulated board over the same link model (src/sim serial wire on realClock); esptool-js reaches
 * it through the fake Web Serial port. Our engine is also run once on a VirtualClock, which gives
 * the modelled time without any CPU noise.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { ESPLoader, Transport, type IEspLoaderTerminal } from 'esptool-js';
import { equalBytes, toHex } from '../src/core/bytes.ts';
import { type Clock, realClock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import type { JobResult } from '../src/job/types.ts';
import { espDriver } from '../src/protocols/esp/driver.ts';
import { createBoard } from '../src/sim/boards.ts';
import type { EspSimBoard } from '../src/sim/esp/boards.ts';
import { W25Q32_TIMING } from '../src/sim/flash-model.ts';
import { FakeSerial } from '../src/sim/web/fake-web-serial.ts';
import { benchImage, bestCompressedSize, espEraseMs, type ImageKind } from './images.ts';
import { recordPhases, transferMs, type PhaseTimes } from './phases.ts';

const ADDRESS = 0x10000;
const KiB = 1024;

/** One flashing scenario. */
interface EspScenario {
  /** Board preset (src/sim/esp/boards.ts). */
  board: string;
  /** Link description for the table. */
  link: string;
  /** Line speed asked for; native USB ignores it. */
  baud: number;
  imageBytes: number;
  /** Link throughput in bytes per second (baud/10 for a UART; the USB CDC model's rate). */
  linkBytesPerSecond: number;
}

function espScenarios(quick: boolean): EspScenario[] {
  const q = quick ? 4 : 1;
  return [
    {
      board: 'esp32',
      link: 'CP2102 UART',
      baud: 115200,
      imageBytes: (256 * KiB) / q,
      linkBytesPerSecond: 11520,
    },
    {
      board: 'esp32',
      link: 'CP2102 UART',
      baud: 921600,
      imageBytes: (1024 * KiB) / q,
      linkBytesPerSecond: 92160,
    },
    {
      board: 'esp32s3',
      link: 'native USB (USB-Serial/JTAG)',
      baud: 921600,
      imageBytes: (4096 * KiB) / q,
      linkBytesPerSecond: 1_000_000,
    },
  ];
}

export interface EspRow extends EspScenario {
  kind: ImageKind;
  /** zlib level 9 size of the whole image. */
  compressedBytes: number;
  wireLimitMs: number;
  /** Erase + program time of the flash model. */
  flashLimitMs: number;
  /** max(wire, flash): no tool can be faster. */
  limitMs: number;
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
  /** limitMs ÷ transferMs (target ≥ 0.95). */
  ofLimit: number;
  /** oursMs ÷ esptoolJsMs (target ≤ 0.8). */
  oursOverEsptoolJs: number | undefined;
}

/**
 * A board that holds an older release where the image goes, as when firmware is updated: the
 * flasher stub erases only sectors that were written, so a factory-blank board would need no
 * erase at all and the erase + program limit would not apply.
 */
function boardWithOldFirmware(name: string, clock: Clock, imageBytes: number): EspSimBoard {
  const old = benchImage('random', imageBytes, 99);
  return createBoard(name, {
    clock,
    seed: 1,
    images: [{ address: ADDRESS, data: old }],
  }) as EspSimBoard;
}

async function runOurs(
  s: EspScenario,
  image: Uint8Array,
  clock: Clock,
): Promise<{ ms: number; phases: PhaseTimes; result: JobResult }> {
  const board = boardWithOldFirmware(s.board, clock, image.length);
  const job = new FlashJob({
    port: board.wire!.port!,
    connector: espDriver,
    source: { kind: 'unverified', name: 'app', address: ADDRESS, data: image },
    allowUnverified: true,
    clock,
    settings: { baudRate: s.baud },
  });
  const phases = recordPhases(job, clock);
  const t0 = clock.now();
  const result = await job.run();
  const ms = clock.now() - t0;
  if (!result.ok)
    throw new Error(`our engine failed: ${result.error.code}: ${result.error.message}`);
  if (!equalBytes(board.flash.read(ADDRESS, image.length), image)) {
    throw new Error('our engine: the flash does not hold the image');
  }
  return { ms, phases, result };
}

const quiet: IEspLoaderTerminal = {
  clean: () => undefined,
  writeLine: () => undefined,
  write: () => undefined,
};

async function runEsptoolJs(s: EspScenario, image: Uint8Array): Promise<number> {
  const board = boardWithOldFirmware(s.board, realClock, image.length);
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
      terminal: quiet,
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

/** Runs every scenario with both image kinds; ours and esptool-js back to back. */
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
      const model = await runOurs(s, image, new VirtualClock({ yieldToHost: setImmediate }));
      const ours = await runOurs(s, image, realClock);
      let esptoolJsMs: number | undefined;
      let esptoolJsError: string | undefined;
      try {
        esptoolJsMs = await runEsptoolJs(s, image);
      } catch (err) {
        esptoolJsError = err instanceof Error ? err.message : String(err);
      }
      const row: EspRow = {
        ...s,
        kind,
        compressedBytes,
        wireLimitMs,
        flashLimitMs,
        limitMs,
        oursMs: ours.ms,
        transferMs: transferMs(ours.phases),
        phases: ours.phases,
        oursModelMs: model.ms,
        modelTransferMs: transferMs(model.phases),
        esptoolJsMs,
        ...(esptoolJsError === undefined ? {} : { esptoolJsError }),
        ofLimit: limitMs / transferMs(ours.phases),
        oursOverEsptoolJs: esptoolJsMs === undefined ? undefined : ours.ms / esptoolJsMs,
      };
      rows.push(row);
      options.log(
        `esp ${s.imageBytes / KiB} KiB ${kind} @ ${s.link} ${s.baud}: ours ${(ours.ms / 1000).toFixed(2)} s, ` +
          `erase+write ${(row.transferMs / 1000).toFixed(2)} s (model ${(row.modelTransferMs / 1000).toFixed(2)} s), ` +
          `limit ${(limitMs / 1000).toFixed(2)} s, ` +
          `esptool-js ${esptoolJsMs === undefined ? `failed: ${esptoolJsError}` : `${(esptoolJsMs / 1000).toFixed(2)} s`}`,
      );
    }
  }
  return rows;
}
