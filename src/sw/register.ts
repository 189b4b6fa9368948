/**
 * Registers the service worker (src/sw/sw.ts, emitted as `sw.js` at the site root). The build
 * adds this script to index.html; the dev server does not (docs/hosting.md).
 */
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    const base = import.meta.env.BASE_URL;
    navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch((err: unknown) => {
      console.warn('webflash: offline use is unavailable (service worker not registered)', err);
    });
  });
}

export {};
