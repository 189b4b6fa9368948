/**
 * A module Web Worker that compresses firmware images off the main thread, so the page stays
 * responsive while a large image is prepared for a compressed write (esptool serial protocol,
 * "FLASH_DEFL_BEGIN / FLASH_DEFL_DATA": one zlib stream, RFC 1950). It runs the ESP driver's own
 * `compressImage` (fflate's streaming Zlib over the image in chunks, a flush after each), so the
 * stream and its chunk boundaries are exactly what the inline compressor would produce.
 *
 * Vite bundles it from `new Worker(new URL('./compress-worker.ts', import.meta.url), { type:
 * 'module' })` (see compress-client.ts).
 */
import {
  compressImage,
  type CompressedImage,
  type CompressOptions,
} from '../../protocols/esp/compress.ts';

/** Messages the page sends. */
export interface CompressRequest {
  type: 'compress';
  id: number;
  data: Uint8Array;
  options: CompressOptions;
}

/** Messages the worker sends back. */
export type CompressResponse =
  | { type: 'done'; id: number; image: CompressedImage }
  | { type: 'error'; id: number; name: string; message: string };

/** One end of a message channel the worker serves on (a worker scope or a MessagePort). */
export interface MessageEndpoint {
  postMessage(message: CompressResponse, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<CompressRequest>) => void): void;
}

/**
 * Answers compress requests arriving on `endpoint`. The worker calls it once on its own scope;
 * tests call it on one end of a MessageChannel.
 * @example serveCompression(self)
 */
export function serveCompression(endpoint: MessageEndpoint): void {
  endpoint.addEventListener('message', (event) => {
    const { id, data, options } = event.data;
    try {
      if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
      const image = compressImage(data, options);
      // The stream's buffer is fresh and owned by `image`: hand it over instead of copying it.
      endpoint.postMessage({ type: 'done', id, image }, [image.data.buffer]);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      endpoint.postMessage({ type: 'error', id, name: e.name, message: e.message }, []);
    }
  });
}

// Inside a worker, serve on the worker's own scope. Imported anywhere else, do nothing.
declare const WorkerGlobalScope: (new () => unknown) | undefined;
if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  serveCompression(globalThis as unknown as MessageEndpoint);
}
