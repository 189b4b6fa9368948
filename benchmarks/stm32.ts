/**
 * STM32 USART bootloader (AN3155) in real time: our engine with the stm32-usart driver flashes a
 * simulated STM32F407 behind a CP2102 bridge (src/sim/stm32, serial wire on realClock) at
 * 115200 and 1 000 000 baud, 8E1. Compared with the link's limit, baud ÷ 11 bytes per second,
 * and with the flash model's erase + program time; also run once on a VirtualClock (modelled
 * time, no CPU noise).
 */
import { equalBytes } from '../src/core/bytes.ts';
import { type Clock, realClock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import { createStm32Driver } from '../src/protocols/stm32/driver.ts';
import { LINK_CP2102, SerialWire } from '../src/sim/serial-wire.ts';
import { Stm32SimBoard } from '../src/sim/stm32/board.ts';
import { benchImage } from './images.ts';
import { an3155WriteLimit, rawBytesPerSecond, serialTiming, type Limit } from './limits.ts';
import { recordPhases, transferMs, type PhaseTimes } from './phases.ts';

const FLASH = 0x08000000;
const KiB = 1024;

export interface LinkRow {
  target: string;
  link: string;
  imageBytes: number;
  /** Time the link alone needs for the image bytes. */
  linkLimitMs: number;
  /** Erase + program time of the flash model. */
  flashLimitMs: number;
  /** Whole job (connect … reset), real time. */
  oursMs: number;
  /** Erasing + writing phases, real time. */
  transferMs: number;
  /** The same two on a VirtualClock (modelled time, no CPU noise). */
  oursModelMs: number;
  modelTransferMs: number;
  /** Real time per phase. */
  phases: PhaseTimes;
  /** Image bytes per second while erasing + writing, real time. */
  bytesPerSecond: number;
  /** linkLimitMs ÷ transferMs (target ≥ 0.95). */
  ofLink: number;
  /** max(link, flash) ÷ transferMs. */
  ofLimit: number;
  /** Raw line rate, bytes per second. */
  rawBytesPerSecond?: number;
  /** The protocol's own limit for erase + write (limits.ts), with its parts. */
  protocolLimit?: Limit;
  /** protocolLimit ÷ modelTransferMs (target ≥ 0.95) and ÷ transferMs. */
  ofProtocolModel?: number;
  ofProtocolReal?: number;
}

/** Everything one run measured. */
export interface Run {
  ms: number;
  phases: PhaseTimes;
  flashMs: number;
}

/** A row from a real-time and a modelled run. */
export function linkRow(
  head: {
    target: string;
    link: string;
    imageBytes: number;
    linkLimitMs: number;
    rawBytesPerSecond: number;
    protocolLimit: Limit;
  },
  real: Run,
  model: Run,
): LinkRow {
  const t = transferMs(real.phases);
  return {
    ...head,
    ofProtocolModel: head.protocolLimit.ms / transferMs(model.phases),
    ofProtocolReal: head.protocolLimit.ms / t,
    flashLimitMs: real.flashMs,
    oursMs: real.ms,
    transferMs: t,
    oursModelMs: model.ms,
    modelTransferMs: transferMs(model.phases),
    phases: real.phases,
    bytesPerSecond: (head.imageBytes * 1000) / t,
    ofLink: head.linkLimitMs / t,
    ofLimit: Math.max(head.linkLimitMs, real.flashMs) / t,
  };
}

/** The simulated STM32F407's flash (layout and timing), for the limit. */
const F4_FLASH = new Stm32SimBoard({ chip: 'stm32f4', wiring: 'dtr-boot0-rts-nrst', boot0: 'low' })
  .memory.flash;

/** Erase times of the sectors an image at FLASH of `size` bytes touches. */
function sectorEraseMs(size: number): number[] {
  return F4_FLASH.sectors
    .filter((s) => s.start < FLASH + size)
    .map((s) => F4_FLASH.timing.sectorEraseMs(s.size));
}

async function flashOnce(baud: number, image: Uint8Array, clock: Clock): Promise<Run> {
  const device = new Stm32SimBoard({ chip: 'stm32f4', wiring: 'dtr-boot0-rts-nrst', boot0: 'low' });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed: 1 });
  const job = new FlashJob({
    port: wire.port!,
    connector: createStm32Driver(),
    source: { kind: 'unverified', name: 'app', address: FLASH, data: image },
    allowUnverified: true,
    clock,
    settings: { baudRate: baud },
  });
  const phases = recordPhases(job, clock);
  const t0 = clock.now();
  const result = await job.run();
  const ms = clock.now() - t0;
  if (!result.ok) throw new Error(`stm32: ${result.error.code}: ${result.error.message}`);
  if (!equalBytes(device.memory.flash.read(FLASH, image.length), image)) {
    throw new Error('stm32: the flash does not hold the image');
  }
  const flash = device.memory.flash;
  let flashMs = flash.timing.programMs(image.length);
  for (const s of flash.sectors) {
    if (s.start < FLASH + image.length) flashMs += flash.timing.sectorEraseMs(s.size);
  }
  return { ms, phases, flashMs };
}

export async function runStm32Suite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<LinkRow[]> {
  const q = options.quick ? 4 : 1;
  const rows: LinkRow[] = [];
  for (const [baud, size] of [
    [115200, (64 * KiB) / q],
    [1_000_000, (256 * KiB) / q],
  ] as const) {
    const image = benchImage('random', size, 3);
    const model = await flashOnce(baud, image, new VirtualClock({ yieldToHost: setImmediate }));
    const real = await flashOnce(baud, image, realClock);
    const linkLimitMs = (size * 11 * 1000) / baud;
    const timing = serialTiming(LINK_CP2102, baud, 11);
    const row = linkRow(
      {
        target: 'STM32F407 (AN3155 USART bootloader)',
        link: `CP2102 UART ${baud} baud 8E1`,
        imageBytes: size,
        linkLimitMs,
        rawBytesPerSecond: rawBytesPerSecond(timing),
        protocolLimit: an3155WriteLimit(timing, {
          imageBytes: size,
          sectorEraseMs: sectorEraseMs(size),
          programMs: (n) => F4_FLASH.timing.programMs(n),
        }),
      },
      real,
      model,
    );
    rows.push(row);
    options.log(
      `stm32 ${size / KiB} KiB @ ${baud}: ${(real.ms / 1000).toFixed(2)} s, erase+write ${(row.transferMs / 1000).toFixed(2)} s ` +
        `(model ${(row.modelTransferMs / 1000).toFixed(2)} s), ` +
        `link limit ${(linkLimitMs / 1000).toFixed(2)} s, flash ${(real.flashMs / 1000).toFixed(2)} s, ` +
        `protocol limit ${(row.protocolLimit!.ms / 1000).toFixed(2)} s (${row.ofProtocolModel!.toFixed(2)} modelled)`,
    );
  }
  return rows;
}
