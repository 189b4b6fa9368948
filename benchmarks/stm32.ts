/**
 * STM32 USART bootloader (AN3155) in real time: our engine with the stm32-usart driver flashes a
 * simulated STM32F407 (src/sim/stm32, serial wire on realClock) at 115200 baud behind a CP2102
 * and at 1 000 000 baud behind a CP2102N (the CP2102 stops at 921600, AN205), 8E1. Compared with the link's limit, baud ÷ 11 bytes per second,
 * and with the flash model's erase + program time; also run once on a VirtualClock (modelled
 * time, no CPU noise).
 *
 * Peer: stm32flash (Debian) writes, verifies and starts the same image on a fresh board served
 * on a pty (`npm run sim -- --pty`), against our headless CLI on another; both in real time,
 * including the program start. A pty has no parity bits, so stm32flash runs with `-m 8n1`; the
 * simulated board still runs 8E1 and the bridge paces its bytes at 11 bits each either way.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { equalBytes } from '../src/core/bytes.ts';
import { type Clock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import { createStm32Driver } from '../src/protocols/stm32/driver.ts';
import { hasSocat } from '../src/sim/node/pty.ts';
import {
  LINK_BYTE_STREAM,
  LINK_CP2102,
  LINK_CP2102N,
  SerialWire,
  type LinkModel,
} from '../src/sim/serial-wire.ts';
import { Stm32SimBoard } from '../src/sim/stm32/board.ts';
import { benchImage } from './images.ts';
import {
  an3155ReadLimit,
  an3155WriteLimit,
  rawBytesPerSecond,
  serialTiming,
  sumLimits,
  type Limit,
} from './limits.ts';
import { transferMs, type PhaseTimes } from './phases.ts';
import { measureJob } from './measure-job.ts';
import { lateClock } from './timer-lateness.ts';
import { runPeer, type PeerResult } from './pty-peers.ts';

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
  /** In the real-time run's erase + write, how late the timers fired, summed. */
  timersLateMs?: number;
  /** stm32flash against our CLI over a pty, when both and socat are installed. */
  peer?: PeerResult;
  /** What any AN3155 host needs over that pty: erase, write, read-back verify. */
  peerLimit?: Limit;
}

/** Everything one run measured. */
export interface Run {
  ms: number;
  phases: PhaseTimes;
  flashMs: number;
  /** Per phase, how late the timers fired (timer-lateness.ts); zero on a virtual clock. */
  late: PhaseTimes;
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
    timersLateMs: transferMs(real.late),
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

/** Write + verify of the image over the TCP/pty bridge of `npm run sim` at `baud`, 8E1. */
function ptyWriteVerifyLimit(baud: number, imageBytes: number): Limit {
  const t = serialTiming(LINK_BYTE_STREAM, baud, 11);
  return sumLimits(
    an3155WriteLimit(t, {
      imageBytes,
      sectorEraseMs: sectorEraseMs(imageBytes),
      programMs: (n) => F4_FLASH.timing.programMs(n),
    }),
    an3155ReadLimit(t, imageBytes),
  );
}

const STM32FLASH = '/usr/bin/stm32flash';
const run = promisify(execFile);

/**
 * stm32flash `-w image.bin -v -S 0x08000000 -g 0x0` (write, read back each block, start the application, as
 * our CLI does) against `webflash flash` on fresh simulated STM32F407s served on ptys.
 */
async function stm32flashPeer(baud: number, image: Uint8Array): Promise<PeerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'webflash-bench-stm32-'));
  try {
    const bin = join(dir, 'image.bin');
    writeFileSync(bin, image);
    return await runPeer({
      board: 'stm32f4',
      baud,
      image,
      address: FLASH,
      protocol: 'stm32-usart',
      chip: 'stm32f4',
      dir,
      peer: (path) =>
        run(
          STM32FLASH,
          ['-m', '8n1', '-b', String(baud), '-w', bin, '-v', '-S', '0x08000000', '-g', '0x0', path],
          {
            timeout: 300_000,
          },
        ).then(() => undefined),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CP2102 up to its 921600 baud (AN205 Table 1), the CP2102N (3 Mbaud) above. */
function bridgeFor(baud: number): LinkModel {
  return baud <= 921_600 ? LINK_CP2102 : LINK_CP2102N;
}

async function flashOnce(baud: number, image: Uint8Array, clock: Clock): Promise<Run> {
  const device = new Stm32SimBoard({ chip: 'stm32f4', wiring: 'dtr-boot0-rts-nrst', boot0: 'low' });
  const wire = new SerialWire({ clock, device, link: bridgeFor(baud), seed: 1 });
  const job = new FlashJob({
    port: wire.port!,
    connector: createStm32Driver(),
    source: { kind: 'unverified', name: 'app', address: FLASH, data: image },
    allowUnverified: true,
    clock,
    // A full write, as the limit counts it (the delta suite measures the comparison).
    settings: { baudRate: baud, delta: false },
  });
  const { ms, phases, late } = await measureJob(job, clock, 'stm32');
  if (!equalBytes(device.memory.flash.read(FLASH, image.length), image)) {
    throw new Error('stm32: the flash does not hold the image');
  }
  const flash = device.memory.flash;
  let flashMs = flash.timing.programMs(image.length);
  for (const s of flash.sectors) {
    if (s.start < FLASH + image.length) flashMs += flash.timing.sectorEraseMs(s.size);
  }
  return { ms, phases, flashMs, late };
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
    const real = await flashOnce(baud, image, lateClock());
    const linkLimitMs = (size * 11 * 1000) / baud;
    const bridge = bridgeFor(baud);
    const timing = serialTiming(bridge, baud, 11);
    const row = linkRow(
      {
        target: 'STM32F407 (AN3155 USART bootloader)',
        link: `${bridge.name} UART ${baud} baud 8E1`,
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
    // webflash's CLI takes an STM32 to 115200 at most (registry.ts, ST's tested maximum), so
    // that is the highest rate both tools run at.
    if (baud === 115200 && existsSync(STM32FLASH) && hasSocat()) {
      row.peer = await stm32flashPeer(baud, image);
      row.peerLimit = ptyWriteVerifyLimit(baud, size);
      options.log(
        `stm32 ${size / KiB} KiB @ ${baud} over a pty: stm32flash ${(row.peer.peerMs / 1000).toFixed(2)} s, ` +
          `ours ${(row.peer.oursMs / 1000).toFixed(2)} s (start ${(row.peer.oursStartMs / 1000).toFixed(2)} s), ` +
          `${row.peer.ratio.toFixed(2)}×; write + verify limit ${(row.peerLimit.ms / 1000).toFixed(2)} s`,
      );
    }
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
