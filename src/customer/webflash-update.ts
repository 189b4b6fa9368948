/**
 * The one script a vendor includes: registers `<webflash-update>` with this build's
 * configuration (config.ts). Demo builds load the virtual boards through a dynamic import, so a
 * production build never carries the simulators (docs/embedding.md, "Size").
 *
 * @example
 * <script type="module" src="https://updates.example.com/webflash-update.js"></script>
 * <webflash-update bundle="/firmware/widget-2.1.fwb" product="widget"></webflash-update>
 */
import { IdbRollbackStore } from '../platform/browser/rollback-idb.ts';
import { resolveCustomerConfig } from './config.ts';
import { defineWebflashUpdate, type VirtualBoards } from './element.ts';

export { WebflashUpdateElement } from './element.ts';

// Both flags are replaced by constants at build time, so production builds drop the demo
// import below entirely (checked by scripts/size-report.mjs).
const demoBuild: boolean = import.meta.env.DEV || import.meta.env.VITE_WEBFLASH_DEMO === '1';

/**
 * Demo builds: the bench of virtual boards behind a fake `navigator.serial` and USB DFU devices
 * behind a fake `navigator.usb`, installed once. The `virtual-board` attribute names either kind;
 * a USB update without one gets the STM32F405 in its DfuSe bootloader.
 */
async function loadVirtualBoards(): Promise<VirtualBoards> {
  const { installDemoLab } = await import('../demo/lab.ts');
  const lab = installDemoLab();
  const hook = await import('./demo-hook.ts');
  hook.installCustomerDemoHook(lab);
  const usbNames = new Set(lab.usbTypes.map((t) => t.name));
  return {
    serial: lab.serial,
    usb: lab.usb,
    prepare: (board, transport) => {
      const isUsb = board !== undefined && usbNames.has(board);
      if (transport === 'usb') {
        lab.prepareUsb?.({ device: isUsb ? board : 'stm32f405-dfu', filters: [] });
      } else {
        lab.prepare(board === undefined || isUsb ? {} : { board });
      }
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
