/**
 * Opens the update file for the customer updater: one `fetch` (WHATWG Fetch), the final address
 * checked against the allowed origins after redirects, and the body handed on as chunks while
 * they arrive. `verifyBundle` reads those chunks itself, capping the size (TUF "endless data")
 * and bounding each wait for the next chunk (TUF "slow retrieval"), and hashes each chunk as it
 * comes in, so verification never blocks the page for long.
 */
import { BundleError } from '../bundle/errors.ts';
import { AbortError, TransportError } from '../core/errors.ts';
import { checkOrigin, type OriginPolicy } from './origins.ts';

export interface FetchBundleOptions {
  url: URL;
  policy: OriginPolicy;
  signal: AbortSignal;
  /** Refuse a response that announces more than this many bytes. */
  maxBytes: number;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** An update file on its way in. */
export interface BundleDownload {
  /** The body's chunks, in order. */
  chunks: AsyncIterable<Uint8Array>;
  /** `Content-Length`, when the server sent one. */
  bytesTotal: number | undefined;
}

const HINT = 'Check your internet connection, then press Try again.';

/**
 * Starts downloading the update file.
 * @throws {OriginRefusedError} when a redirect led to an origin that is not allowed.
 * @throws {TransportError} 'transport.io' when the request fails or the server refuses it.
 * @throws {BundleError} 'size.exceeded' when the server announces more than `maxBytes`.
 * @throws {AbortError} when `signal` fires.
 */
export async function fetchBundle(options: FetchBundleOptions): Promise<BundleDownload> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await doFetch(options.url.href, {
      signal: options.signal,
      credentials: 'same-origin',
      redirect: 'follow',
      cache: 'no-cache',
    });
  } catch (cause) {
    if (options.signal.aborted) throw new AbortError('Download cancelled', { cause });
    throw new TransportError('transport.io', 'The update file could not be downloaded.', {
      cause,
      hints: [HINT],
    });
  }
  if (response.url) checkOrigin(response.url, options.policy);
  const body = response.body;
  if (!response.ok || !body) {
    await body?.cancel().catch(() => undefined);
    throw new TransportError(
      'transport.io',
      `The update file could not be downloaded (the server answered ${response.status}).`,
      { hints: [HINT] },
    );
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const bytesTotal = Number.isSafeInteger(declared) && declared > 0 ? declared : undefined;
  if (bytesTotal !== undefined && bytesTotal > options.maxBytes) {
    await body.cancel().catch(() => undefined);
    throw new BundleError('size.exceeded', `${bytesTotal} bytes announced`);
  }
  return { chunks: readChunks(body), bytesTotal };
}

/** A body stream as chunks; stopping early (an error, a refusal) cancels the download. */
async function* readChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (cause) {
        throw new TransportError('transport.io', 'The download of the update file broke off.', {
          cause,
          hints: [HINT],
        });
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
