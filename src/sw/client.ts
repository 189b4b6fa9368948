/**
 * The page side of the service worker's message protocol (docs/hosting.md, "Keeping bundles
 * for offline use"). Each call resolves `false`/`[]` where there is no service worker (the dev
 * server, an insecure origin, a browser without one) rather than waiting forever.
 */

/** How long to wait for the service worker's answer; keeping a bundle downloads it. */
const DEFAULT_TIMEOUT_MS = 120_000;

interface Reply {
  ok: boolean;
  url?: string;
  urls?: string[];
  message?: string;
}

async function ask(message: object, timeoutMs: number): Promise<Reply | undefined> {
  const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  const worker = container?.controller;
  if (!worker) return undefined;
  const channel = new MessageChannel();
  return new Promise<Reply | undefined>((resolve) => {
    const timer = setTimeout(() => {
      channel.port1.close();
      resolve(undefined);
    }, timeoutMs);
    channel.port1.onmessage = (event: MessageEvent<Reply>) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(event.data);
    };
    worker.postMessage(message, [channel.port2]);
  });
}

/**
 * Downloads the bundle at `url` into the offline cache, so loading the same URL works without
 * a network. Call it after the bundle verified, when the user chose to keep it.
 * @returns true when the bundle is kept.
 * @example await keepBundleOffline('https://fw.example.com/sensor-2.1.0.fwb')
 */
export async function keepBundleOffline(
  url: string,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  const reply = await ask(
    { type: 'webflash:keep-bundle', url },
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  return reply?.ok === true;
}

/**
 * Removes a kept bundle (docs/hosting.md).
 * @returns true when one was removed.
 * @public
 */
export async function forgetOfflineBundle(url: string): Promise<boolean> {
  const reply = await ask({ type: 'webflash:forget-bundle', url }, 10_000);
  return reply?.ok === true;
}

/**
 * The URLs of the bundles kept for offline use (absolute; docs/hosting.md).
 * @public
 */
export async function listOfflineBundles(): Promise<string[]> {
  const reply = await ask({ type: 'webflash:list-bundles' }, 10_000);
  return reply?.urls ?? [];
}

/** True when a service worker controls this page, so kept bundles and the app work offline. */
export function offlineReady(): boolean {
  return Boolean((globalThis.navigator as Navigator | undefined)?.serviceWorker?.controller);
}
