// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';

/**
 * Layers, lowest first (docs/architecture.md). Each may import only from the layers listed for
 * it, which are the ones it uses; anything else is a lint error. Import cycles are caught by
 * `import-x/no-cycle`. The three faces (technician, bench, customer) are rooms: each holds its
 * state, its browser wiring and its views.
 */
const layers = {
  core: [],
  formats: ['core'],
  audit: ['core'],
  transport: ['core'],
  framing: ['core'],
  protocols: ['core', 'transport', 'framing', 'formats'],
  bundle: ['core', 'formats'],
  job: ['core', 'transport', 'protocols', 'bundle'],
  sim: ['core', 'transport', 'framing', 'protocols', 'bundle'],
  // Pure rules and types the faces share (no DOM, no React, no zustand).
  app: ['core', 'transport', 'protocols', 'bundle', 'job', 'audit'],
  // Workers, IndexedDB stores, the verifier client: browser code every face may use.
  'platform/browser': ['core', 'protocols', 'bundle', 'job', 'audit', 'app'],
  // Node transports and file stores (serialport, usb, fs); nothing but the CLI may import them.
  'platform/node': ['core', 'transport', 'bundle', 'audit'],
  // React views the faces share (the release picker).
  views: ['app'],
  technician: [
    'views',
    'core',
    'transport',
    'protocols',
    'bundle',
    'job',
    'audit',
    'app',
    'platform/browser',
    'sw',
  ],
  bench: [
    'views',
    'core',
    'transport',
    'protocols',
    'bundle',
    'job',
    'audit',
    'app',
    'platform/browser',
  ],
  // The embeddable customer updater. Plain DOM, no React.
  customer: ['core', 'transport', 'protocols', 'bundle', 'job', 'platform/browser'],
  demo: ['core', 'sim'],
  sw: [],
  cli: ['core', 'formats', 'transport', 'protocols', 'bundle', 'job', 'audit', 'platform/node'],
};
const all = Object.keys(layers);

/**
 * Layers a layer may import types from, and nothing else. The simulators reach a page only
 * through demo mode, which the faces load with a dynamic `import()` in demo builds (neither
 * rule checks `import()` expressions), so a production entry never carries simulator code.
 */
const typeOnly = {
  technician: ['demo'],
  bench: ['demo', 'technician'],
  demo: ['technician', 'bench'],
};

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

const reactPattern = {
  group: ['react', 'react-dom', 'react-dom/*'],
  message:
    'React belongs to the views folders (src/views, src/technician/views, src/bench/views) only.',
};
const upTo = (path) => [`../${path}/*`, `../../${path}/*`, `../../../${path}/*`];

const layerRule = (layer, allowed, allowHandoff) => {
  const mayUse = new Set([layer, ...allowed, ...(typeOnly[layer] ?? [])]);
  const others = all.filter((l) => !mayUse.has(l) && !layer.startsWith(`${l}/`));
  return {
    files: allowHandoff
      ? handoffUsers.filter((f) => f.startsWith(`src/${layer}/`))
      : [`src/${layer}/**/*.{ts,tsx}`],
    // Tests beside the code may reach any layer (the simulators, the bundle builder).
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(allowHandoff ? [] : [handoffPattern]),
            {
              group: [
                ...others.flatMap(upTo),
                // A sibling under the same parent (platform/browser → platform/node).
                ...others
                  .filter((l) => l.includes('/') && l.split('/')[0] === layer.split('/')[0])
                  .map((l) => `../${l.split('/')[1]}/*`),
              ],
              message: `The ${layer} layer may import only from: ${allowed.join(', ') || 'itself'}${typeOnly[layer] ? `, and types from ${typeOnly[layer].join(', ')}` : ''} (see docs/architecture.md).`,
            },
            ...(layer === 'technician' || layer === 'bench' || layer === 'views'
              ? []
              : [reactPattern]),
          ],
        },
      ],
      ...(typeOnly[layer]
        ? {
            '@typescript-eslint/no-restricted-imports': [
              'error',
              {
                patterns: [
                  {
                    group: typeOnly[layer].flatMap(upTo),
                    allowTypeImports: true,
                    message: `The ${layer} layer may import only types from ${typeOnly[layer].join(', ')}; load demo code with import() in demo builds.`,
                  },
                ],
              },
            ],
          }
        : {}),
    },
  };
};

/** Inside a face: state and browser wiring never import the views, and React stays in views. */
const roomRules = ['technician', 'bench'].map((room) => ({
  files: [`src/${room}/state/**/*.{ts,tsx}`, `src/${room}/browser/**/*.{ts,tsx}`],
  ignores: ['src/**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          handoffPattern,
          {
            group: [
              ...all
                .filter((l) => !new Set([room, ...layers[room], ...(typeOnly[room] ?? [])]).has(l))
                .flatMap(upTo),
              '../views/*',
            ],
            message: `src/${room}/state and src/${room}/browser may import only from: ${layers[room].join(', ')}, and not from the views (see docs/architecture.md).`,
          },
          reactPattern,
        ],
      },
    ],
  },
}));

const layerRules = [
  ...Object.entries(layers).map(([layer, allowed]) => layerRule(layer, allowed, false)),
  layerRule('bundle', layers.bundle, true),
  layerRule('platform/browser', layers['platform/browser'], true),
  ...roomRules,
  {
    files: [
      'src/*.{ts,tsx}',
      'test/**/*.ts',
      'e2e/**/*.ts',
      'benchmarks/**/*.ts',
      'campaign/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [handoffPattern] }] },
  },
];

export default tseslint.config(
  {
    ignores: [
      '**/*.d.ts',
      'dist/**',
      'dist-cli/**',
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
    files: [
      'src/technician/views/**/*.tsx',
      'src/technician/views/**/*.ts',
      'src/bench/views/**/*.{ts,tsx}',
      'src/main.tsx',
    ],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: [
      '**/*.test.ts',
      'test/**/*.ts',
      'e2e/**/*.ts',
      'benchmarks/**/*.ts',
      'campaign/**/*.ts',
    ],
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
