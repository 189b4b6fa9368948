// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';

/**
 * Layers, lowest first (docs/architecture.md). Each may import only from the layers listed for
 * it; anything else is a lint error. Import cycles are caught by `import-x/no-cycle`.
 */
const layers = {
  core: [],
  formats: ['core'],
  audit: ['core'],
  transport: ['core'],
  framing: ['core', 'transport'],
  protocols: ['core', 'transport', 'framing', 'formats'],
  bundle: ['core', 'formats'],
  job: ['core', 'transport', 'framing', 'formats', 'protocols', 'bundle'],
  sim: ['core', 'transport', 'framing', 'formats', 'protocols', 'bundle'],
  worker: ['core', 'protocols', 'bundle', 'job', 'audit'],
  store: ['core', 'transport', 'protocols', 'bundle', 'job', 'worker', 'audit', 'sw'],
  demo: ['core', 'formats', 'transport', 'protocols', 'bundle', 'job', 'sim', 'store', 'audit'],
  ui: ['core', 'store', 'job', 'bundle', 'demo', 'transport', 'protocols', 'audit', 'sw', 'bench'],
  // The bench view (src/bench): a ui-layer feature with the same allowances as ui.
  bench: ['core', 'store', 'job', 'bundle', 'demo', 'transport', 'protocols', 'audit', 'sw'],
  // Node transports and file stores (serialport, usb, fs); nothing but the CLI may import them.
  platform: ['core', 'transport', 'framing', 'formats', 'protocols', 'bundle', 'job', 'audit'],
  cli: [
    'core',
    'formats',
    'bundle',
    'protocols',
    'framing',
    'sim',
    'job',
    'transport',
    'audit',
    'platform',
  ],
  sw: [],
  // The embeddable customer updater (src/customer). Plain DOM, no React. demo and sim are left
  // out on purpose: only a dynamic import() in demo builds may reach them (no-restricted-imports
  // does not check import() expressions), so production entries never carry the simulators.
  customer: [
    'core',
    'formats',
    'transport',
    'framing',
    'protocols',
    'bundle',
    'job',
    'worker',
    'audit',
  ],
};
const all = Object.keys(layers);

/**
 * The hand-off token that rebuilds a VerifiedBundle without hashing (src/bundle/_handoff.ts):
 * only the verifier and the two ends of the verification worker may import it.
 */
const handoffPattern = {
  group: ['**/_handoff', '**/_handoff.ts'],
  message:
    'Only src/bundle/{verify,rehydrate}.ts and src/platform/browser/verify-{worker,client}.ts may use the VerifiedBundle hand-off.',
};
const handoffUsers = [
  'src/bundle/verify.ts',
  'src/bundle/rehydrate.ts',
  'src/platform/browser/verify-worker.ts',
  'src/platform/browser/verify-client.ts',
];

const layerRule = (layer, allowed, allowHandoff) => ({
  files: allowHandoff
    ? handoffUsers.filter((f) => f.startsWith(`src/${layer}/`))
    : [`src/${layer}/**/*.{ts,tsx}`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...(allowHandoff ? [] : [handoffPattern]),
          {
            group: all
              .filter((l) => l !== layer && !allowed.includes(l))
              .flatMap((l) => [`../${l}/*`, `../../${l}/*`, `../../../${l}/*`]),
            message: `The ${layer} layer may import only from: ${allowed.join(', ') || 'itself'} (see docs/architecture.md).`,
          },
          ...(layer === 'ui' || layer === 'demo' || layer === 'bench'
            ? []
            : [
                {
                  group: ['react', 'react-dom', 'react-dom/*'],
                  message: 'React belongs to src/ui only.',
                },
              ]),
        ],
      },
    ],
  },
});

const layerRules = [
  ...Object.entries(layers).map(([layer, allowed]) => layerRule(layer, allowed, false)),
  layerRule('bundle', layers.bundle, true),
  layerRule('worker', layers.worker, true),
  {
    files: ['src/*.{ts,tsx}', 'test/**/*.ts', 'e2e/**/*.ts', 'benchmarks/**/*.ts', 'campaign/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [handoffPattern] }] },
  },
];

export default tseslint.config(
  {
    ignores: [
      '**/*.d.ts',
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'playwright-report/**',
      'public/**',
      'benchmarks/results/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.json', './tsconfig.node.json', './tsconfig.pure.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/technician/views/**/*.tsx', 'src/technician/views/**/*.ts', 'src/bench/views/**/*.{ts,tsx}', 'src/main.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'e2e/**/*.ts', 'benchmarks/**/*.ts', 'campaign/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: false, projectService: false },
      globals: globals.node,
    },
  },
  {
    // Import cycles between modules (type-only imports create no load-order dependency and are
    // ignored by the rule).
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Files stay small and about one thing.
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'max-lines': ['error', { max: 500 }] },
  },
  ...layerRules,
);
