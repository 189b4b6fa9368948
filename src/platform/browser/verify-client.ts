/**
 * The page's side of the verification worker (verify-worker.ts). `verifyInWorker` streams a
 * bundle through the worker — from a URL the worker fetches, or from chunks the page already
 * has — reports progress, and on success rebuilds the `VerifiedBundle` on the page from the
 * exact bytes the worker verified (transferred, not copied), trusting nothing in the message: the
 * page re-checks the trust root, the signature threshold, expiry, product, and each image's
 * length and SHA-256 in the very buffer it keeps, and runs the rollback check with its own store
 * (`rehydrateVerifiedBundle`, src/bundle/rehydrate.ts; docs/threat-model.md, "The verification
 * worker"). Only this module and the worker may use the hand-off token. Where no Worker exists
 * (Node, the CLI) call `verifyBundle` directly; faces call either through `verifyRelease`
 * (src/job/verify-release.ts).
 */
import { HANDOFF, type VerifiedHandoff } from '../../bundle/_handoff.ts';
import { BundleError } from '../../bundle/errors.ts';
import { rehydrateVerifiedBundle } from '../../bundle/rehydrate.ts';
import { type VerifiedBundle, type VerifyOptions, type VerifyProgress } from '../../bundle/verify.ts';
import { AbortError, WebflashError } from '../../core/errors.ts';
import type { ErrorData, VerifyRequest, VerifyResponse } from './verify-worker.ts';

/** The part of the DOM `Worker` the client uses; tests pass a MessagePort. */
export interface VerifyWorkerLike {
  postMessage(message: VerifyRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<VerifyResponse>) => void): void;
  removeEventListener(
    type: 'message',
    listener: (event: MessageEvent<VerifyResponse>) => void,
  ): void;
}

/** Starts the module worker the way Vite bundles it. */
export function startVerifyWorker(): Worker {
  return new Worker(new URL('./verify-worker.ts', import.meta.url), { type: 'module' });
}

export interface VerifyInWorkerOptions extends Omit<VerifyOptions, 'onProgress' | 'clock'> {
  worker: VerifyWorkerLike;
  /** A URL for the worker to fetch, or the bundle's bytes/chunks (transferred to the worker). */
  source: { url: string } | Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  onProgress?: ((p: VerifyProgress) => void) | undefined;
}

let nextId = 1;

/** Rebuilds the typed error the worker reported. */
export function fromErrorData(e: ErrorData): WebflashError {
  if (e.reason !== undefined) return new BundleError(e.reason, e.detail);
  if (e.code === 'aborted') return new AbortError(e.message);
  return new WebflashError(e.code, e.message, { hints: e.hints });
}

/**
 * Verifies a bundle in the worker and rebuilds the result on this thread from the transferred
 * bytes, re-checking signatures, expiry and image hashes, then the rollback store.
 * @throws {BundleError} with the reason of the first failed check.
 * @throws {AbortError} when `signal` fires.
 */
export async function verifyInWorker(options: VerifyInWorkerOptions): Promise<VerifiedBundle> {
  const { worker, source, onProgress } = options;
  const id = nextId++;
  const handoff = await new Promise<VerifiedHandoff>((resolve, reject) => {
    const onMessage = (event: MessageEvent<VerifyResponse>): void => {
      const msg = event.data;
      if (msg.id !== id) return;
      if (msg.type === 'progress') {
        onProgress?.(msg.progress);
        return;
      }
      worker.removeEventListener('message', onMessage);
      options.signal?.removeEventListener('abort', onAbort);
      if (msg.type === 'verified') resolve(msg.handoff);
      else reject(fromErrorData(msg.error));
    };
    const onAbort = (): void => worker.postMessage({ type: 'cancel', id });
    worker.addEventListener('message', onMessage);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage({
      type: 'start',
      id,
      rootJson: new TextDecoder().decode(options.trustRoot.envelope),
      nowMs: options.now.getTime(),
      ...(options.maxBundleBytes === undefined ? {} : { maxBundleBytes: options.maxBundleBytes }),
      ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
      ...(options.expectedProduct === undefined
        ? {}
        : { expectedProduct: options.expectedProduct }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
      ...(options.maxRootValidityMs === undefined
        ? {}
        : { maxRootValidityMs: options.maxRootValidityMs }),
      ...('url' in source && typeof source.url === 'string' ? { url: source.url } : {}),
    });
    if (options.signal?.aborted) onAbort();
    else if (!('url' in source)) void pump(worker, id, source, options.signal).catch(reject);
  });
  if (options.signal?.aborted) throw new AbortError('Bundle verification cancelled');
  // The page's own options, not the worker's word: the same checks run again here.
  const { worker: _w, source: _s, onProgress: _p, signal: _signal, ...pageOptions } = options;
  return rehydrateVerifiedBundle(HANDOFF, handoff, pageOptions);
}

async function pump(
  worker: VerifyWorkerLike,
  id: number,
  source: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const iterable = source instanceof Uint8Array ? [source] : source;
  for await (const chunk of iterable) {
    if (signal?.aborted) return;
    const own = chunk.slice(); // transfer a copy; the caller keeps its buffer
    worker.postMessage({ type: 'chunk', id, bytes: own }, [own.buffer]);
  }
  worker.postMessage({ type: 'end', id });
}
