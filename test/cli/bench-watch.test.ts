/**
 * `webflash bench --watch` on real pseudo-terminals: three simulated STM32F4 boards appear one
 * after another on ptys matching the `--ports` pattern; each is flashed as it appears, and the
 * report (the browser bench's CSV) and the hash-chained flash log come out as the browser bench
 * writes them; `webflash log verify` accepts the log. Skipped without socat.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_COLUMNS } from '../../src/audit/bench-report.ts';
import { EXIT } from '../../src/cli/io.ts';
import { DEMO_ROOT, hasSocat, image, PtyBoard, releaseFor, runCli } from './headless-rig.ts';

describe.skipIf(!hasSocat)('webflash bench --watch over ptys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webflash-bench-'));
  const boards: PtyBoard[] = [];
  afterAll(async () => {
    for (const b of boards) await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flashes three boards plugged in one after another; report and log verify', async () => {
    const ports = join(dir, 'ports');
    mkdirSync(ports);
    const data = image(4096, 11);
    const bundle = join(dir, 'bench.fwb');
    writeFileSync(
      bundle,
      releaseFor({ chip: 'stm32f4', protocol: 'stm32-usart', address: 0x0800_0000, data }),
    );
    const log = join(dir, 'bench-log.jsonl');
    const report = join(dir, 'report.csv');
    const plugNext = async (): Promise<void> => {
      const b = new PtyBoard('stm32f4', join(ports, `ttyBENCH${boards.length}`));
      boards.push(b);
      await b.start();
    };
    await plugNext();
    let plugging = Promise.resolve();
    const t0 = performance.now();
    const r = await runCli(
      ['bench', bundle, '--ports', join(ports, 'ttyBENCH*'), '--watch', '--count', '3'].concat([
        '--root',
        DEMO_ROOT,
        '--log',
        log,
        '--report',
        report,
        '--note',
        'batch 7',
      ]),
      {
        cwd: dir,
        onOutput: (all) => {
          // The next board appears once the bench has taken the previous one.
          const seen = (all.match(/plugged in/g) ?? []).length;
          if (seen === boards.length && boards.length < 3) plugging = plugging.then(plugNext);
        },
      },
    );
    await plugging;
    console.log(`webflash bench --watch: 3 boards in ${Math.round(performance.now() - t0)} ms`);
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    expect(r.out).toMatch(/bench: 3 board\(s\), 3 verified, 0 failed/);
    for (const n of [1, 2, 3]) expect(r.out).toMatch(new RegExp(`board-${n}  .*ttyBENCH.*done`));
    for (const b of boards) {
      expect(
        Buffer.from(b.board.flash.read(0x0800_0000, data.length)).equals(Buffer.from(data)),
      ).toBe(true);
    }
    const rows = readFileSync(report, 'utf8').trimEnd().split('\r\n');
    expect(rows[0]).toBe(REPORT_COLUMNS.join(','));
    expect(rows).toHaveLength(4);
    for (const row of rows.slice(1))
      expect(row).toMatch(/,stm32f4,headless-test,1\.0\.0,[0-9a-f]{64},ok,,\d+,.*,batch 7$/);
    const verify = await runCli(['log', 'verify', log], { cwd: dir });
    expect(verify.code, verify.out + verify.err).toBe(EXIT.ok);
    expect(verify.out).toMatch(/4 entries|intact|OK/i);
  }, 60_000);
});
