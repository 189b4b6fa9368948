import { describe, expect, it } from 'vitest';
import { resolveAppConfig } from './app-config.ts';

describe('resolveAppConfig', () => {
  const cases: [
    string,
    Parameters<typeof resolveAppConfig>[0],
    Partial<ReturnType<typeof resolveAppConfig>>,
  ][] = [
    [
      'dev server',
      { dev: true, env: {}, search: '' },
      {
        buildMode: 'demo',
        virtualBoards: true,
        unverifiedAllowed: true,
        demoBundleUrl: '/demo/demo.fwb',
      },
    ],
    [
      'dev server, real ports',
      { dev: true, env: {}, search: '?demo=0' },
      { buildMode: 'demo', virtualBoards: false, unverifiedAllowed: true },
    ],
    ['dev server, demo=off', { dev: true, env: {}, search: '?demo=off' }, { virtualBoards: false }],
    [
      'production',
      { dev: false, env: { VITE_WEBFLASH_TRUST_ROOT: '{"x":1}' }, search: '' },
      {
        buildMode: 'production',
        virtualBoards: false,
        unverifiedAllowed: false,
        productionRoot: '{"x":1}',
        demoBundleUrl: undefined,
      },
    ],
    [
      'production ignores ?demo',
      { dev: false, env: {}, search: '?demo=1' },
      { buildMode: 'production', virtualBoards: false, productionRoot: undefined },
    ],
    [
      'production demo site',
      { dev: false, env: { VITE_WEBFLASH_DEMO: '1' }, search: '', baseUrl: '/flash/' },
      {
        buildMode: 'demo',
        virtualBoards: true,
        unverifiedAllowed: false,
        demoBundleUrl: '/flash/demo/demo.fwb',
      },
    ],
  ];
  it.each(cases)('%s', (_what, inputs, expected) => {
    expect(resolveAppConfig(inputs)).toMatchObject(expected);
  });
});
