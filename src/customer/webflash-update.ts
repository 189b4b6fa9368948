/**
 * The one script a vendor includes: registers `<webflash-update>` with this build's
 * configuration (config.ts). Demo builds load the virtual boards through a dynamic import, so a
 * production build never carries the simulators (docs/embedding.md, "Size").
 *
 * @example
 * <script type="module" src="https://updates.example.com/webflash-update.js"></script>
 * <webflash-update bundle="/firmware/widget-2.1.fwb" product="widget"></webflash-update>
 */
import { IdbRollbackStore } from '../worker/rollback-idb.ts';
import { resolveCustomerConfig } from './config.ts';
import { defineWebflashUpdate, type VirtualBoards } from './element.ts';

export { WebflashUpdateElement } from './element.ts';

// Both flags are replaced by constants at build time, so production builds drop the demo
// import below entirely (checked by scripts/size-report.mjs).
const demoBuild: boolean = import.meta.env.DEV || import.meta.env.VITE_WEBFLASH_DEMO === '1';

/** Demo builds: the bench of virtual boards behind a fake `navigator.serial`, installed once. */
async function loadVirtualBoards(): Promise<VirtualBoards> {
  const { installDemoLab } = await import('../demo/lab.ts');
  const lab = installDemoLab();
  const hook = await import('./demo-hook.ts');
  hook.installCustomerDemoHook(lab);
  return {
    serial: lab.serial,
    prepare: (board) => {
      lab.prepare(board === undefined ? {} : { board });
    },
  };
}

defineWebflashUpdate({
  config: resolveCustomerConfig({
    dev: import.meta.env.DEV,
    env: import.meta.env,
    baseUrl: import.meta.env.BASE_URL,
  }),
  virtualBoards: demoBuild ? loadVirtualBoards : undefined,
  rollbackStore: () => new IdbRollbackStore(),
});
