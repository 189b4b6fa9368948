/**
 * One board's flash on the bench: a FlashJob (src/job) with the bench's release, behind a
 * connector that looks at the board's unique id first. A board already provisioned with this
 * release (same MAC or USB serial number, same bundle hash) is not written again: it is
 * restarted into its firmware and the job ends as "skipped" before anything is erased. The same
 * for a serial port and a USB device: only the connector differs.
 */
import type { VerifiedBundle } from '../../bundle/verify.ts';
import { AbortError } from '../../core/errors.ts';
import { fromVerifiedBundle } from '../../job/bundle-source.ts';
import { runFlashJob, type JobListeners } from '../../job/runner.ts';
import { recoveryAdvice } from '../../job/recovery.ts';
import type { Connector, JobResult } from '../../job/types.ts';
import type { DeviceIdentity } from '../../protocols/driver.ts';
import type { BenchServices } from './types.ts';

export interface BoardJobOptions<Port> {
  services: BenchServices;
  handle: Port;
  /** Opens the session on `handle` (`services.connector` for a serial port). */
  connector: Connector<Port>;
  bundle: VerifiedBundle;
  signal: AbortSignal;
  /** True when a board with this identity already has this release. */
  alreadyDone(identity: DeviceIdentity): boolean;
  /** Called just before a board that already has the release is restarted. */
  onRestart?(identity: DeviceIdentity): void;
  /** Engine events, as they come. */
  on: JobListeners;
}

/** How a board job ended. */
export type BoardJobEnd =
  | { kind: 'result'; result: JobResult }
  | { kind: 'skipped'; identity: DeviceIdentity; durationMs: number };

/**
 * Runs one board's job to the end. Never rejects.
 * @example
 * const end = await runBoardJob({ services, handle, connector, bundle, signal, alreadyDone, on: {} });
 */
export async function runBoardJob<Port>(options: BoardJobOptions<Port>): Promise<BoardJobEnd> {
  const { services, connector: base } = options;
  const inner = new AbortController();
  const forward = (): void => inner.abort(options.signal.reason);
  if (options.signal.aborted) forward();
  options.signal.addEventListener('abort', forward, { once: true });
  let skipped: DeviceIdentity | undefined;

  const connector: Connector<Port> = {
    id: base.id,
    async connect(port, o) {
      const session = await base.connect(port, o);
      if (!options.alreadyDone(session.identity)) return session;
      // Already provisioned: start its firmware again and let go, before anything is written.
      skipped = session.identity;
      options.onRestart?.(session.identity);
      try {
        await session.reset();
      } catch {
        // The board may leave the bus while restarting (native USB, DfuSe "leave DFU").
      }
      await session.close().catch(() => undefined);
      const reason = new AbortError('This board already has this release.');
      inner.abort(reason);
      throw reason;
    },
  };

  try {
    const result = await runFlashJob({
      port: options.handle,
      connector,
      source: fromVerifiedBundle(options.bundle, {
        mode: 'technician',
        rollbackStore: services.rollbackStore,
      }),
      clock: services.clock,
      signal: inner.signal,
      settings: services.jobSettings ?? {},
      advise: recoveryAdvice,
      on: options.on,
    });
    if (skipped && !result.ok && result.cancelled && !options.signal.aborted) {
      return { kind: 'skipped', identity: skipped, durationMs: result.durationMs };
    }
    return { kind: 'result', result };
  } finally {
    options.signal.removeEventListener('abort', forward);
  }
}
