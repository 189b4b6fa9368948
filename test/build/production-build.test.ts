/**
 * A production build carries no simulator and no demo code (docs/architecture.md, "Rules a
 * machine checks"): the simulated boards, the fake Web Serial / WebUSB and the demo labs load
 * only in demo builds, through imports that a production build drops.
 */
import { build, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';
import { simulatorCodeIn } from '../../scripts/production-check.mjs';

describe('the production build', () => {
  it('holds no module from src/sim or src/demo and no simulator text', async () => {
    const prev = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    try {
      const result = await build({
        logLevel: 'silent',
        mode: 'production',
        build: { write: false, sourcemap: false },
      });
      const outputs = (Array.isArray(result) ? result : [result]).flatMap(
        (r) => (r as Rollup.RollupOutput).output,
      );
      expect(outputs.some((o) => o.fileName === 'index.html')).toBe(true);
      expect(outputs.some((o) => o.fileName === 'webflash-update.js')).toBe(true);
      expect(simulatorCodeIn(outputs)).toEqual([]);
    } finally {
      if (prev === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = prev;
    }
  }, 120_000);

  it('the check finds a simulator module or its boot banner in any chunk', () => {
    const found = simulatorCodeIn([
      { type: 'chunk', fileName: 'a.js', code: 'x', moduleIds: ['/r/src/sim/esp/loader.ts'] },
      { type: 'chunk', fileName: 'b.js', code: '"rst:0x1 (POWERON_RESET)"', moduleIds: [] },
      { type: 'chunk', fileName: 'c.js', code: 'ok', moduleIds: ['/r/src/job/engine.ts'] },
    ]);
    expect(found).toEqual(['a.js: module src/sim/esp/loader.ts', 'b.js: contains "POWERON_RESET"']);
  });
});
