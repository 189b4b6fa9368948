/**
 * The three fault kinds, one case at a time. A case is fully given by its protocol, kind and
 * seed, so every failure can be replayed alone (`--replay SEED --protocol P --kind K`).
 *
 * - noisy: random link faults at `NOISE_PER_BYTE` per byte in each direction;
 * - fuzz: the board's replies are rewritten at `FUZZ_RATE` (reply-fuzzer.ts);
 * - yank: the cable is pulled at a random moment of a random phase of the update, plugged back
 *   in, and the update is run again.
 */
import { equalBytes } from '../src/core/bytes.ts';
import { sleep } from '../src/core/clock.ts';
import { createLogger, type LogSink, type Logger } from '../src/core/log.ts';
import type { JobPhase } from '../src/job/types.ts';
import { Prng } from '../src/sim/prng.ts';
import { ReplyFuzzer, type FuzzKind } from '../src/sim/reply-fuzzer.ts';
import { guardedJob, type JobRun } from './guard.ts';
import type { ProtocolSetup, Rig } from './protocols.ts';

export type CaseKind = 'noisy' | 'yank' | 'fuzz';
export const CASE_KINDS: readonly CaseKind[] = ['noisy', 'yank', 'fuzz'];

/** Probability that a byte is hit, in each direction (dropped, corrupted, doubled or delayed). */
const NOISE_PER_BYTE = 1e-4;
/** Probability that a reply of the confused board is rewritten. */
const FUZZ_RATE = 0.05;
/** Time between pulling the cable and plugging it back in. */
const REPLUG_AFTER_MS = 2000;
/** Time the board gets after power-up before the next update (its bootloader may finish work). */
const SETTLE_MS = 5000;

interface NoisyOutcome extends JobRun {
  kind: 'noisy';
  faults: number;
}

interface FuzzOutcome extends JobRun {
  kind: 'fuzz';
  fuzzed: number;
  byKind: Record<FuzzKind, number>;
}

/** What the board held after the yank and a power cycle, before the retry. */
type AfterYank = 'old' | 'new' | 'partial';

interface YankOutcome extends JobRun {
  kind: 'yank';
  /** The phase the cable was pulled in (undefined if the job had already ended). */
  phase: JobPhase | undefined;
  atMs: number;
  /** How the update with the yank ended. */
  yanked: JobRun;
  after: AfterYank;
  /** The retry after re-plugging completed and the flash holds the image. */
  recovered: boolean;
}

export type Outcome = NoisyOutcome | FuzzOutcome | YankOutcome;

async function noisyCase(setup: ProtocolSetup, seed: number, log?: LogSink): Promise<NoisyOutcome> {
  const rig = await setup.build(seed);
  rig.noise(seed, NOISE_PER_BYTE);
  const run = await guardedJob(rig, logged(rig, log));
  rig.clock.stop();
  return { kind: 'noisy', ...run, faults: rig.faultCount() };
}

async function fuzzCase(setup: ProtocolSetup, seed: number, log?: LogSink): Promise<FuzzOutcome> {
  const rig = await setup.build(seed);
  const fuzzer = new ReplyFuzzer({ seed, rate: FUZZ_RATE });
  rig.confuse(fuzzer, seed);
  const run = await guardedJob(rig, logged(rig, log));
  rig.clock.stop();
  return { kind: 'fuzz', ...run, fuzzed: rig.faultCount(), byKind: { ...fuzzer.counts } };
}

/** Phases worth pulling the cable in, when the clean run spends time there. */
const YANK_PHASES: readonly JobPhase[] = [
  'connecting',
  'identifying',
  'comparing',
  'erasing',
  'writing',
  'verifying',
  'resetting',
];

async function yankCase(setup: ProtocolSetup, seed: number, log?: LogSink): Promise<YankOutcome> {
  // A clean run on an identical board gives the timeline to aim at.
  const reference = await setup.build(seed);
  const spans = new Map<JobPhase, { start: number; end: number }>();
  let last: { phase: JobPhase; at: number } | undefined;
  const t0 = reference.clock.now();
  await guardedJob(reference, {
    onPhase: (phase, at) => {
      if (last) {
        const s = spans.get(last.phase);
        spans.set(last.phase, { start: s?.start ?? last.at - t0, end: at - t0 });
      }
      last = { phase, at };
    },
  });
  reference.clock.stop();
  const candidates = YANK_PHASES.filter((p) => {
    const s = spans.get(p);
    return s !== undefined && s.end > s.start;
  });
  const prng = new Prng(seed);
  const target = candidates[prng.int(candidates.length)] ?? 'writing';
  const span = spans.get(target) ?? { start: 0, end: 1000 };
  const atMs = span.start + prng.next() * (span.end - span.start);

  const rig = await setup.build(seed);
  let phase: JobPhase | undefined;
  let hit: JobPhase | undefined;
  const start = rig.clock.now();
  const timer = rig.clock.setTimer(atMs, () => {
    hit = phase === 'done' || phase === 'failed' ? undefined : phase;
    rig.unplug();
  });
  const yanked = await guardedJob(rig, { ...logged(rig, log), onPhase: (p) => (phase = p) });
  rig.clock.clearTimer(timer);
  const waited = rig.clock.now() - start;
  if (waited < atMs) await sleep(rig.clock, atMs - waited); // pulled after the job ended
  await sleep(rig.clock, REPLUG_AFTER_MS);
  rig.replug();
  await sleep(rig.clock, SETTLE_MS);
  const after = stateOf(rig);
  if (log) {
    const note = createLogger(log, () => rig.clock.now(), 'campaign');
    note.info(`cable pulled at ${atMs.toFixed(0)} ms (${hit ?? 'after the end'}); now ${after}`);
  }
  const retry = await guardedJob(rig, logged(rig, log));
  rig.clock.stop();
  return {
    kind: 'yank',
    ...retry,
    phase: hit,
    atMs,
    yanked,
    after,
    recovered: retry.verdict === 'first-try' || retry.verdict === 'after-retries',
  };
}

function logged(rig: Rig, log: LogSink | undefined): { logger?: Logger } {
  return log ? { logger: createLogger(log, () => rig.clock.now()) } : {};
}

function stateOf(rig: Rig): AfterYank {
  const now = rig.readImage();
  if (equalBytes(now, rig.image.data)) return 'new';
  if (equalBytes(now, rig.oldImage)) return 'old';
  return 'partial';
}

/** Runs one case. */
export function runCase(
  setup: ProtocolSetup,
  kind: CaseKind,
  seed: number,
  log?: LogSink,
): Promise<Outcome> {
  if (kind === 'noisy') return noisyCase(setup, seed, log);
  if (kind === 'fuzz') return fuzzCase(setup, seed, log);
  return yankCase(setup, seed, log);
}
