/**
 * `npm run campaign [-- --quick] [-- --json] [-- --only P[,…]] [-- --seed N]`
 * `npm run campaign -- --replay SEED --protocol P --kind noisy|yank|fuzz`
 *
 * The fault campaign: for each protocol, updates over a noisy link, yanked plugs and a
 * confused board, all on the virtual clock through the job runner the faces use. Prints a line
 * per failure (with the command that replays it) and a summary per protocol; a full run (no
 * --quick, no --only) rewrites the generated section of docs/reliability.md. Exits with 1 when
 * any update was silently wrong, hung or threw an uncaught error.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { CASE_KINDS, runCase, type CaseKind, type Outcome } from './cases.ts';
import { watchEscapes } from './guard.ts';
import { PROTOCOLS, SETUPS, setupOf, type CampaignProtocol } from './protocols.ts';
import { renderResults, spliceResults, summaryLine, type CampaignResults } from './report.ts';
import { failureOf, tally, type FailureLine, type ProtocolFigures } from './tally.ts';

const USAGE = `usage: npm run campaign [-- --quick] [-- --json] [-- --only P[,…]] [-- --seed N]
       npm run campaign -- --replay SEED --protocol P --kind noisy|yank|fuzz

  --quick         50 noisy updates, 10 yanks, 1000 confused replies per protocol (CI size)
  --json          print the results as JSON (progress goes to stderr)
  --only LIST     these protocols only: ${PROTOCOLS.join(', ')}
  --seed N        first seed (default 1); case i uses seed N + i
  --replay SEED   run one case with its log (needs --protocol and --kind)`;

interface Args {
  quick: boolean;
  json: boolean;
  only: CampaignProtocol[];
  seed: number;
  replay?: { seed: number; protocol: CampaignProtocol; kind: CaseKind };
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, json: false, only: [...PROTOCOLS], seed: 1 };
  let replaySeed: number | undefined;
  let protocol: string | undefined;
  let kind: string | undefined;
  const value = (i: number): string => {
    const v = argv[i];
    if (v === undefined) throw new Error(`${argv[i - 1]} needs a value\n${USAGE}`);
    return v;
  };
  const int = (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a seed: ${text}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else if (a === '--only') {
      const names = value(++i).split(',').filter(Boolean);
      const unknown = names.filter((n) => !(PROTOCOLS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0)
        throw new Error(`unknown protocol: ${unknown.join(', ') || '(none)'}\n${USAGE}`);
      args.only = names as CampaignProtocol[];
    } else if (a === '--seed') args.seed = int(value(++i));
    else if (a === '--replay') replaySeed = int(value(++i));
    else if (a === '--protocol') protocol = value(++i);
    else if (a === '--kind') kind = value(++i);
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (replaySeed !== undefined) {
    if (!(PROTOCOLS as readonly string[]).includes(protocol ?? ''))
      throw new Error(`--replay needs --protocol ${PROTOCOLS.join('|')}\n${USAGE}`);
    if (!(CASE_KINDS as readonly string[]).includes(kind ?? ''))
      throw new Error(`--replay needs --kind noisy|yank|fuzz\n${USAGE}`);
    args.replay = {
      seed: replaySeed,
      protocol: protocol as CampaignProtocol,
      kind: kind as CaseKind,
    };
  }
  return args;
}

/** Runs one case with its log on stdout. */
async function replay(r: NonNullable<Args['replay']>): Promise<boolean> {
  const setup = setupOf(r.protocol);
  const outcome = await runCase(setup, r.kind, r.seed, (e) =>
    console.log(`${e.time.toFixed(0).padStart(8)} ms ${e.source} ${e.level}: ${e.message}`),
  );
  const line = failureOf(r.protocol, r.seed, outcome);
  console.log(JSON.stringify(strip(outcome), null, 2));
  console.log(line ? `✗ ${line.verdict} ${line.code ?? ''} ${line.message ?? ''}` : '✓ ended well');
  return !line || line.verdict === 'failed';
}

function strip(o: Outcome): unknown {
  const { result: _r, ...rest } = o;
  if (o.kind === 'yank') {
    const { result: _y, ...yanked } = o.yanked;
    return { ...rest, yanked };
  }
  return rest;
}

const args = parseArgs(process.argv.slice(2));
watchEscapes();
if (args.replay) process.exitCode = (await replay(args.replay)) ? 0 : 1;
else await campaign(args);

/** The whole campaign; sets the exit code (a pipe gets all of stdout before the process ends). */
async function campaign(args: Args): Promise<void> {
  const sizes = args.quick
    ? { noisy: 50, yank: 10, fuzzReplies: 1000 }
    : { noisy: 500, yank: 50, fuzzReplies: 10_000 };
  const say = (line: string): void => {
    if (args.json) console.error(line);
    else console.log(line);
  };
  const started = performance.now();
  const failures: FailureLine[] = [];
  const protocols: CampaignResults['protocols'] = [];
  say(
    `webflash campaign${args.quick ? ' (quick)' : ''}: ${args.only.join(', ')}; ` +
      `${sizes.noisy} noisy, ${sizes.yank} yanks, ${sizes.fuzzReplies} confused replies each; seed ${args.seed}`,
  );
  for (const setup of SETUPS.filter((s) => args.only.includes(s.id))) {
    const figures: ProtocolFigures = {};
    for (const kind of CASE_KINDS) {
      const t = performance.now();
      const outcomes: Outcome[] = [];
      let fuzzed = 0;
      for (let i = 0; ; i++) {
        if (kind === 'noisy' && i >= sizes.noisy) break;
        if (kind === 'yank' && i >= sizes.yank) break;
        if (kind === 'fuzz' && fuzzed >= sizes.fuzzReplies) break;
        const seed = args.seed + i;
        const o = await runCase(setup, kind, seed);
        if (o.kind === 'fuzz') fuzzed += o.fuzzed;
        outcomes.push(o);
        const line = failureOf(setup.id, seed, o);
        if (line) {
          failures.push(line);
          say(
            `  ✗ ${kind} ${setup.id} seed ${seed}: ${line.verdict} ${line.code ?? ''} — ${line.replay}`,
          );
        }
      }
      Object.assign(figures, tally(kind, outcomes));
      say(
        `  ${setup.id} ${kind}: ${outcomes.length} cases in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    protocols.push({
      setup: {
        id: setup.id,
        label: setup.label,
        board: setup.board,
        link: setup.link,
        imageBytes: setup.imageBytes,
      },
      figures,
    });
    say(summaryLine(setup.id, figures));
  }

  const results: CampaignResults = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    quick: args.quick,
    seed: args.seed,
    sizes,
    seconds: (performance.now() - started) / 1000,
    protocols,
    failures,
  };
  const serious = failures.filter((l) => l.verdict !== 'failed');
  if (args.json) console.log(JSON.stringify(results, null, 2));
  if (!args.quick && args.only.length === PROTOCOLS.length) {
    const docFile = join(import.meta.dirname, '..', 'docs', 'reliability.md');
    const doc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '# Reliability\n';
    const spliced = spliceResults(doc, renderResults(results));
    const options = (await resolveConfig(docFile)) ?? {};
    writeFileSync(docFile, await format(spliced, { ...options, filepath: docFile }));
    say('docs/reliability.md updated');
  }
  say(
    `done in ${results.seconds.toFixed(0)} s: ${failures.length} failed updates, ` +
      `${serious.length} silently wrong, hung or uncaught`,
  );
  process.exitCode = serious.length > 0 ? 1 : 0;
}
