/**
 * The CLI's USB path (`webflash flash --usb`, `webflash bench --usb`): the same commands with the
 * fake WebUSB (src/sim/web/fake-webusb.ts) in place of the `usb` package's, in front of the
 * simulated DfuSe and DFU 1.1 boards. What the commands do with the
 * `navigator.usb` they are given is exactly what they do with node-usb's WebUSB object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExport } from '../../src/audit/export.ts';
import { createBenchCommand } from '../../src/cli/bench-cmd.ts';
import { createFlashCommand } from '../../src/cli/flash-cmd.ts';
import { createListCommand } from '../../src/cli/list-cmd.ts';
import { portInfoFor } from '../../src/platform/node/ports.ts';
import type { HeadlessPlatform } from '../../src/cli/headless.ts';
import { EXIT, runCommand, type CliIo, type Command } from '../../src/cli/io.ts';
import { realClock } from '../../src/core/clock.ts';
import { createBoard } from '../../src/sim/boards.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { FakeUsb } from '../../src/sim/web/fake-webusb.ts';
import { DEMO_ROOT, image, releaseFor, ROOT } from './headless-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'webflash-usb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function usbPlatform(boards: string[]) {
  // Real time: the commands read and write files (bundle, flash log, rollback state) while
  // jobs run, and a virtual clock would run its deadlines out during that real I/O.
  const clock = realClock;
  const bus = new SimUsbBus();
  const sims = boards.map((name, i) => createBoard(name, { clock, usbBus: bus, seed: i + 1 }));
  const fake = new FakeUsb({ bus, grantAll: true });
  const platform: HeadlessPlatform = {
    clock,
    listPorts: async () => [],
    usb: async () => fake.usb,
    now: () => new Date(),
  };
  return { platform, sims };
}

async function run(
  cmd: Command,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), cwd: dir, env: {} };
  const code = await runCommand(cmd, args, io, `webflash ${cmd.name}`);
  return { code, out, err };
}

describe('webflash flash --usb (fake WebUSB)', () => {
  it('DfuSe (STM32F405 in DFU mode): verified, written, verified; the log verifies', async () => {
    const { platform, sims } = usbPlatform(['stm32f405-dfuse']);
    const data = image(16 * 1024, 21);
    const bundle = join(dir, 'dfuse.fwb');
    writeFileSync(
      bundle,
      releaseFor({ chip: 'stm32f4', protocol: 'dfuse', address: 0x0800_0000, data }),
    );
    const log = join(dir, 'usb-log.jsonl');
    const r = await run(createFlashCommand(platform), [
      bundle,
      '--usb',
      '0483:df11',
      '--root',
      DEMO_ROOT,
      '--log',
      log,
      '--json',
    ]);
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    expect(r.out.trim().split('\n').at(-1)).toMatch(/"event":"result","ok":true/);
    const flash = sims[0]!.flash.read(0x0800_0000, data.length);
    expect(Buffer.from(flash).equals(Buffer.from(data))).toBe(true);
    expect(readExport(readFileSync(log)).verdict.ok).toBe(true);
  });

  it('DfuSe (STM32L476 in DFU mode, 2 KiB pages): a bundle for the L4 is written and verified', async () => {
    const { platform, sims } = usbPlatform(['stm32l476-dfuse']);
    const data = image(10 * 1024 + 100, 22);
    const bundle = join(dir, 'dfuse-l4.fwb');
    writeFileSync(
      bundle,
      releaseFor({ chip: 'stm32l4', protocol: 'dfuse', address: 0x0800_0000, data }),
    );
    const args = ['--usb', '0483:df11', '--root', DEMO_ROOT, '--log', join(dir, 'l4-log.jsonl')];
    const r = await run(createFlashCommand(platform), [bundle, ...args]);
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    expect(
      Buffer.from(sims[0]!.flash.read(0x0800_0000, data.length)).equals(Buffer.from(data)),
    ).toBe(true);
    // Another L476 in its bootloader refuses a release for the F4, and nothing is written.
    const other = usbPlatform(['stm32l476-dfuse']);
    const f4 = join(dir, 'dfuse-f4.fwb');
    writeFileSync(
      f4,
      releaseFor({ chip: 'stm32f4', protocol: 'dfuse', address: 0x0800_0000, data }),
    );
    const wrong = await run(createFlashCommand(other.platform), [f4, ...args]);
    expect(wrong.code, wrong.out + wrong.err).toBe(EXIT.wrongBoard);
    expect(other.sims[0]!.flash.isErased(0x0800_0000, data.length)).toBe(true);
  });

  it('a bundle from a URL is verified while it streams, then flashed', async () => {
    const { platform, sims } = usbPlatform(['stm32f405-dfuse']);
    const data = image(8 * 1024, 23);
    const bytes = releaseFor({ chip: 'stm32f4', protocol: 'dfuse', address: 0x0800_0000, data });
    const server = createServer((req, res) => {
      if (req.url !== '/release.fwb') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // In pieces, as a slow download arrives.
      for (let at = 0; at < bytes.length; at += 4096) res.write(bytes.subarray(at, at + 4096));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const args = ['--usb', '0483:df11', '--root', DEMO_ROOT, '--log', join(dir, 'url-log.jsonl')];
      const r = await run(createFlashCommand(platform), [
        `http://127.0.0.1:${port}/release.fwb`,
        ...args,
      ]);
      expect(r.code, r.out + r.err).toBe(EXIT.ok);
      expect(
        Buffer.from(sims[0]!.flash.read(0x0800_0000, data.length)).equals(Buffer.from(data)),
      ).toBe(true);
      const missing = await run(createFlashCommand(platform), [
        `http://127.0.0.1:${port}/nothing.fwb`,
        ...args,
      ]);
      expect(missing.code).toBe(EXIT.failure);
      expect(missing.err).toMatch(/HTTP 404/);
      const plain = await run(createFlashCommand(platform), ['http://example.com/x.fwb', ...args]);
      expect(plain.code).toBe(EXIT.usage);
    } finally {
      server.close();
    }
  });

  it('no such device: exit 3 without touching anything', async () => {
    const { platform } = usbPlatform(['stm32f405-dfuse']);
    const r = await run(createFlashCommand(platform), [
      join(ROOT, 'public/demo/demo.fwb'),
      '--usb',
      '1234:5678',
      '--root',
      DEMO_ROOT,
      '--log',
      join(dir, 'usb-log-2.jsonl'),
    ]);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/no USB device 1234:5678/);
  });

  it('bench --usb: every matching device flashed (a DFU 1.1 gadget, demo release)', async () => {
    const { platform } = usbPlatform(['dfu11-gadget', 'stm32f405-dfuse']);
    const report = join(dir, 'usb-report.json');
    const r = await run(createBenchCommand(platform), [
      join(ROOT, 'public/demo/demo.fwb'),
      '--usb',
      '1209:0001',
      '--root',
      DEMO_ROOT,
      '--log',
      join(dir, 'usb-bench-log.jsonl'),
      '--report',
      report,
    ]);
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    const doc = JSON.parse(readFileSync(report, 'utf8')) as {
      format: string;
      summary: { ok: number };
    };
    expect(doc.format).toBe('webflash-bench-report');
    expect(doc.summary.ok).toBe(1); // the DfuSe board has other USB ids
  });
});

describe('webflash list', () => {
  it('serial ports and USB devices with the protocol their USB ids tell', async () => {
    const { platform } = usbPlatform(['stm32f405-dfuse']);
    const listing = createListCommand({
      ...platform,
      listPorts: async () => [
        {
          path: '/dev/ttyACM0',
          info: portInfoFor('/dev/ttyACM0', { vendorId: 0x2341, productId: 0x0043 }),
        },
        {
          path: '/dev/ttyUSB0',
          info: portInfoFor('/dev/ttyUSB0', { vendorId: 0x10c4, productId: 0xea60 }),
        },
        { path: '/dev/ttyS0', info: portInfoFor('/dev/ttyS0', {}) },
      ],
    });
    const text = await run(listing, []);
    expect(text.code).toBe(EXIT.ok);
    expect(text.out).toMatch(
      /serial \/dev\/ttyACM0 +2341:0043 .*→ AVR \(Uno, Nano\) \(Arduino Uno R3\)/,
    );
    expect(text.out).toMatch(/usb +0483:df11.*→ DfuSe/);
    const json = JSON.parse((await run(listing, ['--json'])).out) as {
      address: string;
      protocol: string | null;
    }[];
    expect(json.map((t) => [t.address, t.protocol])).toEqual([
      ['/dev/ttyACM0', 'avr-stk500v1'],
      ['/dev/ttyUSB0', null],
      ['/dev/ttyS0', null],
      [expect.stringMatching(/^0483:df11/), 'dfuse'],
    ]);
  });
});
