// Fails when value imports between modules under src/ form a cycle (type-only imports and
// dynamic import() are ignored: they create no load-order dependency). Part of `npm run lint`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve('src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|tsx)$/.test(name) && !/\.d\.ts$/.test(name)) files.push(path);
  }
})(root);

// `import x from './a.ts'`, `import './a.ts'`, `export { x } from './a.ts'`, but not
// `import type …` / `export type …`.
const IMPORT = /^\s*(import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm;

const graph = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(IMPORT)) {
    // `import { type A, type B } from …` is type-only too.
    const braces = /^\s*(?:import|export)\s*\{([^}]*)\}/.exec(m[0]);
    if (braces && braces[1].split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim())))
      continue;
    deps.push(resolve(dirname(file), m[2]));
  }
  graph.set(
    file,
    deps.filter((d) => graph.has(d) || files.includes(d)),
  );
}

const state = new Map(); // 1 = on stack, 2 = done
const stack = [];
const cycles = [];
function visit(node) {
  state.set(node, 1);
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(node, 2);
}
for (const file of files) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  for (const c of cycles)
    console.error('import cycle: ' + c.map((f) => relative('.', f)).join(' → '));
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules`);
