/**
 * MCUboot over SMP: our engine (FlashJob with the registry's 'mcuboot-smp' driver) updates a
 * simulated nRF52840 (src/sim/mcuboot: Zephyr with MCUmgr, MCUboot swap using move) with a
 * signed image (buildMcubootImage) of random bytes, from a signed release bundle: upload, test,
 * reset, swap, confirm. Three links: a CP2102 bridge at 115200, a CP2102N (the CP2102 stops at
 * 921600, AN205) at 1 000 000 baud (8N1),
 * and the board's native USB CDC ACM port. Once on a VirtualClock (modelled), once in real
 * time. The upload (the writing phase) is compared with the protocol's limit (limits.ts):
 * base64 console framing, chunks sized to the board's receive buffer, one turnaround per chunk,
 * and the erase and programming the board does before each answer.
 */
import { createBundle } from '../src/bundle/create.ts';
import { addSignature, encodeEnvelope } from '../src/bundle/dsse.ts';
import { newSecretKey, publicKeyOf } from '../src/bundle/ed25519.ts';
import { createRootEnvelope, loadTrustRoot } from '../src/bundle/trust-root.ts';
import { verifyBundle } from '../src/bundle/verify.ts';
import { type Clock, VirtualClock } from '../src/core/clock.ts';
import { fromVerifiedBundle } from '../src/job/bundle-source.ts';
import { FlashJob } from '../src/job/engine.ts';
import { driverFor, loadDrivers } from '../src/protocols/registry.ts';
import type { SerialPortHandle } from '../src/transport/link.ts';
import { buildMcubootImage } from '../src/sim/mcuboot/image-tools.ts';
import { createMcubootBoard, SIM_MCUBOOT_SECRET_KEY } from '../src/sim/mcuboot/boards.ts';
import { imageInSlot } from '../src/sim/mcuboot/slot-info.ts';
import { NRF52840_SLOTS } from '../src/sim/mcuboot/slots.ts';
import { wirePortWatcher } from '../src/sim/port-watcher.ts';
import { LINK_CP2102, LINK_CP2102N, LINK_USB_CDC, type LinkModel } from '../src/sim/serial-wire.ts';
import { benchImage } from './images.ts';
import { rawBytesPerSecond, serialTiming, smpUploadLimit, type Limit } from './limits.ts';
import type { PhaseTimes } from './phases.ts';
import { measureJob } from './measure-job.ts';
import { lateClock } from './timer-lateness.ts';

const KiB = 1024;
/** Zephyr's MCUmgr receive buffer on the simulated board (app-smp.ts default). */
const BUF_SIZE = 384;

export interface McubootRow {
  link: string;
  baud?: number;
  imageBytes: number;
  rawBytesPerSecond: number;
  /** The upload's limit, with its parts. */
  limit: Limit;
  /** Upload (writing phase), modelled and real time. */
  modelMs: number;
  realMs: number;
  /** Whole job (connect … swap and confirm), modelled and real time. */
  wholeModelMs: number;
  wholeMs: number;
  phases: PhaseTimes;
  ofLimitModel: number;
  ofLimitReal: number;
  /** In the real-time run's upload, how late the timers fired, summed (timer-lateness.ts). */
  timersLateMs?: number;
}

const key = newSecretKey(new Uint8Array(32).fill(9));
const root = loadTrustRoot(
  encodeEnvelope(
    addSignature(
      createRootEnvelope({
        version: 1,
        expires: '2035-01-01T00:00:00Z',
        threshold: 1,
        publicKeys: [publicKeyOf(key)],
      }),
      key,
    ),
  ),
);

async function source(image: Uint8Array) {
  const bytes = createBundle({
    manifest: {
      product: 'bench',
      version: '2.0.0',
      securityCounter: 1,
      created: '2026-01-01T00:00:00Z',
      expires: '2031-01-01T00:00:00Z',
      notes: '',
      targets: [
        { chip: 'nrf52840', protocol: 'mcuboot-smp', images: [{ name: 'app', slot: 0 }] } as never,
      ],
    },
    images: { app: image },
    signers: [key],
  });
  const bundle = await verifyBundle(bytes, {
    trustRoot: root,
    now: new Date('2026-06-01T00:00:00Z'),
  });
  return fromVerifiedBundle(bundle, { mode: 'customer' });
}

interface Case {
  link: LinkModel;
  baud?: number;
  bodyBytes: number;
}

async function flashOnce(
  c: Case,
  image: Uint8Array,
  clock: Clock,
): Promise<{ phases: PhaseTimes; late: PhaseTimes; ms: number }> {
  const board = createMcubootBoard({
    clock,
    seed: 5,
    link: c.link,
    board: c.baud === undefined ? {} : { baudRate: c.baud },
  });
  const job = new FlashJob({
    port: board.wire.port!,
    connector: driverFor<SerialPortHandle>('mcuboot-smp', {
      portWatcher: wirePortWatcher(board.wire),
      chip: 'nrf52840',
      ...(c.baud === undefined ? {} : { bootloaderBaud: c.baud }),
    }),
    source: await source(image),
    clock,
    settings: { timeouts: { reset: 60_000 } },
  });
  const { ms, phases, late } = await measureJob(job, clock, 'mcuboot');
  const primary = imageInSlot(board.flash, NRF52840_SLOTS.primary);
  if (!primary || primary.versionText !== '2.0.0') {
    throw new Error('mcuboot: the new image does not run from the primary slot');
  }
  return { phases, late, ms };
}

export async function runMcubootSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<McubootRow[]> {
  await loadDrivers();
  const q = options.quick ? 4 : 1;
  const rows: McubootRow[] = [];
  const cases: Case[] = [
    { link: LINK_CP2102, baud: 115_200, bodyBytes: (64 * KiB) / q },
    { link: LINK_CP2102N, baud: 1_000_000, bodyBytes: (256 * KiB) / q },
    { link: LINK_USB_CDC, bodyBytes: (256 * KiB) / q },
  ];
  for (const c of cases) {
    const image = buildMcubootImage({
      version: { major: 2, minor: 0, revision: 0, build: 0 },
      body: benchImage('random', c.bodyBytes, 13),
      secretKey: SIM_MCUBOOT_SECRET_KEY,
    });
    const model = await flashOnce(c, image, new VirtualClock({ yieldToHost: setImmediate }));
    const real = await flashOnce(c, image, lateClock());
    const t = serialTiming(c.link, c.baud ?? 115_200);
    const flash = { sectorEraseMs: 85, programMs: (n: number) => Math.ceil(n / 4) * 0.041 };
    // img_mgmt_erase_image_data: the pages the image covers and the trailer's page.
    const eraseMs = (Math.ceil(image.length / 4096) + 1) * flash.sectorEraseMs;
    const limit = smpUploadLimit(t, {
      imageBytes: image.length,
      bufSize: BUF_SIZE,
      requestMs: 0.2,
      programMs: flash.programMs,
      eraseMs,
    });
    const modelMs = (model.phases.erasing ?? 0) + (model.phases.writing ?? 0);
    const realMs = (real.phases.erasing ?? 0) + (real.phases.writing ?? 0);
    const row: McubootRow = {
      link: c.baud === undefined ? `${c.link.name} (native USB)` : `${c.link.name} UART`,
      ...(c.baud === undefined ? {} : { baud: c.baud }),
      imageBytes: image.length,
      rawBytesPerSecond: rawBytesPerSecond(t),
      limit,
      modelMs,
      realMs,
      wholeModelMs: model.ms,
      wholeMs: real.ms,
      phases: real.phases,
      ofLimitModel: limit.ms / modelMs,
      ofLimitReal: limit.ms / realMs,
      timersLateMs: real.late.writing ?? 0,
    };
    rows.push(row);
    options.log(
      `mcuboot ${row.link}${c.baud ? ` ${c.baud}` : ''} ${(image.length / KiB).toFixed(1)} KiB: upload model ` +
        `${(modelMs / 1000).toFixed(2)} s, real ${(realMs / 1000).toFixed(2)} s, limit ` +
        `${(limit.ms / 1000).toFixed(2)} s (${row.ofLimitModel.toFixed(2)} modelled); whole job ` +
        `${(real.ms / 1000).toFixed(2)} s`,
    );
  }
  return rows;
}
