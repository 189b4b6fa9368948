/**
 * Bundle verification for the browser apps (technician and bench): one verify worker, started on
 * first use, checking against the root this build pins (src/bundle/pinned-root.ts), through
 * `verifyRelease` with the app's rollback store (the one its flash jobs record into).
 */
import { pinnedRoot, type BuildMode } from '../../bundle/pinned-root.ts';
import type { RollbackStore } from '../../bundle/rollback-store.ts';
import type { TrustRoot } from '../../bundle/trust-root.ts';
import { verifyRelease } from '../../job/verify-release.ts';
import {
  startVerifyWorker,
  verifyInWorker,
  type VerifyWorkerLike,
} from './verify-client.ts';
import type { AppServices } from '../../app/types.ts';

export interface WorkerVerifier {
  verifyBundle: AppServices['verifyBundle'];
  /** Stops the worker; the next verification starts a new one. */
  dispose(): void;
}

export function createWorkerVerifier(options: {
  buildMode: BuildMode;
  productionRoot?: string | undefined;
  rollbackStore: RollbackStore;
  /** Default `startVerifyWorker`; tests pass one end of a MessageChannel. */
  startWorker?: () => VerifyWorkerLike & { terminate(): void };
}): WorkerVerifier {
  const start = options.startWorker ?? startVerifyWorker;
  let worker: (VerifyWorkerLike & { terminate(): void }) | undefined;
  let root: TrustRoot | undefined;
  return {
    async verifyBundle({ source, signal, onProgress }) {
      root ??= await pinnedRoot({
        mode: options.buildMode,
        productionRoot: options.productionRoot,
      });
      const w = (worker ??= start());
      return verifyRelease({
        verify: (src: typeof source, { clock: _clock, ...o }) =>
          verifyInWorker({ ...o, worker: w, source: src }),
        source,
        trustRoot: root,
        now: new Date(),
        rollbackStore: options.rollbackStore,
        mode: 'technician',
        signal,
        onProgress,
      });
    },
    dispose() {
      worker?.terminate();
      worker = undefined;
    },
  };
}
