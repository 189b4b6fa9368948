// Sizes of what a browser downloads, from a production build made in memory (nothing is
// written): the embeddable customer updater (`webflash-update.js` and every chunk it imports
// statically), what it loads on top to flash an ESP board (driver and compressor chunks, and
// their lazy imports to any depth), an STM32 board over serial or a DFU board over WebUSB, the
// flasher stub data it fetches per chip, its workers, and the technician app (index.html's
// entry). Lazily loaded demo chunks (virtual boards, simulators) are left out: production pages
// never load them. Sizes are gzip level 9, as served with `Content-Encoding: gzip`.
//
//   node scripts/size-report.mjs          # table
//   node scripts/size-report.mjs --json   # machine-readable, for the benchmarks
//   node scripts/size-report.mjs --check  # also exits 1 when a complete ESP update is over budget
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { DEMO_MODULE, simulatorCodeIn } from './production-check.mjs';

const json = process.argv.includes('--json');
const check = process.argv.includes('--check');
/**
 * The customer updater's budget: the JavaScript of a complete ESP update, gzipped, in bytes
 * (docs/embedding.md, "Size"; benchmarks/size.ts `CUSTOMER_JS_TARGET_BYTES` is the same figure).
 */
const CUSTOMER_ESP_BUDGET_BYTES = 60_000;
// Always a production build, whatever NODE_ENV this process inherited (a Vite dev server started
// earlier in a parent process sets it to "development", which would build the demo in).
process.env.NODE_ENV = 'production';
const CUSTOMER_ENTRY = 'webflash-update.js';

const result = await build({
  logLevel: 'silent',
  mode: 'production',
  build: { write: false, sourcemap: false },
});
const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output ?? []);
const byName = new Map(outputs.map((o) => [o.fileName, o]));
// A production build carries no simulator or demo code at all, not even in a lazy chunk.
if (process.env['VITE_WEBFLASH_DEMO'] !== '1') {
  const found = simulatorCodeIn(outputs);
  if (found.length > 0) {
    console.error(
      `size-report: the production build carries simulator code:\n  ${found.join('\n  ')}`,
    );
    process.exit(1);
  }
}

const bytesOf = (o) => (o.type === 'chunk' ? o.code : o.source);
const raw = (o) => Buffer.byteLength(bytesOf(o));
const gz = (o) => gzipSync(Buffer.from(bytesOf(o)), { level: 9 }).length;

function staticClosure(start) {
  const seen = new Set();
  const walk = (name) => {
    if (seen.has(name)) return;
    const chunk = byName.get(name);
    if (!chunk || chunk.type !== 'chunk') return;
    seen.add(name);
    for (const dep of chunk.imports) walk(dep);
  };
  for (const s of start) walk(s);
  return seen;
}

const isDemoChunk = (name) => {
  const chunk = byName.get(name);
  const ids = chunk?.moduleIds ?? Object.keys(chunk?.modules ?? {});
  return ids.length > 0 && ids.every((id) => DEMO_MODULE.test(id));
};

/** Workers and other .js assets that `chunks` reference by file name. */
function workersOf(chunks) {
  const found = new Set();
  for (const name of chunks) {
    const code = byName.get(name)?.code ?? '';
    for (const o of outputs) {
      if (o.fileName.endsWith('.js') && /worker/.test(o.fileName) && !chunks.has(o.fileName)) {
        const base = o.fileName.split('/').pop();
        if (code.includes(base)) found.add(o.fileName);
      }
    }
  }
  return found;
}

function total(names) {
  let r = 0;
  let g = 0;
  for (const n of names) {
    const o = byName.get(n);
    if (!o) continue;
    r += raw(o);
    g += gz(o);
  }
  return { files: [...names].sort(), bytes: r, gzipBytes: g };
}

if (!byName.has(CUSTOMER_ENTRY)) {
  console.error(`size-report: the build has no ${CUSTOMER_ENTRY} (see vite.config.ts inputs)`);
  process.exit(1);
}

// The customer updater: its static closure, then each lazily loaded (non-demo) chunk with what
// it imports, named by the module it was split at (the ESP driver, the compressor…), following
// lazy imports of lazy chunks to any depth.
const entry = staticClosure([CUSTOMER_ENTRY]);
const lazy = new Map();
/**
 * The ESP driver imports the flasher stubs as modules only when no stub loader is given; the
 * customer updater always gives one (stub-assets.ts fetches them as data, asserted in
 * e2e/customer.spec.ts), so that import is never taken on its page.
 */
const NOT_TAKEN = /protocols[\\/]esp[\\/]stub-modules/;
const notTaken = (name) => NOT_TAKEN.test(String(byName.get(name)?.facadeModuleId ?? ''));
const lazyClosure = (name, into) => {
  for (const dep of staticClosure([name])) {
    if (entry.has(dep) || into.has(dep)) continue;
    into.add(dep);
    for (const dyn of byName.get(dep).dynamicImports) {
      if (!isDemoChunk(dyn) && !notTaken(dyn)) lazyClosure(dyn, into);
    }
  }
  return into;
};
for (const name of entry) {
  for (const dyn of byName.get(name).dynamicImports) {
    if (isDemoChunk(dyn)) continue;
    const facade = String(byName.get(dyn).facadeModuleId ?? dyn).replace(
      /^.*[\\/]src[\\/]/,
      'src/',
    );
    lazy.set(facade, lazyClosure(dyn, new Set()));
  }
}
// Production pages must not even be able to reach the simulators (webflash-update.ts drops the
// demo import when the build is not a demo build).
const modulesOf = (name) => {
  const chunk = byName.get(name);
  return chunk?.moduleIds ?? Object.keys(chunk?.modules ?? {});
};
const demoReach = [...entry].flatMap((name) => [
  ...modulesOf(name).filter((id) => DEMO_MODULE.test(id)),
  ...byName.get(name).dynamicImports.filter(isDemoChunk),
]);
if (demoReach.length > 0 && process.env['VITE_WEBFLASH_DEMO'] !== '1') {
  console.error(`size-report: the customer entry reaches demo code: ${demoReach.join(', ')}`);
  process.exitCode = 1;
}
const union = (sets) => new Set(sets.flatMap((s) => [...s]));
/**
 * Lazy chunks an update of each protocol family loads (services.ts `choosePort`: the registry's
 * driver factory; the ESP stub as data, never the stub modules the CLI and tests import).
 */
const family = (re) => union([...lazy].filter(([k]) => re.test(k)).map(([, v]) => v));
const flashes = {
  esp: family(/protocols\/esp\/(?!stub-modules)|compress-client|customer\/stub-assets/),
  stm32: family(/protocols\/stm32\//),
  avr: family(/protocols\/avr\//),
  mcuboot: family(/protocols\/mcuboot\//),
  // The WebUSB transport and the DFU 1.1 / DfuSe drivers (customer/usb-connector.ts).
  dfu: union([...lazy].filter(([k]) => /customer\/usb-connector/.test(k)).map(([, v]) => v)),
};
const onFlash = union([...lazy.values()]);
const customerWorkers = workersOf(new Set([...entry, ...onFlash]));

// The technician app: the chunks index.html loads, and its CSS.
const html = byName.get('index.html');
const appScripts = [...String(html?.source ?? '').matchAll(/src="\/?([^"]+\.js)"/g)].map(
  (m) => m[1],
);
const appCss = [...String(html?.source ?? '').matchAll(/href="\/?([^"]+\.css)"/g)].map((m) => m[1]);
const app = staticClosure(appScripts);

const report = {
  customerEntry: total(entry),
  customerEspFlash: total(flashes.esp),
  customerStm32Flash: total(flashes.stm32),
  customerAvrFlash: total(flashes.avr),
  customerMcubootFlash: total(flashes.mcuboot),
  customerDfuFlash: total(flashes.dfu),
  customerWorkers: total(customerWorkers),
  app: total(new Set([...app, ...appCss])),
};
const customerEspTotal = total(union([entry, flashes.esp])).gzipBytes;

// The ESP flasher stub images (src/customer/stub-assets.ts): data files the driver fetches,
// one per chip, only for the chip connected. A stub bundled as a JavaScript chunk the element
// can reach would be counted above as script; the check below says so.
const STUB_JSON = /stub_flasher[\\/](\w+)\.json$/;
const stubOf = (o) => (o.originalFileNames ?? []).map((f) => STUB_JSON.exec(f)?.[1]).find(Boolean);
const stubData = Object.fromEntries(
  outputs
    .filter((o) => o.type === 'asset' && stubOf(o))
    .map((o) => [stubOf(o), { file: o.fileName, bytes: raw(o), gzipBytes: gz(o) }])
    .sort(([a], [b]) => a.localeCompare(b)),
);
const stubScripts = [...union([entry, onFlash])].filter((n) =>
  modulesOf(n).some((id) => STUB_JSON.test(id)),
);
if (stubScripts.length > 0) {
  console.error(`size-report: the customer element loads stub images as scripts: ${stubScripts}`);
  process.exitCode = 1;
}

if (json) {
  console.log(
    JSON.stringify(
      {
        ...report,
        customerEspTotalGzipBytes: customerEspTotal,
        customerEspBudgetBytes: CUSTOMER_ESP_BUDGET_BYTES,
        customerEspStubData: stubData,
      },
      null,
      2,
    ),
  );
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const row = (label, t) =>
    console.log(
      `${label.padEnd(46)} ${kb(t.bytes).padStart(9)} ${kb(t.gzipBytes).padStart(9)}  (${t.files.length} files)`,
    );
  console.log(`${'what'.padEnd(46)} ${'raw'.padStart(9)} ${'gzip'.padStart(9)}`);
  row('customer element: webflash-update.js + imports', report.customerEntry);
  row('  + when updating an ESP board (lazy)', report.customerEspFlash);
  row('  + when updating an STM32 board (lazy)', report.customerStm32Flash);
  row('  + when updating a DFU board (lazy)', report.customerDfuFlash);
  row('  + when updating an Arduino AVR board (lazy)', report.customerAvrFlash);
  row('  + when updating an MCUboot board (lazy)', report.customerMcubootFlash);
  row('  workers started (none expected)', report.customerWorkers);
  row('technician app: index.html entry + CSS', report.app);
  console.log(`customer element, complete ESP update, page scripts: ${kb(customerEspTotal)} gzip`);
  console.log('plus the flasher stub for the chip connected, fetched as data (not script):');
  for (const [chip, d] of Object.entries(stubData)) {
    console.log(`  ${chip.padEnd(44)} ${kb(d.bytes).padStart(9)} ${kb(d.gzipBytes).padStart(9)}`);
  }
}

if (check && customerEspTotal > CUSTOMER_ESP_BUDGET_BYTES) {
  console.error(
    `size-report: a complete ESP update is ${customerEspTotal} bytes of JavaScript gzipped, ` +
      `over the budget of ${CUSTOMER_ESP_BUDGET_BYTES} (docs/embedding.md, "Size").`,
  );
  process.exitCode = 1;
}
