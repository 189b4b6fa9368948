/**
 * How a build of the app is configured (docs/technician-guide.md, "Demo mode and builds"):
 *
 * - `npm start` / `vite` (development): demo build — the demo trust root is pinned, virtual
 *   boards replace `navigator.serial`, raw unsigned images may be allowed in the options.
 *   `?demo=0` in the address uses the real Web Serial ports instead of virtual boards.
 * - `npm run build` (production): the trust root comes from `VITE_WEBFLASH_TRUST_ROOT` (the
 *   root.json text) at build time; no virtual boards, no unsigned images, and no query string
 *   changes that.
 * - `VITE_WEBFLASH_DEMO=1 npm run build`: a production bundle of the demo (for a public demo
 *   site): demo root and virtual boards, still no unsigned images.
 */
import type { BuildMode } from '../../bundle/pinned-root.ts';

export interface AppConfig {
  /** Which trust root is pinned. */
  buildMode: BuildMode;
  /** Virtual boards instead of real ports. */
  virtualBoards: boolean;
  /** Raw unsigned images may be written (development builds only). */
  unverifiedAllowed: boolean;
  /** The production root envelope (root.json text), for production builds. */
  productionRoot: string | undefined;
  /** Where the demo bundle is served. */
  demoBundleUrl: string | undefined;
}

export interface ConfigInputs {
  /** `import.meta.env.DEV`. */
  dev: boolean;
  /** `import.meta.env` (only the VITE_WEBFLASH_* members are read). */
  env: Readonly<Record<string, unknown>>;
  /** `location.search`. */
  search: string;
  /** `import.meta.env.BASE_URL`; default "/". */
  baseUrl?: string;
}

/**
 * The configuration for these build flags and page address.
 * @example resolveAppConfig({ dev: true, env: {}, search: '' }).virtualBoards // true
 */
export function resolveAppConfig(inputs: ConfigInputs): AppConfig {
  const demoBuild = inputs.dev || inputs.env['VITE_WEBFLASH_DEMO'] === '1';
  const demoParam = new URLSearchParams(inputs.search).get('demo');
  const root = inputs.env['VITE_WEBFLASH_TRUST_ROOT'];
  return {
    buildMode: demoBuild ? 'demo' : 'production',
    virtualBoards: demoBuild && demoParam !== '0' && demoParam !== 'off',
    unverifiedAllowed: inputs.dev,
    productionRoot: typeof root === 'string' && root.length > 0 ? root : undefined,
    demoBundleUrl: demoBuild ? `${inputs.baseUrl ?? '/'}demo/demo.fwb` : undefined,
  };
}
