/**
 * The page's side of the compression worker: `createCompressClient()` returns a `CompressFn`
 * (src/protocols/esp/compress.ts) for the ESP driver's compressed writes, backed by a module Web
 * Worker (compress-worker.ts). Where no Worker can be started (Node, the CLI, a locked-down
 * page), or when the worker fails to load or crashes, it falls back to the driver's inline
 * compressor, which gives the same bytes.
 */
import { UsageError, WebflashError } from '../../core/errors.ts';
import { compressInline, type CompressFn } from '../../protocols/esp/compress.ts';
import type { CompressRequest, CompressResponse } from './compress-worker.ts';

/** The part of the DOM `Worker` the client uses; tests pass a MessagePort. */
export interface WorkerLike {
  postMessage(message: CompressRequest): void;
  addEventListener(
    type: 'message',
    listener: (event: MessageEvent<CompressResponse>) => void,
  ): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
  terminate?(): void;
  close?(): void;
}

export interface CompressClient {
  compress: CompressFn;
  /** Ends the worker; pending calls reject, later calls reject with UsageError. */
  dispose(): void;
}

export interface CompressClientOptions {
  /** Starts the worker; the default is the Vite module-worker pattern. */
  createWorker?: () => WorkerLike;
}

/** Starts the module worker the way Vite bundles it. */
function startWorker(): WorkerLike {
  return new Worker(new URL('./compress-worker.ts', import.meta.url), { type: 'module' });
}

interface Pending {
  data: Uint8Array;
  options: Parameters<CompressFn>[1];
  resolve: (image: Awaited<ReturnType<CompressFn>>) => void;
  reject: (err: Error) => void;
}

/** Rebuilds an error thrown in the worker: argument errors keep their class. */
function reviveError(name: string, message: string): Error {
  if (name === 'RangeError') return new RangeError(message);
  if (name === 'TypeError') return new TypeError(message);
  return new WebflashError('transport.io', `Compression failed: ${message}`);
}

/**
 * Creates a client for one compression worker, started on first use.
 * @example
 * const client = createCompressClient();
 * const session = await connectEsp(port, { ...options, compress: client.compress });
 * // … when the page no longer needs it:
 * client.dispose();
 */
export function createCompressClient(options: CompressClientOptions = {}): CompressClient {
  let worker: WorkerLike | undefined;
  let unavailable = false;
  let disposed = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const ensureWorker = (): WorkerLike | undefined => {
    if (worker || unavailable) return worker;
    try {
      const w = (options.createWorker ?? startWorker)();
      w.addEventListener('message', (event) => {
        const msg = event.data;
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.type === 'done') p.resolve(msg.image);
        else p.reject(reviveError(msg.name, msg.message));
      });
      w.addEventListener('error', () => {
        // The worker failed to load or crashed: finish its work on this thread, and stay here.
        unavailable = true;
        worker = undefined;
        const waiting = [...pending.values()];
        pending.clear();
        for (const p of waiting) compressInline(p.data, p.options).then(p.resolve, p.reject);
      });
      worker = w;
    } catch {
      // No Worker here (Node, CSP): compress on this thread instead.
      unavailable = true;
    }
    return worker;
  };

  const compress: CompressFn = (data, compressOptions) => {
    if (disposed) return Promise.reject(new UsageError('compress: the client was disposed'));
    const w = ensureWorker();
    if (!w) return compressInline(data, compressOptions);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { data, options: compressOptions, resolve, reject });
      // Structured clone copies `data`: the caller's bytes are never detached or changed.
      w.postMessage({ type: 'compress', id, data, options: compressOptions });
    });
  };

  return {
    compress,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      failAll(new UsageError('compress: the client was disposed'));
      worker?.terminate?.();
      worker?.close?.();
      worker = undefined;
    },
  };
}
