/**
 * Adds up case outcomes into the figures the report shows, per protocol and kind, and keeps
 * every failure with its seed and the command that replays it.
 */
import type { CaseKind, Outcome } from './cases.ts';
import type { Verdict } from './guard.ts';
import type { CampaignProtocol } from './protocols.ts';

/** Counts by verdict, failures by error code, and virtual durations. */
export interface JobFigures {
  jobs: number;
  verdicts: Record<Verdict, number>;
  /** Failed jobs by error code. */
  codes: Record<string, number>;
  /** Virtual seconds of completed jobs: median and maximum; and of every job, the maximum. */
  medianDoneS: number | undefined;
  maxDoneS: number | undefined;
  maxAnyS: number;
  /** Engine retries in all. */
  retries: number;
}

interface NoisyFigures extends JobFigures {
  /** Faults injected in all (bytes hit on serial links, packets sent again or lost on USB). */
  faults: number;
}

interface FuzzFigures extends JobFigures {
  /** Replies the confused board rewrote, in all and by kind. */
  fuzzed: number;
  byKind: Record<string, number>;
}

export interface YankFigures {
  cases: number;
  /** Retries after re-plugging that completed and verified. */
  recovered: number;
  /** Cases by the phase the cable was pulled in ('after' when the job had ended). */
  byPhase: Record<string, { cases: number; recovered: number }>;
  /** What the board held after the yank and a power cycle. */
  after: Record<'old' | 'new' | 'partial', number>;
  /** How the update with the yank ended. */
  yanked: JobFigures;
  /** How the retry ended. */
  retry: JobFigures;
}

export interface ProtocolFigures {
  noisy?: NoisyFigures;
  yank?: YankFigures;
  fuzz?: FuzzFigures;
}

/** One case that did not end well, with how to replay it. */
export interface FailureLine {
  protocol: CampaignProtocol;
  kind: CaseKind;
  seed: number;
  verdict: Verdict;
  code?: string;
  message?: string;
  replay: string;
}

/** `npm run campaign -- --replay SEED --protocol P --kind K` */
function replayCommand(protocol: CampaignProtocol, kind: CaseKind, seed: number): string {
  return `npm run campaign -- --replay ${seed} --protocol ${protocol} --kind ${kind}`;
}

const noVerdicts = (): Record<Verdict, number> => ({
  'first-try': 0,
  'after-retries': 0,
  failed: 0,
  silent: 0,
  hang: 0,
  uncaught: 0,
});

function jobFigures(
  runs: readonly { verdict: Verdict; code?: string; ms: number; retries: number }[],
): JobFigures {
  const verdicts = noVerdicts();
  const codes: Record<string, number> = {};
  const done: number[] = [];
  let maxAny = 0;
  let retries = 0;
  for (const r of runs) {
    verdicts[r.verdict]++;
    if (r.verdict === 'failed') codes[r.code ?? '?'] = (codes[r.code ?? '?'] ?? 0) + 1;
    if (r.verdict === 'first-try' || r.verdict === 'after-retries') done.push(r.ms);
    maxAny = Math.max(maxAny, r.ms);
    retries += r.retries;
  }
  done.sort((a, b) => a - b);
  const s = (ms: number | undefined): number | undefined =>
    ms === undefined ? undefined : Math.round(ms / 100) / 10;
  return {
    jobs: runs.length,
    verdicts,
    codes,
    medianDoneS: s(done[Math.floor(done.length / 2)]),
    maxDoneS: s(done.at(-1)),
    maxAnyS: Math.round(maxAny / 100) / 10,
    retries,
  };
}

/** The figures of one protocol and kind from its outcomes. */
export function tally(kind: CaseKind, outcomes: readonly Outcome[]): ProtocolFigures {
  if (kind === 'noisy') {
    const runs = outcomes.filter((o) => o.kind === 'noisy');
    return {
      noisy: { ...jobFigures(runs), faults: runs.reduce((n, o) => n + o.faults, 0) },
    };
  }
  if (kind === 'fuzz') {
    const runs = outcomes.filter((o) => o.kind === 'fuzz');
    const byKind: Record<string, number> = {};
    for (const o of runs)
      for (const [k, n] of Object.entries(o.byKind)) byKind[k] = (byKind[k] ?? 0) + n;
    return {
      fuzz: { ...jobFigures(runs), fuzzed: runs.reduce((n, o) => n + o.fuzzed, 0), byKind },
    };
  }
  const runs = outcomes.filter((o) => o.kind === 'yank');
  const byPhase: YankFigures['byPhase'] = {};
  const after = { old: 0, new: 0, partial: 0 };
  for (const o of runs) {
    const p = o.phase ?? 'after the end';
    const entry = (byPhase[p] ??= { cases: 0, recovered: 0 });
    entry.cases++;
    if (o.recovered) entry.recovered++;
    after[o.after]++;
  }
  return {
    yank: {
      cases: runs.length,
      recovered: runs.filter((o) => o.recovered).length,
      byPhase,
      after,
      yanked: jobFigures(runs.map((o) => o.yanked)),
      retry: jobFigures(runs),
    },
  };
}

/** The failure line of an outcome, or undefined when it ended well. */
export function failureOf(
  protocol: CampaignProtocol,
  seed: number,
  o: Outcome,
): FailureLine | undefined {
  const bad = (v: Verdict): boolean => v !== 'first-try' && v !== 'after-retries';
  // A yank's own job is expected to fail (the cable went); only its silent, hung or uncaught
  // endings count, and a retry that did not recover.
  const yankedBad = o.kind === 'yank' && ['silent', 'hang', 'uncaught'].includes(o.yanked.verdict);
  if (!bad(o.verdict) && !yankedBad) return undefined;
  const source = yankedBad && o.kind === 'yank' ? o.yanked : o;
  return {
    protocol,
    kind: o.kind,
    seed,
    verdict: source.verdict,
    ...(source.code ? { code: source.code } : {}),
    ...(source.message ? { message: firstLine(source.message) } : {}),
    replay: replayCommand(protocol, o.kind, seed),
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 160);
}
