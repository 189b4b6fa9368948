/** Build configuration of the customer updater (src/customer/config.ts). */
import { describe, expect, it } from 'vitest';
import { resolveCustomerConfig } from '../../src/customer/config.ts';

describe('resolveCustomerConfig', () => {
  it.each([
    ['development', { dev: true, env: {} }, 'demo', true],
    ['development, demo off', { dev: true, env: {}, demo: 'off' }, 'demo', false],
    ['development, demo=0', { dev: true, env: {}, demo: '0' }, 'demo', false],
    ['production', { dev: false, env: {} }, 'production', false],
    [
      'production ignores the page asking for demo',
      { dev: false, env: {}, demo: 'on' },
      'production',
      false,
    ],
    ['demo build', { dev: false, env: { VITE_WEBFLASH_DEMO: '1' } }, 'demo', true],
  ] as const)('%s', (_name, inputs, buildMode, virtualBoards) => {
    const config = resolveCustomerConfig(inputs);
    expect(config.buildMode).toBe(buildMode);
    expect(config.virtualBoards).toBe(virtualBoards);
    expect(config.demoBundleUrl).toBe(buildMode === 'demo' ? '/demo/demo.fwb' : undefined);
  });

  it('reads the trust root and the build-time origins', () => {
    const config = resolveCustomerConfig({
      dev: false,
      env: {
        VITE_WEBFLASH_TRUST_ROOT: '{"root":1}',
        VITE_WEBFLASH_ALLOWED_ORIGINS: 'https://cdn.example.net, https://fw.example.org/',
      },
      baseUrl: '/app/',
    });
    expect(config.productionRoot).toBe('{"root":1}');
    expect(config.buildOrigins).toEqual(['https://cdn.example.net', 'https://fw.example.org']);
  });

  it('reads the product a build updates', () => {
    const env = { VITE_WEBFLASH_PRODUCT: 'acme-sensor' };
    expect(resolveCustomerConfig({ dev: false, env }).product).toBe('acme-sensor');
    expect(resolveCustomerConfig({ dev: false, env: {} }).product).toBeUndefined();
  });

  it('refuses a build-time origin list with a path in it', () => {
    expect(() =>
      resolveCustomerConfig({
        dev: false,
        env: { VITE_WEBFLASH_ALLOWED_ORIGINS: 'https://cdn.example.net/fw' },
      }),
    ).toThrow('is not an origin');
  });
});
