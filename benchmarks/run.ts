/**
 * `npm run bench [-- --only bundle|esp|espweb|stm32|dfu|avr|mcuboot|provisioning|size|delta[,…]] [-- --quick]`
 *
 * Runs the benchmark suites one after another (never in parallel, so they do not disturb each
 * other), writes benchmarks/results/latest.json and the generated section of docs/benchmarks.md.
 * A suite that was not run keeps its previous figures. Speed and memory figures live only here,
 * never as assertions in tests.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { runAvrSuite } from './avr.ts';
import { runBundleSuite } from './bundle.ts';
import { runDeltaSuite } from './delta.ts';
import { runDfuSuite } from './dfu.ts';
import { runEspSuite } from './esp.ts';
import { runEspWebSuite } from './espweb.ts';
import { runMcubootSuite } from './mcuboot.ts';
import {
  renderResults,
  spliceResults,
  type Machine,
  type Results,
  type SuiteRecord,
} from './report.ts';
import { runProvisioningSuite } from './provisioning.ts';
import { runSizeSuite } from './size.ts';
import { runStm32Suite } from './stm32.ts';

const SUITES = [
  'bundle',
  'esp',
  'espweb',
  'stm32',
  'dfu',
  'avr',
  'mcuboot',
  'provisioning',
  'size',
  'delta',
] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: npm run bench [-- --only ${SUITES.join('|')}[,…]] [-- --quick]

  --only LIST   run only these suites (comma separated); the others keep their last figures
  --quick       smaller images and fewer repetitions (a smoke run, not for comparisons)`;

function parseArgs(argv: readonly string[]): { only: Suite[]; quick: boolean } {
  let only: Suite[] = [...SUITES];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const names = (value ?? '').split(/[,|]/).filter(Boolean);
      const bad = names.filter((n) => !(SUITES as readonly string[]).includes(n));
      if (names.length === 0 || bad.length > 0)
        throw new Error(`unknown suite: ${bad.join(', ') || '(none)'}\n${USAGE}`);
      only = names as Suite[];
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return { only, quick };
}

function machine(quick: boolean, loadStart: number): Machine {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    loadStart,
    loadEnd: os.loadavg()[0]!,
    node: process.version,
    quick,
  };
}

async function timed<T>(quick: boolean, run: () => Promise<T>): Promise<SuiteRecord<T>> {
  const loadStart = os.loadavg()[0]!;
  const result = await run();
  return { machine: machine(quick, loadStart), result };
}

const root = join(import.meta.dirname, '..');
const resultsFile = join(root, 'benchmarks', 'results', 'latest.json');
const docFile = join(root, 'docs', 'benchmarks.md');

const { only, quick } = parseArgs(process.argv.slice(2));
const log = (line: string): void => console.log(line);
const results: Results = existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results)
  : {};
const started = performance.now();
console.log(
  `webflash bench: ${only.join(', ')}${quick ? ' (quick)' : ''} on ${os.availableParallelism()} CPUs, ` +
    `load ${os.loadavg()[0]!.toFixed(1)}`,
);
for (const suite of only) {
  const t = performance.now();
  if (suite === 'bundle') {
    results.bundle = await timed(quick, () =>
      runBundleSuite({ sizesMiB: quick ? [1, 4] : [1, 4, 16], repeats: quick ? 1 : 5, log }),
    );
  } else if (suite === 'esp') {
    results.esp = await timed(quick, () => runEspSuite({ quick, log }));
  } else if (suite === 'espweb') {
    results.espweb = await timed(quick, () => runEspWebSuite({ quick, log }));
  } else if (suite === 'stm32') {
    results.stm32 = await timed(quick, () => runStm32Suite({ quick, log }));
  } else if (suite === 'avr') {
    results.avr = await timed(quick, () => runAvrSuite({ quick, log }));
  } else if (suite === 'mcuboot') {
    results.mcuboot = await timed(quick, () => runMcubootSuite({ quick, log }));
  } else if (suite === 'provisioning') {
    results.provisioning = await timed(quick, () => runProvisioningSuite({ quick, log }));
  } else if (suite === 'delta') {
    results.delta = await timed(quick, () => runDeltaSuite({ quick, log }));
  } else if (suite === 'size') {
    results.size = await timed(quick, () => runSizeSuite({ log }));
  } else {
    results.dfu = await timed(quick, () => runDfuSuite({ quick, log }));
  }
  console.log(`${suite}: ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
mkdirSync(join(root, 'benchmarks', 'results'), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
const doc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '# Benchmarks\n';
const spliced = spliceResults(doc, renderResults(results));
const prettierOptions = (await resolveConfig(docFile)) ?? {};
writeFileSync(docFile, await format(spliced, { ...prettierOptions, filepath: docFile }));
console.log(
  `done in ${((performance.now() - started) / 1000).toFixed(0)} s: benchmarks/results/latest.json, docs/benchmarks.md`,
);
