/**
 * The rules a machine checks (docs/architecture.md, "Rules a machine checks") really fail: the
 * project's ESLint config, run through ESLint's Node API on a small tree in a temporary folder,
 * rejects a source file over 500 lines, an import cycle and an import from a higher layer, and
 * passes a clean tree. Type-aware parsing is switched off for the fixture (it is in no tsconfig);
 * the rules under test read syntax only. knip, run with the project's knip.json on a two-file
 * project, fails an export nothing imports and passes the same project without it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The fixture tree: path → text. */
const files: Record<string, string> = {
  'src/core/clean.ts': 'export const one = 1;\n',
  'src/protocols/clean.ts':
    "import { one } from '../core/clean.ts';\n\nexport const two = one + 1;\n",
  'src/core/long.ts': Array.from({ length: 501 }, (_, i) => `export const v${i} = ${i};`).join(
    '\n',
  ),
  'src/core/cycle-a.ts':
    "import { b } from './cycle-b.ts';\n\nexport const a = (): number => b() + 1;\n",
  'src/core/cycle-b.ts':
    "import { a } from './cycle-a.ts';\n\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
  'src/technician/state/state.ts': 'export const state = { ready: true };\n',
  'src/protocols/upward.ts':
    "import { state } from '../store/state.ts';\n\nexport const ready = state.ready;\n",
};

let dir: string;
let results: Map<string, ESLint.LintResult>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webflash-lint-'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  copyFileSync(join(root, 'eslint.config.js'), join(dir, 'eslint.config.js'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const eslint = new ESLint({
    cwd: dir,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        ...tseslint.configs.disableTypeChecked,
        languageOptions: { parserOptions: { project: false, projectService: false } },
      },
    ],
  });
  const out = await eslint.lintFiles(['src']);
  results = new Map(out.map((r) => [r.filePath.slice(dir.length + 1), r]));
}, 20_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The rule ids of the errors in `path`. */
const errors = (path: string): (string | null)[] =>
  (results.get(path)?.messages ?? []).filter((m) => m.severity === 2).map((m) => m.ruleId);

describe('the lint setup', () => {
  it('passes clean files (the control)', () => {
    expect(results.has('src/core/clean.ts')).toBe(true);
    expect(errors('src/core/clean.ts')).toEqual([]);
    expect(errors('src/protocols/clean.ts')).toEqual([]);
    expect(errors('src/technician/state/state.ts')).toEqual([]);
  });

  it('fails a source file of 501 lines (max-lines 500)', () => {
    expect(errors('src/core/long.ts')).toEqual(['max-lines']);
  });

  it('fails an import cycle (import-x/no-cycle)', () => {
    expect(errors('src/core/cycle-a.ts')).toEqual(['import-x/no-cycle']);
    expect(errors('src/core/cycle-b.ts')).toEqual(['import-x/no-cycle']);
  });

  it('fails an import from a higher layer (protocols → store)', () => {
    expect(errors('src/protocols/upward.ts')).toEqual(['no-restricted-imports']);
    const message = results.get('src/protocols/upward.ts')!.messages[0]!.message;
    expect(message).toContain('The protocols layer may import only from: core, transport');
  });
});

/** Runs knip with the project's knip.json on a project of `files`; returns its exit code and output. */
function knip(files: Record<string, string>): { status: number | null; output: string } {
  const project = mkdtempSync(join(tmpdir(), 'webflash-knip-'));
  try {
    copyFileSync(join(root, 'knip.json'), join(project, 'knip.json'));
    writeFileSync(join(project, 'package.json'), '{ "name": "fixture", "type": "module" }\n');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    }
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules/knip/bin/knip.js'), '--no-config-hints'],
      {
        cwd: project,
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

describe('knip', () => {
  // An entry (knip.json: src/platform/browser/*-worker.ts) that uses one export of a core module.
  const entry = "import { used } from '../core/lib.ts';\n\nexport const start = used;\n";

  it('passes a project whose exports are all used (the control)', () => {
    const r = knip({
      'src/platform/browser/main-worker.ts': entry,
      'src/core/lib.ts': 'export const used = 1;\n',
    });
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 20_000);

  it('fails an export nothing imports', () => {
    const r = knip({
      'src/platform/browser/main-worker.ts': entry,
      'src/core/lib.ts': 'export const used = 1;\nexport const unused = 2;\n',
    });
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/Unused exports \(1\)[\s\S]*unused[\s\S]*src\/core\/lib\.ts/);
  }, 20_000);
});
