/**
 * `webflash flash` on real pseudo-terminals (real termios through node-serialport, not the fake
 * port): simulated boards served as `npm run sim -- --pty PATH` serves them. After each flash an
 * independent reader looks at the same simulated board: stm32flash `-r` and avrdude
 * `-U flash:v` over the pty when installed, our own read of the simulated flash for ESP (esptool
 * is not needed). Also the outcomes a factory script branches on: rejected bundle, wrong board,
 * device lost (the pty closes mid-write, then a re-run completes) and Ctrl-C (SIGINT to a child
 * process). The flash log written by every run verifies.
 *
 * Skipped, with the reason printed, without socat (`sudo apt-get install -y socat`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExport } from '../../src/audit/export.ts';
import { EXIT } from '../../src/cli/io.ts';
import {
  DEMO_ROOT,
  hasSocat,
  hexImage,
  image,
  PtyBoard,
  releaseFor,
  runCli,
} from './headless-rig.ts';

const run = promisify(execFile);
const STM32FLASH = '/usr/bin/stm32flash';
const AVRDUDE = '/usr/bin/avrdude';
if (!hasSocat)
  console.warn('headless flash tests skipped: socat not found (apt-get install socat)');

describe.skipIf(!hasSocat)('webflash flash over a pty', () => {
  let dir: string;
  const boards: PtyBoard[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'webflash-headless-'));
  });
  afterAll(async () => {
    for (const b of boards) await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  async function serve(name: string, options: { baud?: number; factor?: number } = {}) {
    const b = new PtyBoard(name, join(dir, `tty-${name}-${boards.length}`), options);
    boards.push(b);
    return b.start();
  }
  function bundleFile(name: string, bytes: Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }
  const flashArgs = (bundle: string, port: string, ...more: string[]): string[] => [
    'flash',
    bundle,
    '--port',
    port,
    '--root',
    DEMO_ROOT,
    '--log',
    join(dir, 'log.jsonl'),
    ...more,
  ];
  function logVerifies(): number {
    const reading = readExport(readFileSync(join(dir, 'log.jsonl')));
    expect(reading.verdict.ok).toBe(true);
    return reading.entries.length;
  }

  it('ESP32-S3 (UART): verified, written, verified; our read-back finds the image; --json events', async () => {
    const b = await serve('esp32s3-uart');
    const data = image(64 * 1024, 7);
    const file = bundleFile(
      'esp.fwb',
      releaseFor({ chip: 'esp32s3', protocol: 'esp-serial', address: 0x10000, data }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path, '--baud', '921600', '--json'), { cwd: dir });
    const ms = performance.now() - t0;
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    const events = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; outcome?: string; phase?: string });
    expect(events[0]!.event).toBe('bundle');
    // The comparison before the write (a delta update) is a phase with progress of its own.
    const progressPhases = events.filter((e) => e.event === 'progress').map((e) => e.phase);
    expect([...new Set(progressPhases)]).toEqual(['comparing', 'erasing', 'writing', 'verifying']);
    expect(events).toContainEqual({ event: 'phase', phase: 'comparing' });
    expect(events.at(-1)).toMatchObject({ event: 'result', ok: true, outcome: 'ok' });
    expect(Buffer.from(b.board.flash.read(0x10000, data.length)).equals(Buffer.from(data))).toBe(
      true,
    );
    console.log(`webflash flash esp32s3-uart: 64 KiB at 921600 baud in ${Math.round(ms)} ms`);
    expect(logVerifies()).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('STM32F4: flashed by webflash, then read back by stm32flash -r over the same pty', async () => {
    const b = await serve('stm32f4');
    const data = image(8 * 1024, 3);
    const file = bundleFile(
      'stm32.fwb',
      releaseFor({ chip: 'stm32f4', protocol: 'stm32-usart', address: 0x0800_0000, data }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    const ms = performance.now() - t0;
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    expect(r.out).toMatch(/verified: 8\.0 KiB written and verified/);
    console.log(`webflash flash stm32f4: 8 KiB at 115200 baud in ${Math.round(ms)} ms`);
    if (!existsSync(STM32FLASH)) {
      console.warn('stm32flash read-back skipped: /usr/bin/stm32flash not found');
      return;
    }
    // webflash started the firmware; the reset line (`npm run sim -- --control`) takes the
    // board back to its bootloader, as BOOT0 + RESET would.
    b.board.enterBootloader!();
    const out = join(dir, 'stm32-read.bin');
    const t1 = performance.now();
    await run(
      STM32FLASH,
      ['-m', '8n1', '-b', '115200', '-r', out, '-S', `0x08000000:${data.length}`, b.path],
      {
        timeout: 30_000,
      },
    );
    console.log(`stm32flash -r of the same 8 KiB: ${Math.round(performance.now() - t1)} ms`);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(data))).toBe(true);
  }, 40_000);

  it('Arduino Uno (STK500v1): Blink flashed by webflash, then avrdude -U flash:v finds it', async () => {
    const b = await serve('uno');
    const blink = hexImage('avr-uno-Blink.hex');
    const file = bundleFile(
      'uno.fwb',
      releaseFor({ chip: 'atmega328p', protocol: 'avr-stk500v1', address: 0, data: blink }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    console.log(
      `webflash flash uno: Blink (1082 bytes) in ${Math.round(performance.now() - t0)} ms`,
    );
    expect(Buffer.from(b.board.flash.read(0, blink.length)).equals(Buffer.from(blink))).toBe(true);
    if (!existsSync(AVRDUDE)) {
      console.warn('avrdude check skipped: /usr/bin/avrdude not found');
      return;
    }
    const hex = join(ROOT_FIXTURES, 'avr-uno-Blink.hex');
    const t1 = performance.now();
    const { stderr } = await run(
      AVRDUDE,
      ['-c', 'arduino', '-p', 'm328p', '-b', '115200', '-P', b.path, '-U', `flash:v:${hex}:i`],
      { timeout: 30_000 },
    );
    console.log(`avrdude -U flash:v of the same image: ${Math.round(performance.now() - t1)} ms`);
    expect(stderr).toMatch(/1082 bytes of flash verified/);
  }, 40_000);

  it('Arduino Mega 2560 (STK500v2): flashed by webflash, then avrdude -c wiring -U flash:v finds it', async () => {
    const b = await serve('mega2560');
    const data = image(2048, 13);
    const file = bundleFile(
      'mega.fwb',
      releaseFor({ chip: 'atmega2560', protocol: 'avr-stk500v2', address: 0, data }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    console.log(`webflash flash mega2560: 2 KiB in ${Math.round(performance.now() - t0)} ms`);
    if (!existsSync(AVRDUDE)) return;
    b.board.enterBootloader!(); // the reset avrdude's DTR pulse would cause on a real board
    const bin = join(dir, 'mega.bin');
    writeFileSync(bin, data);
    const t1 = performance.now();
    const { stderr } = await run(
      AVRDUDE,
      ['-c', 'wiring', '-p', 'm2560', '-b', '115200', '-D', '-P', b.path, '-U', `flash:v:${bin}:r`],
      { timeout: 30_000 },
    );
    console.log(`avrdude -U flash:v of the same 2 KiB: ${Math.round(performance.now() - t1)} ms`);
    expect(stderr).toMatch(/2048 bytes of flash verified/);
  }, 40_000);

  it('Arduino Leonardo (AVR109): touched, followed, flashed; avrdude -c avr109 -U flash:v finds it', async () => {
    const b = await serve('leonardo');
    const blink = hexImage('avr-leonardo-blink.hex');
    const file = bundleFile(
      'leonardo.fwb',
      releaseFor({ chip: 'atmega32u4', protocol: 'avr109', address: 0, data: blink }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    console.log(
      `webflash flash leonardo: ${blink.length} bytes in ${Math.round(performance.now() - t0)} ms`,
    );
    if (!existsSync(AVRDUDE)) return;
    b.board.enterBootloader!(); // a double tap on RESET
    const hex = join(ROOT_FIXTURES, 'avr-leonardo-blink.hex');
    const { stderr } = await run(
      AVRDUDE,
      ['-c', 'avr109', '-p', 'm32u4', '-b', '57600', '-P', b.path, '-U', `flash:v:${hex}:i`],
      { timeout: 30_000 },
    );
    expect(stderr).toMatch(/228 bytes of flash verified/);
  }, 40_000);

  it('nRF52840 (MCUboot over SMP): a signed MCUboot image uploaded, tested and confirmed', async () => {
    const b = await serve('nrf52840-mcuboot');
    const app = new Uint8Array(
      readFileSync(join(ROOT_FIXTURES, '../mcuboot/app-b-ed25519-1.3.0.bin')),
    );
    const file = bundleFile(
      'mcuboot.fwb',
      releaseFor({
        chip: 'nrf52840dk',
        protocol: 'mcuboot-smp',
        slot: 0,
        confirm: 'host',
        data: app,
      }),
    );
    const t0 = performance.now();
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    console.log(
      `webflash flash nrf52840-mcuboot: ${app.length} bytes in ${Math.round(performance.now() - t0)} ms`,
    );
  }, 40_000);

  it('rollback state survives between runs: an older release is refused, then allowed with a reason', async () => {
    const b = await serve('uno');
    const blink = hexImage('avr-uno-Blink.hex');
    const release = (version: string, securityCounter: number): string =>
      bundleFile(
        `uno-${version}.fwb`,
        releaseFor({
          chip: 'atmega328p',
          protocol: 'avr-stk500v1',
          address: 0,
          data: blink,
          version,
          securityCounter,
        }),
      );
    const log = ['--log', join(dir, 'rollback', 'log.jsonl')];
    const newer = await runCli([...flashArgs(release('2.0.0', 5), b.path), ...log], { cwd: dir });
    expect(newer.code, newer.out + newer.err).toBe(EXIT.ok);
    const state = JSON.parse(
      readFileSync(join(dir, 'rollback', 'webflash-rollback.json'), 'utf8'),
    ) as { products: Record<string, unknown> };
    expect(state.products['headless-test']).toMatchObject({ securityCounter: 5, version: '2.0.0' });
    const older = release('1.0.0', 4);
    const refused = await runCli([...flashArgs(older, b.path), ...log], { cwd: dir });
    expect(refused.code).toBe(EXIT.rejected);
    expect(refused.err).toMatch(/rollback\.counter/);
    const allowed = await runCli(
      [...flashArgs(older, b.path), ...log, '--allow-downgrade', 'test-bench', '--note', 'rig 4'],
      { cwd: dir },
    );
    expect(allowed.code, allowed.out + allowed.err).toBe(EXIT.ok);
  }, 40_000);

  it('a bundle for another board: exit 4 (wrong board), nothing written', async () => {
    const b = await serve('stm32f1');
    const file = bundleFile(
      'f4-only.fwb',
      releaseFor({
        chip: 'stm32f4',
        protocol: 'stm32-usart',
        address: 0x0800_0000,
        data: image(1024),
      }),
    );
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code).toBe(EXIT.wrongBoard);
    expect(r.err).toMatch(/bundle\.rejected|stm32f1/);
    expect(b.board.flash.isErased(0x0800_0000, 1024)).toBe(true);
  }, 30_000);

  it('a bootloader that does not answer the protocol: exit 6 (protocol error), nothing written', async () => {
    const b = await serve('esp32');
    const file = bundleFile(
      'f4-for-esp.fwb',
      releaseFor({
        chip: 'stm32f4',
        protocol: 'stm32-usart',
        address: 0x0800_0000,
        data: image(512),
      }),
    );
    const r = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(r.code).toBe(EXIT.protocol);
    expect(r.err).toMatch(/Nothing was written/);
  }, 30_000);

  it('a bundle the root does not trust: exit 1 before the port is touched', async () => {
    const good = releaseFor({
      chip: 'stm32f4',
      protocol: 'stm32-usart',
      address: 0x0800_0000,
      data: image(1024),
    });
    const bad = good.slice();
    bad[bad.length - 10]! ^= 0xff; // an image byte: its SHA-256 no longer matches
    const r = await runCli(flashArgs(bundleFile('bad.fwb', bad), join(dir, 'no-such-port')), {
      cwd: dir,
    });
    expect(r.code).toBe(EXIT.rejected);
    expect(r.err).toMatch(/rejected \[image\.hash-mismatch\]/);
  });

  it('unplugged mid-write (the pty closes): exit 5 with advice; the re-run completes', async () => {
    const b = await serve('stm32f4');
    const data = image(16 * 1024, 5);
    const file = bundleFile(
      'stm32-big.fwb',
      releaseFor({ chip: 'stm32f4', protocol: 'stm32-usart', address: 0x0800_0000, data }),
    );
    let unplugged = false;
    const lost = await runCli(flashArgs(file, b.path), {
      cwd: dir,
      onOutput: (all) => {
        if (!unplugged && /writing [1-9]0%/.test(all)) {
          unplugged = true;
          b.unplug();
        }
      },
    });
    expect(lost.code).toBe(EXIT.deviceLost);
    expect(lost.err).toMatch(/transport\.device-lost/);
    expect(lost.err).toMatch(/run the same webflash command again/);
    await b.plug();
    b.board.enterBootloader!(); // the reset line: a board plugged back starts in its bootloader
    const again = await runCli(flashArgs(file, b.path), { cwd: dir });
    expect(again.code, again.out + again.err).toBe(EXIT.ok);
    expect(
      Buffer.from(b.board.flash.read(0x0800_0000, data.length)).equals(Buffer.from(data)),
    ).toBe(true);
    logVerifies();
  }, 60_000);

  it('Ctrl-C (SIGINT to the process) mid-write: exit 130, says how to recover', async () => {
    const b = await serve('stm32f4');
    const data = image(16 * 1024, 9);
    const file = bundleFile(
      'stm32-cancel.fwb',
      releaseFor({ chip: 'stm32f4', protocol: 'stm32-usart', address: 0x0800_0000, data }),
    );
    let sent = false;
    const r = await runCli(flashArgs(file, b.path), {
      cwd: dir,
      onOutput: (all, child) => {
        if (!sent && /writing [1-9]0%/.test(all)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(r.code).toBe(EXIT.cancelled);
    expect(r.err).toMatch(/cancelled/);
    expect(r.err).toMatch(/still in the bootloader; run the same webflash command again/);
    logVerifies();
  }, 40_000);
});

const ROOT_FIXTURES = new URL('../fixtures/firmware/', import.meta.url).pathname;
