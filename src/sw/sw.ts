/**
 * The service worker (docs/hosting.md, "Offline use and the service worker"). Registered only
 * by production builds (src/sw/register.ts, injected by the build): in the Vite dev server it
 * would fight hot module replacement.
 *
 * - Install: caches the app shell, the exact file list of this build (written into this file
 *   by the build, see vite.config.ts), in a cache named after the build's version.
 * - Activate: deletes the shell caches of older builds and takes control of open pages.
 * - Fetch: shell files from the cache; page loads from the network, falling back to the cached
 *   page offline; anything else from the network, falling back to the bundle cache offline.
 * - Messages: the page asks it to keep a bundle for offline use, forget one, or list them.
 *
 * Self-contained on purpose (no imports), so the build emits it as one classic script.
 * Service Workers, W3C Working Draft: §4.4 install, §4.5 activate, §4.6 fetch.
 */

/** Replaced by the build with `{"version":"…","files":["assets/…",…]}`. */
const BUILD_MANIFEST = '__WEBFLASH_SW_MANIFEST__';

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  readonly data: unknown;
  readonly ports: readonly MessagePort[];
}
interface ServiceWorkerScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
  addEventListener(type: 'message', listener: (e: ExtendableMessageEvent) => void): void;
}

const scope = self as unknown as ServiceWorkerScope;
const build = JSON.parse(BUILD_MANIFEST) as { version: string; files: string[] };
const SHELL_PREFIX = 'webflash-shell-';
const SHELL_CACHE = SHELL_PREFIX + build.version;
/** Bundles the user kept for offline use; not tied to a build, so app updates keep them. */
const BUNDLE_CACHE = 'webflash-bundles';

const base = (): string => scope.registration.scope;
const indexUrl = (): string => new URL('./', base()).href;
/**
 * Servers often answer `Vary: Origin`, and Chromium sends `Origin` with module-script requests
 * but not with the service worker's own precache requests: matching must ignore Vary, or no
 * cached script would ever be found (measured: every shell file missed offline without it).
 */
const MATCH: CacheQueryOptions = { ignoreVary: true };
const MATCH_SHELL: MultiCacheQueryOptions = { ignoreVary: true, cacheName: SHELL_CACHE };
const shellUrls = (): Set<string> =>
  new Set([indexUrl(), ...build.files.map((f) => new URL(f, base()).href)]);

scope.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll([...shellUrls()])));
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(SHELL_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
      }
      await scope.clients.claim();
    })(),
  );
});

scope.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  url.hash = '';
  if (request.mode === 'navigate' && url.origin === new URL(base()).origin) {
    event.respondWith(pageLoad(request));
  } else if (shellUrls().has(url.href)) {
    event.respondWith(shellFile(request));
  } else if (url.protocol === 'https:' || url.protocol === 'http:') {
    event.respondWith(networkOrKeptBundle(request));
  }
});

/**
 * Network first so a new deployment is seen at once. Offline: the cached page itself
 * (`/update` is `update.html`), else the app's start page.
 */
async function pageLoad(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (err) {
    const url = new URL(request.url);
    url.search = '';
    const candidates = [url.href, url.pathname.endsWith('/') ? '' : `${url.href}.html`, indexUrl()];
    for (const candidate of candidates.filter(Boolean)) {
      const cached = await caches.match(candidate, MATCH_SHELL);
      if (cached) return cached;
    }
    throw err;
  }
}

/** Build files have content hashes in their names: the cached copy is always right. */
async function shellFile(request: Request): Promise<Response> {
  const cached = await caches.match(request, MATCH_SHELL);
  return cached ?? fetch(request);
}

/**
 * Anything else (bundles fetched by URL, by the page or the verify worker): the network, and
 * when that fails, a copy the user kept for offline use. A kept copy is refreshed whenever the
 * network delivers the same URL again.
 */
async function networkOrKeptBundle(request: Request): Promise<Response> {
  const cache = await caches.open(BUNDLE_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type !== 'opaque' && (await cache.match(request.url, MATCH))) {
      await cache.put(request.url, response.clone());
    }
    return response;
  } catch (err) {
    const kept = await cache.match(request.url, MATCH);
    if (kept) return kept;
    throw err;
  }
}

/** Messages from src/sw/client.ts; each answers on the port it came with. */
scope.addEventListener('message', (event) => {
  const port = event.ports[0];
  const msg = event.data as { type?: unknown; url?: unknown } | null;
  if (!port || typeof msg !== 'object' || msg === null) return;
  event.waitUntil(
    handle(msg).then(
      (reply) => port.postMessage(reply),
      (err: unknown) =>
        port.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
    ),
  );
});

async function handle(msg: { type?: unknown; url?: unknown }): Promise<object> {
  const cache = await caches.open(BUNDLE_CACHE);
  if (msg.type === 'webflash:list-bundles') {
    return { ok: true, urls: (await cache.keys()).map((r) => r.url) };
  }
  if (typeof msg.url !== 'string') return { ok: false, message: 'no url' };
  const url = new URL(msg.url, base()).href;
  if (msg.type === 'webflash:keep-bundle') {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) return { ok: false, message: `HTTP ${response.status} for ${url}` };
    await cache.put(url, response);
    return { ok: true, url };
  }
  if (msg.type === 'webflash:forget-bundle') return { ok: await cache.delete(url), url };
  return { ok: false, message: 'unknown message' };
}

export {};
