// What a production build must never carry: the simulated boards (src/sim), demo mode (src/demo,
// src/customer/demo-hook.ts) and their tell-tale strings (the ESP ROM's boot banner, the fake
// Web Serial and WebUSB classes). Used by scripts/size-report.mjs and test/build.

/** Modules that only demo builds may contain. */
export const DEMO_MODULE = /[\\/]src[\\/](demo|sim)[\\/]|[\\/]src[\\/]customer[\\/]demo-hook\.ts$/;

/** Strings only simulator code holds (src/sim/esp/boot-log.ts, src/sim/web). */
const SIMULATOR_TEXT = ['POWERON_RESET', 'waiting for download', 'FakeSerialPort', 'FakeUsb'];

/**
 * The simulator and demo code in a build's output (Rollup output chunks and assets), one line
 * each; empty when the build is clean.
 * @param {readonly { type: string, fileName: string, code?: string, source?: unknown, moduleIds?: readonly string[], modules?: Record<string, unknown> }[]} outputs
 * @returns {string[]}
 */
export function simulatorCodeIn(outputs) {
  const found = [];
  for (const o of outputs) {
    const ids = o.moduleIds ?? Object.keys(o.modules ?? {});
    for (const id of ids) {
      if (DEMO_MODULE.test(id))
        found.push(`${o.fileName}: module ${id.replace(/^.*[\\/]src[\\/]/, 'src/')}`);
    }
    const text = o.type === 'chunk' ? (o.code ?? '') : typeof o.source === 'string' ? o.source : '';
    for (const s of SIMULATOR_TEXT) {
      if (text.includes(s)) found.push(`${o.fileName}: contains "${s}"`);
    }
  }
  return found;
}
