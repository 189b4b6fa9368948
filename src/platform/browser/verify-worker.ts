/**
 * A module Web Worker that verifies a bundle while it downloads, so the page stays responsive
 * while megabytes stream in. The page either sends the bundle chunk by chunk or names a URL the
 * worker fetches and streams itself. Progress goes back as it happens; on success the exact
 * bytes that were verified go back as hand-off data (src/bundle/_handoff.ts) whose image buffers
 * are transferred, not copied, and verify-client.ts rebuilds the `VerifiedBundle` from them on
 * the page, checking signatures, expiry and image hashes again (a class instance cannot cross a
 * message channel; docs/threat-model.md, "The verification worker").
 *
 * Vite bundles it from `new Worker(new URL('./verify-worker.ts', import.meta.url),
 * { type: 'module' })` (see verify-client.ts).
 */
import { HANDOFF, type VerifiedHandoff } from '../../bundle/_handoff.ts';
import { BundleError, type BundleReason } from '../../bundle/errors.ts';
import { loadTrustRoot } from '../../bundle/trust-root.ts';
import { verifyBundle, type VerifyProgress } from '../../bundle/verify.ts';
import { WebflashError, type ErrorCode } from '../../core/errors.ts';

/** Messages the page sends. */
export type VerifyRequest =
  | {
      type: 'start';
      id: number;
      /** The pinned root's envelope JSON. */
      rootJson: string;
      nowMs: number;
      maxBundleBytes?: number;
      clockSkewMs?: number;
      expectedProduct?: string;
      maxRootValidityMs?: number;
      stallTimeoutMs?: number;
      /** Fetch and stream this URL; without it, `chunk` messages follow, then `end`. */
      url?: string;
    }
  | { type: 'chunk'; id: number; bytes: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'cancel'; id: number };

/** A rejection as plain data. */
export interface ErrorData {
  code: ErrorCode;
  message: string;
  hints: readonly string[];
  reason?: BundleReason;
  detail?: string;
}

/** Messages the worker sends back. */
export type VerifyResponse =
  | { type: 'progress'; id: number; progress: VerifyProgress }
  | { type: 'verified'; id: number; handoff: VerifiedHandoff }
  | { type: 'rejected'; id: number; error: ErrorData };

/** The worker scope or a MessagePort. */
export interface VerifyEndpoint {
  postMessage(message: VerifyResponse, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<VerifyRequest>) => void): void;
}

/** Turns any thrown value into message data. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof BundleError) {
    return {
      code: err.code,
      message: err.message,
      hints: err.hints,
      reason: err.reason,
      ...(err.detail === undefined ? {} : { detail: err.detail }),
    };
  }
  if (err instanceof WebflashError)
    return { code: err.code, message: err.message, hints: err.hints };
  return {
    code: 'transport.io',
    message: err instanceof Error ? err.message : String(err),
    hints: [],
  };
}

/** Chunks pushed by the page, consumed by the verifier as an async iterable. */
class ChunkInbox implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.queue.shift();
      if (next) yield next;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

async function* fetchChunks(url: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
  const response = await fetch(url, { signal, cache: 'no-store' });
  if (!response.ok || !response.body) {
    throw new WebflashError('transport.io', `Download failed: HTTP ${response.status}`, {
      hints: ['Check the address of the bundle and the network connection.'],
    });
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Answers verify requests arriving on `endpoint`. Called once by the worker on itself; tests
 * call it on one end of a MessageChannel.
 * @example serveVerification(self)
 */
export function serveVerification(endpoint: VerifyEndpoint): void {
  const jobs = new Map<number, { inbox: ChunkInbox; abort: AbortController }>();
  endpoint.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type === 'chunk') jobs.get(msg.id)?.inbox.push(msg.bytes);
    else if (msg.type === 'end') jobs.get(msg.id)?.inbox.end();
    else if (msg.type === 'cancel') jobs.get(msg.id)?.abort.abort();
    else if (msg.type === 'start') {
      const job = { inbox: new ChunkInbox(), abort: new AbortController() };
      jobs.set(msg.id, job);
      void run(msg, job).finally(() => jobs.delete(msg.id));
    }
  });

  async function run(
    msg: Extract<VerifyRequest, { type: 'start' }>,
    job: { inbox: ChunkInbox; abort: AbortController },
  ): Promise<void> {
    try {
      const verified = await verifyBundle(
        msg.url === undefined ? job.inbox : fetchChunks(msg.url, job.abort.signal),
        {
          trustRoot: loadTrustRoot(msg.rootJson),
          now: new Date(msg.nowMs),
          signal: job.abort.signal,
          onProgress: (progress) =>
            endpoint.postMessage({ type: 'progress', id: msg.id, progress }, []),
          ...(msg.maxBundleBytes === undefined ? {} : { maxBundleBytes: msg.maxBundleBytes }),
          ...(msg.clockSkewMs === undefined ? {} : { clockSkewMs: msg.clockSkewMs }),
          ...(msg.expectedProduct === undefined ? {} : { expectedProduct: msg.expectedProduct }),
          ...(msg.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: msg.stallTimeoutMs }),
          ...(msg.maxRootValidityMs === undefined
            ? {}
            : { maxRootValidityMs: msg.maxRootValidityMs }),
        },
      );
      // The image buffers move to the page (each image has its own buffer, verify.ts step 5);
      // this side's VerifiedBundle is dropped with them.
      const handoff = verified[HANDOFF]();
      endpoint.postMessage(
        { type: 'verified', id: msg.id, handoff },
        handoff.images.map((im) => im.bytes.buffer as ArrayBuffer),
      );
    } catch (err) {
      endpoint.postMessage({ type: 'rejected', id: msg.id, error: toErrorData(err) }, []);
    }
  }
}

declare const WorkerGlobalScope: (new () => unknown) | undefined;
if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  serveVerification(globalThis as unknown as VerifyEndpoint);
}
