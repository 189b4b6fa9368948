/**
 * Arduino AVR boards: our engine (FlashJob with the registry's driver) writes and verifies a
 * random image on each simulated board (src/sim/avr) behind its own adapter, at its
 * bootloader's speed — Uno (optiboot, ATmega16U2, 115200), old Nano (ATmegaBOOT, FT232R,
 * 57600), Mega 2560 (stk500boot, ATmega16U2, 115200), Leonardo (Caterina, native USB CDC) —
 * once on a VirtualClock (modelled) and once in real time. Compared with the protocol's limit
 * (limits.ts): the bytes, turnarounds and SPM times any host must spend on write + read-back.
 *
 * Peer: avrdude (Debian) writes and verifies the same image on the same board served on a pty
 * (`npm run sim -- --pty`), against our headless CLI over the same kind of pty; both in real
 * time, including the program start.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { equalBytes } from '../src/core/bytes.ts';
import { encodeIntelHex } from '../src/formats/intel-hex.ts';
import { type Clock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import { driverFor, loadDrivers } from '../src/protocols/registry.ts';
import type { ProtocolId } from '../src/protocols/driver.ts';
import type { SerialPortHandle } from '../src/transport/link.ts';
import type { AvrSimBoardHandle } from '../src/sim/avr/boards.ts';
import { createBoard } from '../src/sim/boards.ts';
import { SimPortWatcher } from '../src/sim/port-watcher.ts';
import { LINK_BYTE_STREAM } from '../src/sim/serial-wire.ts';
import { benchImage } from './images.ts';
import {
  avr109Limit,
  rawBytesPerSecond,
  serialTiming,
  stk500v1Limit,
  stk500v2Limit,
  sumLimits,
  type Limit,
} from './limits.ts';
import type { PhaseTimes } from './phases.ts';
import { measureJob } from './measure-job.ts';
import { lateClock } from './timer-lateness.ts';
import { runPeer, type PeerResult } from './pty-peers.ts';

const KiB = 1024;

interface AvrBoardCase {
  board: string;
  /** avrdude's programmer and part. */
  avrdude: { programmer: string; part: string };
  imageBytes: number;
}

const BOARDS: readonly AvrBoardCase[] = [
  { board: 'uno', avrdude: { programmer: 'arduino', part: 'm328p' }, imageBytes: 16 * KiB },
  { board: 'nano-old', avrdude: { programmer: 'arduino', part: 'm328p' }, imageBytes: 16 * KiB },
  { board: 'mega2560', avrdude: { programmer: 'wiring', part: 'm2560' }, imageBytes: 32 * KiB },
  { board: 'leonardo', avrdude: { programmer: 'avr109', part: 'm32u4' }, imageBytes: 16 * KiB },
];

export interface AvrRow {
  board: string;
  label: string;
  protocol: string;
  link: string;
  baud: number;
  imageBytes: number;
  /** Raw line rate, bytes per second. */
  rawBytesPerSecond: number;
  /** The protocol's limit for write + read-back, with its parts. */
  limit: Limit;
  /** Write + verify phases, modelled (VirtualClock) and real time. */
  modelMs: number;
  realMs: number;
  /** Whole job (connect … reset), real time. */
  wholeMs: number;
  phases: PhaseTimes;
  /** limit ÷ modelled (target ≥ 0.95) and limit ÷ real time. */
  ofLimitModel: number;
  ofLimitReal: number;
  /** In the real-time run's write + verify, how late the timers fired, summed (timer-lateness.ts). */
  timersLateMs?: number;
  /** avrdude against our CLI over a pty, when avrdude is installed. */
  peer?: PeerResult;
  /** What any host needs for write + read-back over that pty (the sim's TCP/pty bridge). */
  peerLimit?: Limit;
}

function limitFor(b: AvrSimBoardHandle, imageBytes: number, link = b.wire!.link): Limit {
  const chip = b.device.chip;
  const t = serialTiming(link, b.baudRate);
  const page = {
    pageSize: chip.pageSize,
    eraseMs: b.device.flash.timing.sectorEraseMs(chip.pageSize),
    writeMs: b.device.flash.timing.programMs(chip.pageSize),
    imageBytes,
  };
  const l =
    b.protocol === 'avr-stk500v1'
      ? stk500v1Limit(t, { ...page, eraseWhileReceiving: b.name === 'uno' })
      : b.protocol === 'avr-stk500v2'
        ? stk500v2Limit(t, page)
        : avr109Limit(t, page);
  return sumLimits(l.write, l.verify);
}

async function flashOnce(
  c: AvrBoardCase,
  image: Uint8Array,
  clock: Clock,
): Promise<{ board: AvrSimBoardHandle; phases: PhaseTimes; late: PhaseTimes; ms: number }> {
  const board = createBoard(c.board, { clock, seed: 1 }) as AvrSimBoardHandle;
  const wire = board.wire!;
  const job = new FlashJob({
    port: wire.port!,
    connector: driverFor<SerialPortHandle>(board.protocol as ProtocolId, {
      portWatcher: new SimPortWatcher(wire),
      bootloaderBaud: board.baudRate,
    }),
    source: { kind: 'unverified', name: 'sketch', address: 0, data: image },
    allowUnverified: true,
    clock,
    // A full write and its verification, as the limit counts them (the delta suite measures
    // the comparison).
    settings: { delta: false },
  });
  const { ms, phases, late } = await measureJob(job, clock, `avr ${c.board}`);
  if (!equalBytes(board.flash.read(0, image.length), image)) {
    throw new Error(`avr ${c.board}: the flash does not hold the image`);
  }
  return { board, phases, late, ms };
}

const writeVerifyMs = (p: PhaseTimes): number =>
  (p.erasing ?? 0) + (p.writing ?? 0) + (p.verifying ?? 0);

const AVRDUDE = '/usr/bin/avrdude';
const run = promisify(execFile);

export async function runAvrSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<AvrRow[]> {
  await loadDrivers();
  const q = options.quick ? 4 : 1;
  const rows: AvrRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'webflash-bench-avr-'));
  try {
    for (const c of BOARDS) {
      const size = c.imageBytes / q;
      const image = benchImage('random', size, 11);
      const model = await flashOnce(c, image, new VirtualClock({ yieldToHost: setImmediate }));
      const real = await flashOnce(c, image, lateClock());
      const b = real.board;
      const limit = limitFor(b, size);
      const modelMs = writeVerifyMs(model.phases);
      const realMs = writeVerifyMs(real.phases);
      const row: AvrRow = {
        board: c.board,
        label: b.label,
        protocol: b.protocol,
        link: b.wire!.link.name,
        baud: b.baudRate,
        imageBytes: size,
        rawBytesPerSecond: rawBytesPerSecond(serialTiming(b.wire!.link, b.baudRate)),
        limit,
        modelMs,
        realMs,
        wholeMs: real.ms,
        phases: real.phases,
        ofLimitModel: limit.ms / modelMs,
        ofLimitReal: limit.ms / realMs,
        timersLateMs: writeVerifyMs(real.late),
      };
      if (existsSync(AVRDUDE)) {
        const hex = join(dir, `${c.board}.hex`);
        writeFileSync(hex, encodeIntelHex({ segments: [{ address: 0, data: image }] }));
        row.peerLimit = limitFor(b, size, LINK_BYTE_STREAM);
        row.peer = await runPeer({
          board: c.board,
          baud: b.baudRate,
          image,
          protocol: b.protocol,
          chip: b.chip,
          dir,
          peer: (path) =>
            run(
              AVRDUDE,
              [
                '-c',
                c.avrdude.programmer,
                '-p',
                c.avrdude.part,
                '-b',
                String(b.baudRate),
                '-P',
                path,
                '-D',
                '-U',
                `flash:w:${hex}:i`,
              ],
              { timeout: 300_000 },
            ).then(() => undefined),
        });
      }
      rows.push(row);
      options.log(
        `avr ${c.board} ${size / KiB} KiB: write+verify model ${(modelMs / 1000).toFixed(2)} s, ` +
          `real ${(realMs / 1000).toFixed(2)} s, limit ${(limit.ms / 1000).toFixed(2)} s ` +
          `(${(limit.ms / modelMs).toFixed(2)} modelled)` +
          (row.peer
            ? `; avrdude ${(row.peer.peerMs / 1000).toFixed(2)} s, ours ${(row.peer.oursMs / 1000).toFixed(2)} s`
            : ''),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
