/**
 * Delta updates (docs/engine.md "Delta updates"): for each configuration the board already
 * holds the release, and the same job runs three ways — a full write (`delta: false`), the
 * identical image, and an update that changes 5 % of the erase units spread over the image
 * (one byte in every 20th unit) — each on a VirtualClock (modelled time) and in real time.
 * The figure compared is the comparing, erasing and writing phases; the final verification is
 * the same in all three. Targets, in modelled time: identical
 * ≤ 0.10× and 5 % spread ≤ 0.25× of the full write. Beside each figure, the least any
 * comparison could take on the simulated chip (`Bound`). The ESP comparison strategies (first
 * MD5 block size, then halving) are measured here too, in modelled time.
 */
import { type Clock, realClock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import type { Connector, JobSettings } from '../src/job/types.ts';
import { connectDfuse } from '../src/protocols/dfu/dfuse-driver.ts';
import type { FlashSession } from '../src/protocols/driver.ts';
import { connectEsp, type EspSession } from '../src/protocols/esp/driver.ts';
import type { SerialPortHandle } from '../src/transport/link.ts';
import { createStm32Driver } from '../src/protocols/stm32/driver.ts';
import { createBoard } from '../src/sim/boards.ts';
import {
  DfuseSimDevice,
  STM32F405_DFUSE,
  STM32L476_DFUSE,
  type DfuseChip,
} from '../src/sim/dfu/dfuse-sim.ts';
import { MD5_BYTES_PER_MS, md5Rate } from '../src/protocols/esp/md5-rate.ts';
import { W25Q32_TIMING } from '../src/sim/flash-model.ts';
import { SimUsbBus } from '../src/sim/usb/sim-usb-device.ts';
import type { EspSimBoard } from '../src/sim/esp/boards.ts';
import { LINK_CP2102, SerialWire } from '../src/sim/serial-wire.ts';
import { Stm32SimBoard } from '../src/sim/stm32/board.ts';
import { FakeUsb } from '../src/sim/web/fake-webusb.ts';
import { requestUsbDevice } from '../src/transport/webusb.ts';
import { benchImage } from './images.ts';
import {
  an3155ReadLimit,
  an3155WriteLimit,
  dfuseLimit,
  dfuseUploadLimit,
  serialTiming,
} from './limits.ts';
import { recordPhases, updateMs } from './phases.ts';

const KiB = 1024;
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

type Scenario = 'full' | 'identical' | 'spread';

/** A board holding `old`, and the connector and settings of the job that updates it. */
interface Setup {
  port: unknown;
  connector: Connector<unknown>;
  settings: JobSettings;
}

interface Config {
  name: string;
  link: string;
  address: number;
  imageBytes: number;
  /** Erase unit the 5 % spread change is laid out on. */
  unitBytes: number;
  /** Builds the board with `old` at `address` already in its flash. */
  setup(clock: Clock, old: Uint8Array): Promise<Setup>;
  /** The least a comparison and the rewrite of `changed` (erase unit offsets) can take. */
  bound?(changed: readonly number[]): number;
}

/** What the identical and the spread update cannot go below (ms, simulated chip). */
interface Bound {
  identical: number;
  spread: number;
}

interface DeltaRow {
  config: string;
  link: string;
  imageBytes: number;
  unitBytes: number;
  /** Erasing + writing phases (the comparison included), modelled and real, per scenario. */
  modelMs: Record<Scenario, number>;
  realMs: Record<Scenario, number>;
  /** "n of m blocks unchanged" of the identical and the spread update. */
  unchanged: { identical: string; spread: string };
  bound?: Bound;
}

interface StrategyRow {
  /** First-level MD5 block; undefined: the cost model's choice. */
  blockBytes: number | undefined;
  label: string;
  identicalModelMs: number;
  spreadModelMs: number;
}

export interface DeltaSuiteResult {
  rows: DeltaRow[];
  /** ESP32 1 MiB at 921600: comparison strategies against modelled time. */
  espStrategies?: StrategyRow[];
  /** The full write of the same configuration (modelled), for the ratios. */
  espFullModelMs?: number;
}

/**
 * ESP: the chip hashes the image once, at its stub's rate (md5-rate.ts: the ESP32's stub raises
 * its clocks on any port, the ESP32-S3's never does); a changed sector costs its erase and
 * programming.
 */
function espBound(imageBytes: number, chip: 'esp32' | 'esp32s3', nativeUsb: boolean) {
  const sectors = Math.ceil(imageBytes / 4096);
  const rate = MD5_BYTES_PER_MS[md5Rate({ chip, stub: true, nativeUsb })];
  return (changed: readonly number[]) =>
    (sectors * 4096) / rate +
    changed.length * (W25Q32_TIMING.sectorEraseMs(4096) + W25Q32_TIMING.programMs(4096));
}

/** The sectors (index, size) that hold the changed offsets. */
function touchedSectors(sectors: readonly number[], changed: readonly number[]): number[] {
  const touched = new Set<number>();
  for (const at of changed) {
    let start = 0;
    for (const [i, size] of sectors.entries()) {
      if (at < start + size) {
        touched.add(i);
        break;
      }
      start += size;
    }
  }
  return [...touched];
}

/**
 * DfuSe: the comparison reads the image back (UPLOAD at the bus rate), then each changed
 * sector costs what the protocol makes a host wait for it: its erase, and per 2 KiB block the
 * bus time and the poll timeout the device reports for programming it (limits.ts).
 */
function dfuseBound(imageBytes: number, chip: DfuseChip) {
  const read = dfuseUploadLimit({ imageBytes, transferSize: 2048 }).ms;
  return (changed: readonly number[]) =>
    touchedSectors(chip.sectors, changed).reduce((ms, i) => {
      const size = chip.sectors[i]!;
      return (
        ms +
        dfuseLimit({
          imageBytes: size,
          transferSize: 2048,
          sectorEraseMs: [chip.timing.sectorEraseMs(size)],
          blockPollMs: (n) => Math.ceil(chip.timing.programMs(n)),
        }).ms
      );
    }, read);
}

/** The simulated STM32L4's flash, for its timing; its pages are 2 KiB. */
const L4_FLASH = new Stm32SimBoard({ chip: 'stm32l4', wiring: 'dtr-boot0-rts-nrst', boot0: 'low' })
  .memory.flash;
const L4_PAGE = 2048;

/**
 * STM32L4 read-compare: READ_MEMORY of every page, a changed one only up to the 256-byte block
 * that differs (the driver stops there), then each changed page erased and written again.
 */
function readCompareBound(imageBytes: number) {
  const t = serialTiming(LINK_CP2102, 115200, 11);
  const timing = L4_FLASH.timing;
  return (changed: readonly number[]) => {
    const firstDiff = new Map<number, number>();
    for (const at of changed) {
      const page = Math.floor(at / L4_PAGE);
      firstDiff.set(page, Math.min(firstDiff.get(page) ?? L4_PAGE, at % L4_PAGE));
    }
    let unread = 0;
    for (const off of firstDiff.values()) unread += L4_PAGE - (Math.floor(off / 256) + 1) * 256;
    return (
      an3155ReadLimit(t, imageBytes - unread).ms +
      an3155WriteLimit(t, {
        imageBytes: firstDiff.size * L4_PAGE,
        sectorEraseMs: [...firstDiff.keys()].map(() => timing.sectorEraseMs(L4_PAGE)),
        programMs: (n) => timing.programMs(n),
      }).ms
    );
  };
}

function espConfig(
  board: string,
  link: string,
  baud: number,
  size: number,
  block?: number,
): Config {
  return {
    name: `${board === 'esp32' ? 'ESP32' : 'ESP32-S3'} ${size / KiB} KiB`,
    link,
    address: 0x10000,
    imageBytes: size,
    unitBytes: 4096,
    bound: espBound(size, board === 'esp32' ? 'esp32' : 'esp32s3', board === 'esp32s3'),
    async setup(clock, old) {
      const b = createBoard(board, {
        clock,
        seed: 1,
        images: [{ address: 0x10000, data: old }],
      }) as EspSimBoard;
      const connector = {
        id: 'esp-serial' as const,
        async connect(
          port: SerialPortHandle,
          o: Parameters<typeof connectEsp>[1],
        ): Promise<FlashSession> {
          const s: EspSession = await connectEsp(port, o);
          if (block !== undefined) s.deltaBlockSize = block;
          return s;
        },
      };
      return {
        port: b.wire!.port!,
        connector: connector,
        settings: { baudRate: baud },
      };
    },
  };
}

function stm32Config(checksum: boolean, size: number): Config {
  return {
    name: `STM32L4 ${size / KiB} KiB, ${checksum ? 'GET_CHECKSUM' : 'read-compare'}`,
    link: 'CP2102 UART 115200 baud 8E1',
    address: 0x08000000,
    imageBytes: size,
    unitBytes: 2048,
    ...(checksum ? {} : { bound: readCompareBound(size) }),
    async setup(clock, old) {
      const device = new Stm32SimBoard({
        chip: 'stm32l4',
        wiring: 'dtr-boot0-rts-nrst',
        boot0: 'low',
        checksumCommand: checksum,
      });
      device.memory.flash.load(0x08000000, old);
      const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed: 1 });
      return {
        port: wire.port!,
        connector: createStm32Driver(),
        settings: { baudRate: 115200 },
      };
    },
  };
}

function dfuseConfig(chip: DfuseChip, size: number, unitBytes: number): Config {
  return {
    name: `DfuSe ${chip.name} ${size / KiB} KiB`,
    link: 'USB full speed, wTransferSize 2048',
    address: 0x08000000,
    imageBytes: size,
    unitBytes,
    bound: dfuseBound(size, chip),
    async setup(clock, old) {
      const bus = new SimUsbBus();
      const device = new DfuseSimDevice({ clock, bus, chip });
      device.flash.load(0x08000000, old);
      bus.attach(device);
      const fake = new FakeUsb({ bus });
      const handle = await requestUsbDevice([{ vendorId: 0x0483, productId: 0xdf11 }], {
        usb: fake.usb,
        userAgent: USER_AGENT,
        clock,
      });
      const connector = { id: 'dfuse' as const, connect: connectDfuse };
      return { port: handle, connector: connector as unknown as Connector<unknown>, settings: {} };
    },
  };
}

/** Offsets of the bytes the spread change alters: one in every 20th unit (5 %), from the 11th. */
function spreadOffsets(length: number, unit: number): number[] {
  const out: number[] = [];
  for (let at = 10 * unit + 7; at < length; at += 20 * unit) out.push(at);
  return out;
}

/** The image with the spread change. */
function spreadChange(image: Uint8Array, unit: number): Uint8Array {
  const out = image.slice();
  for (const at of spreadOffsets(out.length, unit)) out[at] = out[at]! ^ 0xff;
  return out;
}

async function runOnce(
  c: Config,
  old: Uint8Array,
  image: Uint8Array,
  delta: boolean,
  clock: Clock,
): Promise<{ ms: number; figure: string }> {
  const s = await c.setup(clock, old);
  const job = new FlashJob({
    port: s.port,
    connector: s.connector,
    source: { kind: 'unverified', name: 'app', address: c.address, data: image },
    allowUnverified: true,
    clock,
    settings: { ...s.settings, delta, reset: false },
  });
  const phases = recordPhases(job, clock);
  const result = await job.run();
  if (!result.ok) throw new Error(`delta ${c.name}: ${result.error.code}: ${result.error.message}`);
  const figure = result.delta ? `${result.delta.unchanged} of ${result.delta.total}` : '—';
  return { ms: updateMs(phases), figure };
}

async function measure(c: Config, clock: () => Clock) {
  const old = benchImage('realistic', c.imageBytes);
  const spread = spreadChange(old, c.unitBytes);
  const full = await runOnce(c, old, old, false, clock());
  const identical = await runOnce(c, old, old, true, clock());
  const changed = await runOnce(c, old, spread, true, clock());
  return {
    ms: { full: full.ms, identical: identical.ms, spread: changed.ms },
    unchanged: { identical: identical.figure, spread: changed.figure },
  };
}

const virtual = (): Clock => new VirtualClock({ yieldToHost: setImmediate });

export async function runDeltaSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<DeltaSuiteResult> {
  const q = options.quick ? 4 : 1;
  const configs = [
    espConfig('esp32', 'CP2102 UART 921600 baud', 921600, (1024 * KiB) / q),
    espConfig('esp32s3', 'native USB (USB-Serial/JTAG)', 921600, (4096 * KiB) / q),
    stm32Config(true, (256 * KiB) / q),
    stm32Config(false, (256 * KiB) / q),
    dfuseConfig(STM32F405_DFUSE, (256 * KiB) / q, 16 * KiB),
    dfuseConfig(STM32L476_DFUSE, (256 * KiB) / q, 2 * KiB),
  ];
  const rows: DeltaRow[] = [];
  for (const c of configs) {
    const model = await measure(c, virtual);
    const real = await measure(c, () => realClock);
    const row: DeltaRow = {
      config: c.name,
      link: c.link,
      imageBytes: c.imageBytes,
      unitBytes: c.unitBytes,
      modelMs: model.ms,
      realMs: real.ms,
      unchanged: model.unchanged,
      ...(c.bound
        ? {
            bound: {
              identical: c.bound([]),
              spread: c.bound(spreadOffsets(c.imageBytes, c.unitBytes)),
            },
          }
        : {}),
    };
    rows.push(row);
    const r = (n: number, d: number): string => (n / d).toFixed(3);
    options.log(
      `delta ${c.name}: full ${(model.ms.full / 1000).toFixed(2)} s model / ${(real.ms.full / 1000).toFixed(2)} s real; ` +
        `identical ${r(model.ms.identical, model.ms.full)}× / ${r(real.ms.identical, real.ms.full)}×, ` +
        `5 % spread ${r(model.ms.spread, model.ms.full)}× / ${r(real.ms.spread, real.ms.full)}×`,
    );
  }
  const size = (1024 * KiB) / q;
  const strategies: [number | undefined, string][] = [
    [4 * KiB, '4 KiB: one MD5 per sector'],
    [8 * KiB, '8 KiB, halved where they differ'],
    [16 * KiB, '16 KiB, halved'],
    [64 * KiB, '64 KiB, halved'],
    [size, 'the whole image, halved'],
    [undefined, 'the cost model’s choice (default)'],
  ];
  const espStrategies: StrategyRow[] = [];
  for (const [block, label] of strategies) {
    const c = espConfig('esp32', 'CP2102 UART 921600 baud', 921600, size, block);
    const old = benchImage('realistic', c.imageBytes);
    const identical = await runOnce(c, old, old, true, virtual());
    const spread = await runOnce(c, old, spreadChange(old, c.unitBytes), true, virtual());
    espStrategies.push({
      blockBytes: block,
      label,
      identicalModelMs: identical.ms,
      spreadModelMs: spread.ms,
    });
    options.log(
      `delta ESP32 ${label}: identical ${(identical.ms / 1000).toFixed(2)} s, spread ${(spread.ms / 1000).toFixed(2)} s (model)`,
    );
  }
  return { rows, espStrategies, espFullModelMs: rows[0]!.modelMs.full };
}

const TARGET = { identical: 0.1, spread: 0.25 };

/** The docs/benchmarks.md table of this suite. */
export function deltaSection(result: DeltaSuiteResult, machine: string): string {
  const x = (n: number, d: number): string => `${(n / d).toFixed(3)}×`;
  const mark = (n: number, d: number, t: number): string => (n / d <= t ? 'met' : '**missed**');
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const bound = (b: number | undefined, full: number) => (b ? x(b, full) : '—');
  const head = [
    'configuration',
    'link',
    'full write (model / real)',
    'identical (model / real)',
    'bound',
    '≤ 0.10× (model)',
    '5 % spread (model / real)',
    'bound',
    '≤ 0.25× (model)',
    'unchanged (identical; spread)',
  ];
  const lines = result.rows.map((r) => [
    r.config,
    r.link,
    `${s(r.modelMs.full)} / ${s(r.realMs.full)}`,
    `${x(r.modelMs.identical, r.modelMs.full)} / ${x(r.realMs.identical, r.realMs.full)}`,
    bound(r.bound?.identical, r.modelMs.full),
    mark(r.modelMs.identical, r.modelMs.full, TARGET.identical),
    `${x(r.modelMs.spread, r.modelMs.full)} / ${x(r.realMs.spread, r.realMs.full)}`,
    bound(r.bound?.spread, r.modelMs.full),
    mark(r.modelMs.spread, r.modelMs.full, TARGET.spread),
    `${r.unchanged.identical}; ${r.unchanged.spread}`,
  ]);
  const full = result.espFullModelMs;
  const ratio = (ms: number) => (full === undefined ? '' : ` (${x(ms, full)})`);
  const strategies = (result.espStrategies ?? []).map((b) => [
    b.label,
    s(b.identicalModelMs) + ratio(b.identicalModelMs),
    s(b.spreadModelMs) + ratio(b.spreadModelMs),
  ]);
  const table = (h: string[], rows: string[][]): string =>
    [
      `| ${h.join(' | ')} |`,
      `| ${h.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  return [
    '### Delta updates (comparing + erasing + writing)',
    '',
    machine,
    '',
    table(head, lines),
    '',
    'ESP32 1 MiB at 921600 baud, SPI_FLASH_MD5 strategy (modelled time; ratio to the full write):',
    '',
    table(['first MD5 block', 'identical', '5 % spread'], strategies),
  ].join('\n');
}
