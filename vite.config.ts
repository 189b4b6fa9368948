/**
 * Vite configuration: the app, its security headers (docs/hosting.md) and the offline service
 * worker.
 *
 * Headers. `vite preview` and production hosting send a strict Content-Security-Policy: scripts,
 * styles and workers only from this origin, no inline code, network access only to this origin
 * and the bundle origins listed in WEBFLASH_BUNDLE_ORIGINS. The dev server (`npm start`) sends
 * the same policy plus a fresh nonce per response for the inline scripts and styles that Vite's
 * hot reload and the React refresh preamble need; nothing else inline runs there either.
 *
 * Environment (read when the server starts or the build runs):
 * - WEBFLASH_BUNDLE_ORIGINS: space- or comma-separated origins bundles may be fetched from,
 *   e.g. "https://fw.example.com https://cdn.example.net".
 * - WEBFLASH_FRAME_ANCESTORS: origins allowed to embed the app in an iframe (default: none but
 *   this origin).
 * - WEBFLASH_SERVICE_WORKER=off: build without the offline service worker.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** What varies in the policy between deployments. */
export interface SecurityHeaderOptions {
  /** Origins bundles may be fetched from, besides this one ("https://fw.example.com"). */
  bundleOrigins?: readonly string[];
  /** Origins that may embed the app in an iframe, besides this one. */
  frameAncestors?: readonly string[];
  /** Dev server only: the per-response nonce for Vite's inline scripts and styles. */
  nonce?: string;
  /** Dev server only: the hot-reload WebSocket origin ("ws://127.0.0.1:5173"). */
  hmrOrigin?: string;
}

/**
 * The Content-Security-Policy header value (CSP Level 3). No 'unsafe-inline' and no
 * 'unsafe-eval' anywhere: React sets `style` through the CSSOM, which CSP does not restrict.
 * @example contentSecurityPolicy({ bundleOrigins: ['https://fw.example.com'] })
 */
export function contentSecurityPolicy(options: SecurityHeaderOptions = {}): string {
  const nonce = options.nonce ? [`'nonce-${options.nonce}'`] : [];
  const connect = ["'self'", ...(options.hmrOrigin ? [options.hmrOrigin] : [])];
  return [
    "default-src 'none'",
    `script-src 'self' ${nonce.join(' ')}`.trim(),
    `style-src 'self' ${nonce.join(' ')}`.trim(),
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${[...connect, ...(options.bundleOrigins ?? [])].join(' ')}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${["'self'", ...(options.frameAncestors ?? [])].join(' ')}`,
  ].join('; ');
}

/**
 * Web Serial and WebUSB for this origin only (also inside an iframe that delegates them with
 * `allow="serial; usb"`); the sensors the app never uses are off.
 */
export const PERMISSIONS_POLICY =
  'serial=(self), usb=(self), camera=(), microphone=(), geolocation=()';

/** Every security header the app is served with. */
export function securityHeaders(options: SecurityHeaderOptions = {}): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(options),
    'Permissions-Policy': PERMISSIONS_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

/** Parses an origin list from the environment; refuses anything that is not a bare origin. */
export function parseOrigins(text: string | undefined, name: string): string[] {
  const origins = (text ?? '').split(/[\s,]+/).filter(Boolean);
  for (const o of origins) {
    let ok: boolean;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`${name}: "${o}" is not an origin such as https://fw.example.com`);
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

const env = process.env;
const headerOptions: SecurityHeaderOptions = {
  bundleOrigins: parseOrigins(env['WEBFLASH_BUNDLE_ORIGINS'], 'WEBFLASH_BUNDLE_ORIGINS'),
  frameAncestors: parseOrigins(env['WEBFLASH_FRAME_ANCESTORS'], 'WEBFLASH_FRAME_ANCESTORS'),
};

/** What Vite writes where a nonce goes (html.cspNonce); replaced per response in dev. */
const NONCE_PLACEHOLDER = 'WEBFLASH_CSP_NONCE';

/**
 * Dev server: every response gets the policy with a fresh nonce, and the page's nonce
 * attributes (placed by Vite through `html.cspNonce`) are set to that same nonce.
 */
function devCsp(): Plugin {
  return {
    name: 'webflash:dev-csp',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
        const nonce = randomBytes(18).toString('base64');
        const host = req.headers.host ?? `127.0.0.1:${server.config.server.port}`;
        res.setHeader(
          'Content-Security-Policy',
          contentSecurityPolicy({ ...headerOptions, nonce, hmrOrigin: `ws://${host}` }),
        );
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          const [chunk] = args;
          const type = String(res.getHeader('Content-Type') ?? '');
          if (type.startsWith('text/html') && chunk !== undefined && chunk !== null) {
            const text =
              typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
            args[0] = text.replaceAll(NONCE_PLACEHOLDER, nonce);
          }
          return end(...args);
        }) as typeof res.end;
        next();
      });
    },
  };
}

/** Links the web app manifest and icons from index.html (dev and build). */
function pwaLinks(): Plugin {
  return {
    name: 'webflash:pwa-links',
    transformIndexHtml: () => [
      { tag: 'link', attrs: { rel: 'manifest', href: '/manifest.webmanifest' }, injectTo: 'head' },
      {
        tag: 'link',
        attrs: { rel: 'icon', href: '/icons/icon.svg', type: 'image/svg+xml' },
        injectTo: 'head',
      },
      {
        tag: 'link',
        attrs: { rel: 'apple-touch-icon', href: '/icons/icon-192.png' },
        injectTo: 'head',
      },
      { tag: 'meta', attrs: { name: 'theme-color', content: '#1d4ed8' }, injectTo: 'head' },
    ],
  };
}

/** Files in public/ that belong to the app shell (bundles there are kept only on request). */
function publicShellFiles(publicDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.fwb')) out.push(relative(publicDir, path).split(sep).join('/'));
    }
  };
  if (existsSync(publicDir)) walk(publicDir);
  return out;
}

/**
 * Production builds: emits src/sw/sw.ts as `sw.js` with this build's file list written in,
 * adds the registration script to index.html, and writes `_headers` (Netlify, Cloudflare
 * Pages) with the same headers `vite preview` sends.
 */
function serviceWorker(enabled: boolean): Plugin {
  let publicDir = '';
  return {
    name: 'webflash:service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    buildStart() {
      if (!enabled) return;
      this.emitFile({ type: 'chunk', id: resolve('src/sw/sw.ts'), fileName: 'sw.js' });
    },
    transformIndexHtml: {
      order: 'pre',
      handler: (html) =>
        enabled
          ? html.replace(
              '</body>',
              '  <script type="module" src="/src/sw/register.ts"></script>\n  </body>',
            )
          : html,
    },
    generateBundle(_options, bundle) {
      this.emitFile({ type: 'asset', fileName: '_headers', source: netlifyHeaders() });
      const sw = bundle['sw.js'];
      if (!enabled || !sw || sw.type !== 'chunk') return;
      const files = [
        ...Object.keys(bundle).filter(
          (f) => f !== 'sw.js' && f !== '_headers' && !f.endsWith('.map') && f !== 'index.html',
        ),
        ...publicShellFiles(publicDir),
      ].sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f + '\n');
      const html = bundle['index.html'];
      if (html?.type === 'asset') hash.update(html.source);
      const manifest = JSON.stringify({ version: hash.digest('hex').slice(0, 16), files });
      const placeholder = /(["'`])__WEBFLASH_SW_MANIFEST__\1/;
      if (!placeholder.test(sw.code))
        this.error('sw.js: the build manifest placeholder is missing');
      sw.code = sw.code.replace(placeholder, () => JSON.stringify(manifest));
    },
  };
}

/** `_headers` for static hosts that read it (Netlify, Cloudflare Pages). */
function netlifyHeaders(): string {
  const lines = ['/*'];
  for (const [name, value] of Object.entries(securityHeaders(headerOptions))) {
    lines.push(`  ${name}: ${value}`);
  }
  lines.push('/assets/*', '  Cache-Control: public, max-age=31536000, immutable');
  lines.push('/sw.js', '  Cache-Control: no-cache');
  for (const page of ['/', '/index.html', '/update', '/update.html']) {
    lines.push(page, '  Cache-Control: no-cache');
  }
  return lines.join('\n') + '\n';
}

/**
 * Build entries: the technician app (index.html), the iframe-able customer page (update.html,
 * served as /update) and the embeddable customer element, emitted under a stable name,
 * `webflash-update.js`, for vendors' script tags (docs/embedding.md).
 */
const pageInputs = {
  input: {
    main: resolve('index.html'),
    update: resolve('update.html'),
    'webflash-update': resolve('src/customer/webflash-update.ts'),
  },
  output: {
    entryFileNames: (chunk: { name: string }) =>
      chunk.name === 'webflash-update' ? 'webflash-update.js' : 'assets/[name]-[hash].js',
    // Every page needs the core helpers and the hashes; one chunk for them instead of several
    // small ones saves the customer updater about 0.4 KB gzipped (docs/embedding.md, "Size").
    // Not noble's legacy hashes (only the simulators use them) nor zustand's `shallow` (only
    // the React app): in this chunk the customer updater would load them too (0.5 KB gzipped).
    codeSplitting: {
      groups: [
        {
          name: 'core',
          test: /[\\/]src[\\/]core[\\/]|@noble[\\/]hashes[\\/](?!legacy)|zustand[\\/]esm[\\/]vanilla\.mjs$/,
        },
      ],
    },
  },
};

/**
 * The trust root a production build pins (docs/publishing.md): `WEBFLASH_TRUST_ROOT` names the
 * root.json file; its text reaches the app as `import.meta.env.VITE_WEBFLASH_TRUST_ROOT`
 * (which may also be set directly to the file's text).
 */
function trustRootDefine(): Record<string, string> {
  const path = env['WEBFLASH_TRUST_ROOT'];
  if (path === undefined || path === '') return {};
  return { 'import.meta.env.VITE_WEBFLASH_TRUST_ROOT': JSON.stringify(readFileSync(path, 'utf8')) };
}

/**
 * Lazy chunks load by a plain `import()`. Vite wraps every dynamic import in a helper that first
 * adds `<link rel=modulepreload>` tags for the chunk's own imports to `document.head`; that
 * helper is about 1.3 KB gzipped in the customer updater, and on a vendor's page it would write
 * into the host's `<head>`. The app loses only the parallel fetch of a lazy chunk's imports.
 * The helper also loads the CSS of lazy chunks, so no lazy chunk may import CSS (checked here).
 */
function plainLazyImports(): Plugin {
  const helperId = '\0vite/preload-helper.js';
  return {
    name: 'webflash:plain-lazy-imports',
    enforce: 'pre',
    load(id) {
      return id === helperId ? 'export const __vitePreload = (load) => load();' : null;
    },
    generateBundle(_, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && !chunk.isEntry && chunk.viteMetadata?.importedCss.size) {
          this.error(`${chunk.fileName} is loaded lazily but imports CSS: import it statically.`);
        }
      }
    },
  };
}

export default defineConfig(({ command, isPreview }) => ({
  define: trustRootDefine(),
  plugins: [
    plainLazyImports(),
    react(),
    devCsp(),
    pwaLinks(),
    serviceWorker(env['WEBFLASH_SERVICE_WORKER'] !== 'off'),
  ],
  worker: { format: 'es' },
  // Scan every page and module at startup, so the dev server never discovers a dependency late
  // and reloads open pages mid-test (Vite's "optimized dependencies changed" reload).
  optimizeDeps: {
    entries: [
      'index.html',
      'update.html',
      'test/**/*.html',
      'benchmarks/pages/*.html',
      'src/**/*.{ts,tsx}',
    ],
  },
  build: { target: 'es2022', sourcemap: true, modulePreload: false, rolldownOptions: pageInputs },
  // The dev server marks Vite's own inline tags with this placeholder; devCsp() swaps in a nonce.
  ...(command === 'serve' && !isPreview ? { html: { cspNonce: NONCE_PLACEHOLDER } } : {}),
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    headers: {
      'Permissions-Policy': PERMISSIONS_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    },
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
    headers: securityHeaders(headerOptions),
  },
}));
