/**
 * How a build of the customer updater is configured, with the same rules as the technician app
 * (src/technician/state/app-config.ts; docs/embedding.md, "Builds"):
 *
 * - development (`npm start`, `vite`): demo build — the demo trust root and virtual boards, and
 *   the demo bundle when the page names none. `demo="off"` on the element (or `?demo=0` on the
 *   /update page) uses the real Web Serial ports instead.
 * - production (`vite build`): the trust root from `VITE_WEBFLASH_TRUST_ROOT`; no virtual
 *   boards, whatever the page says.
 * - `VITE_WEBFLASH_DEMO=1 vite build`: a production build of the demo.
 *
 * `VITE_WEBFLASH_ALLOWED_ORIGINS` lists, at build time, the origins besides the page's own that
 * bundles may come from. `VITE_WEBFLASH_PRODUCT` names the product a build updates, for pages
 * whose element has no `product` attribute.
 */
import type { BuildMode } from '../bundle/pinned-root.ts';
import { parseOriginList } from './origins.ts';

export interface CustomerConfig {
  /** Which trust root is pinned. */
  buildMode: BuildMode;
  /** Virtual boards instead of real ports (demo builds only). */
  virtualBoards: boolean;
  /** The production root envelope (root.json text). */
  productionRoot: string | undefined;
  /** Origins allowed at build time. */
  buildOrigins: readonly string[];
  /** The demo bundle's address in demo builds. */
  demoBundleUrl: string | undefined;
  /** The product this build updates (`VITE_WEBFLASH_PRODUCT`), if the build names one. */
  product: string | undefined;
}

/** The product id of the demo bundle (scripts/make-demo-bundle.ts). */
export const DEMO_PRODUCT = 'webflash-demo';

export interface CustomerConfigInputs {
  /** `import.meta.env.DEV`. */
  dev: boolean;
  /** `import.meta.env` (only VITE_WEBFLASH_* members are read). */
  env: Readonly<Record<string, unknown>>;
  /** The page's or element's demo switch ("off", "0" turn virtual boards off). */
  demo?: string | null | undefined;
  /** `import.meta.env.BASE_URL`; default "/". */
  baseUrl?: string | undefined;
}

/**
 * The configuration for these build flags.
 * @throws {UsageError} when `VITE_WEBFLASH_ALLOWED_ORIGINS` lists something that is not an origin.
 * @example resolveCustomerConfig({ dev: true, env: {} }).virtualBoards // true
 */
export function resolveCustomerConfig(inputs: CustomerConfigInputs): CustomerConfig {
  const demoBuild = inputs.dev || inputs.env['VITE_WEBFLASH_DEMO'] === '1';
  const off = inputs.demo === 'off' || inputs.demo === '0' || inputs.demo === 'false';
  const root = inputs.env['VITE_WEBFLASH_TRUST_ROOT'];
  const origins = inputs.env['VITE_WEBFLASH_ALLOWED_ORIGINS'];
  const product = inputs.env['VITE_WEBFLASH_PRODUCT'];
  return {
    buildMode: demoBuild ? 'demo' : 'production',
    virtualBoards: demoBuild && !off,
    productionRoot: typeof root === 'string' && root.length > 0 ? root : undefined,
    buildOrigins: parseOriginList(typeof origins === 'string' ? origins : undefined),
    demoBundleUrl: demoBuild ? `${inputs.baseUrl ?? '/'}demo/demo.fwb` : undefined,
    product: typeof product === 'string' && product.length > 0 ? product : undefined,
  };
}
