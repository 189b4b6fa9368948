/**
 * The flasher stub images as JavaScript modules: esptool-js's
 * `stub_flasher/<chip>.json` through dynamic `import()`, one chunk per chip, loaded only when
 * that chip is connected. The default `StubLoader` (driver.ts `connectEsp`); works in Node and in
 * bundled pages alike. Pages that count their script size fetch the same files as data instead
 * (src/customer/stub-assets.ts).
 */
import type { EspChipId } from './chips.ts';
import type { StubLoader } from './stub.ts';

type StubModule = { default: unknown } | Record<string, unknown>;

/** A static map (not a computed path) so the bundler emits one small chunk per chip. */
const STUB_MODULES: Readonly<Record<EspChipId, () => Promise<StubModule>>> = {
  esp8266: () => import('esptool-js/lib/targets/stub_flasher/esp8266.json'),
  esp32: () => import('esptool-js/lib/targets/stub_flasher/esp32.json'),
  esp32s2: () => import('esptool-js/lib/targets/stub_flasher/esp32s2.json'),
  esp32s3: () => import('esptool-js/lib/targets/stub_flasher/esp32s3.json'),
  esp32c3: () => import('esptool-js/lib/targets/stub_flasher/esp32c3.json'),
  esp32c6: () => import('esptool-js/lib/targets/stub_flasher/esp32c6.json'),
  esp32h2: () => import('esptool-js/lib/targets/stub_flasher/esp32h2.json'),
};

/** Imports the stub JSON for `chip` as a module (`StubLoader`). */
export const importStubJson: StubLoader = async (chip) => {
  const mod = await STUB_MODULES[chip]();
  return 'default' in mod ? mod.default : mod;
};
