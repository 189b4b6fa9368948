/**
 * Bundle verification for the browser apps (technician and bench): one verify worker, started on
 * first use, checking against the root this build pins (src/bundle/pinned-root.ts).
 */
import { pinnedRoot, type BuildMode } from '../bundle/pinned-root.ts';
import type { TrustRoot } from '../bundle/trust-root.ts';
import { startVerifyWorker, verifyInWorker } from '../worker/verify-client.ts';
import type { AppServices } from './types.ts';

export interface WorkerVerifier {
  verifyBundle: AppServices['verifyBundle'];
  /** Stops the worker; the next verification starts a new one. */
  dispose(): void;
}

export function createWorkerVerifier(options: {
  buildMode: BuildMode;
  productionRoot?: string | undefined;
}): WorkerVerifier {
  let worker: Worker | undefined;
  let root: TrustRoot | undefined;
  return {
    async verifyBundle({ source, signal, onProgress }) {
      root ??= await pinnedRoot({
        mode: options.buildMode,
        productionRoot: options.productionRoot,
      });
      worker ??= startVerifyWorker();
      return verifyInWorker({
        worker,
        source,
        trustRoot: root,
        now: new Date(),
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
