/**
 * The release a headless flash writes: a bundle file or an https URL, streamed into
 * `verifyRelease` (the one verification path of every face) and so verified while it arrives,
 * against the trust root given with `--root` or, without it, the root this installation pins
 * (`WEBFLASH_TRUST_ROOT`, as for `npm run build`: docs/headless.md, "Trust root").
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pinnedRoot } from '../bundle/pinned-root.ts';
import { DOWNGRADE_REASONS, type DowngradeOverride } from '../bundle/rollback.ts';
import type { RollbackStore } from '../bundle/rollback-store.ts';
import { loadTrustRoot, type TrustRoot } from '../bundle/trust-root.ts';
import { verifyBundle, type VerifiedBundle } from '../bundle/verify.ts';
import { TransportError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { verifyRelease } from '../job/verify-release.ts';
import { readBytes, resolveIn } from './files.ts';
import { CliUsageError, type CliIo } from './io.ts';

/** The trust root: `--root FILE`, else the pinned production root from `WEBFLASH_TRUST_ROOT`. */
async function trustRootFor(io: CliIo, rootPath: string | undefined): Promise<TrustRoot> {
  if (rootPath !== undefined) return loadTrustRoot(await readBytes(io, rootPath));
  const pinned = io.env?.['WEBFLASH_TRUST_ROOT'];
  if (pinned === undefined || pinned === '') {
    throw new CliUsageError(
      'no trust root: give --root ROOT.json, or set WEBFLASH_TRUST_ROOT to the root.json this installation pins (docs/headless.md)',
    );
  }
  return pinnedRoot({ mode: 'production', productionRoot: await readBytes(io, pinned) });
}

/** A technician's downgrade permission from `--allow-downgrade REASON --note TEXT`. */
export function downgradeOverride(
  reason: string | undefined,
  note: string | undefined,
): DowngradeOverride | undefined {
  if (reason === undefined) return undefined;
  if (!(DOWNGRADE_REASONS as readonly string[]).includes(reason)) {
    throw new CliUsageError(`--allow-downgrade must be one of ${DOWNGRADE_REASONS.join(', ')}`);
  }
  if (note === undefined || note.trim() === '' || note.length > 500) {
    throw new CliUsageError('--allow-downgrade needs --note TEXT (1–500 characters) for the log');
  }
  return { reason: reason as DowngradeOverride['reason'], detail: note };
}

/** True for an address the bundle may be fetched from: https, or http on this computer. */
function allowedUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

async function* bodyChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Where the bundle bytes come from, and a name for messages and the report. */
async function openBundle(
  io: CliIo,
  where: string,
  signal: AbortSignal,
): Promise<{ source: AsyncIterable<Uint8Array>; name: string }> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(where)) {
    const url = new URL(where);
    if (!allowedUrl(url)) {
      throw new CliUsageError('a bundle URL must be https (http only on localhost)');
    }
    let response: Response;
    try {
      response = await fetch(url, { signal, redirect: 'follow' });
    } catch (err) {
      throw new TransportError('transport.io', `Could not download ${url.href}`, {
        cause: err,
        hints: ['Check the address and the network, then try again.'],
      });
    }
    if (!response.ok || !response.body) {
      throw new TransportError(
        'transport.io',
        `Could not download ${url.href}: HTTP ${response.status}`,
      );
    }
    return { source: bodyChunks(response.body), name: url.href };
  }
  const file = resolveIn(io, where);
  await stat(file); // a missing file is an I/O failure, not a rejected bundle
  return { source: createReadStream(file, { highWaterMark: 64 * 1024 }), name: where };
}

export interface LoadReleaseOptions {
  io: CliIo;
  /** A file path or URL. */
  bundle: string;
  root: string | undefined;
  rollbackStore: RollbackStore;
  override?: DowngradeOverride | undefined;
  signal: AbortSignal;
  logger?: Logger | undefined;
  /** Bundle bytes read so far (for a download). */
  onProgress?: ((bytesDone: number) => void) | undefined;
}

/**
 * Verifies the release before any port is touched.
 * @throws {BundleError} with the reason of the first failed check.
 * @throws {CliUsageError} without a trust root or for a refused URL.
 */
export async function loadRelease(
  options: LoadReleaseOptions,
): Promise<{ bundle: VerifiedBundle; name: string }> {
  const trustRoot = await trustRootFor(options.io, options.root);
  const { source, name } = await openBundle(options.io, options.bundle, options.signal);
  const bundle = await verifyRelease({
    verify: verifyBundle,
    source,
    trustRoot,
    now: new Date(),
    rollbackStore: options.rollbackStore,
    mode: 'technician',
    override: options.override,
    logger: options.logger,
    signal: options.signal,
    onProgress: (p) => options.onProgress?.(p.bytesDone),
  });
  return { bundle, name };
}
