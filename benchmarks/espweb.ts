/**
 * What ESP Web Tools does for a user, against our default flow, for the same 1 MiB update on an
 * ESP32 behind a CP2102 that holds an older release.
 *
 * ESP Web Tools (esphome/esp-web-tools `src/flash.ts`, at f9d1c4e) drives esptool-js: an
 * `ESPLoader` at `baudrate: 115200`, so the line stays at the ROM's rate; `main()` (reset into
 * the bootloader, chip detection, the flasher stub's upload, the flash id); `flashId()`;
 * `writeFlash` with `compress: true`, `eraseAll: false` and no MD5 check; then its hard reset
 * (RTS asserted, 100 ms, `after()`). Erasing the whole chip first is an option the user must
 * tick; the default flow does not. Here esptool-js 0.7.0 runs that flow through the fake Web
 * Serial port, in real time.
 *
 * Our default flow is FlashJob with the esp-serial driver and `baudRate: 'auto'` (the fastest
 * rate the adapter named by the port's USB ids carries: 921600 for 10c4:ea60), with delta
 * updates on (the default: the board is compared first) and off, each on a VirtualClock
 * (modelled) and in real time. Both whole jobs: connect … reset; ours also checks the MD5.
 */
import { ESPLoader, Transport } from 'esptool-js';
import { equalBytes } from '../src/core/bytes.ts';
import { realClock, sleep, VirtualClock } from '../src/core/clock.ts';
import { LINK_CP2102 } from '../src/sim/link-model.ts';
import { FakeSerial } from '../src/sim/web/fake-web-serial.ts';
import { boardWithOldFirmware, quietTerminal, runOurs } from './esp.ts';
import { benchImage } from './images.ts';

const ADDRESS = 0x10000;
const KiB = 1024;
/** Our whole job ÷ ESP Web Tools' whole job. */
const TARGET = 0.25;
/** The board of the comparison: an ESP32 behind a CP2102, with our default loader (the stub). */
const CP2102_ESP32 = { board: 'esp32', linkModel: LINK_CP2102, loader: 'stub' } as const;

export interface EspWebResult {
  imageBytes: number;
  /** ESP Web Tools' flow with esptool-js, real time. */
  espWebToolsMs: number;
  /** Our default flow, delta on and off: modelled and real time. */
  ours: { delta: boolean; modelMs: number; realMs: number; baud: number }[];
}

async function runEspWebTools(image: Uint8Array): Promise<number> {
  const board = boardWithOldFirmware('esp32', realClock, image.length, LINK_CP2102);
  const serial = new FakeSerial();
  serial.addWire(board.wire!);
  const port = await serial.requestPort();
  const transport = new Transport(port);
  // esptool-js 0.7.0 prints some trace lines even with tracing off.
  (transport as unknown as { trace: (message: string) => void }).trace = () => undefined;
  const t0 = performance.now();
  const loader = new ESPLoader({
    transport,
    baudrate: 115200,
    enableTracing: false,
    terminal: quietTerminal,
  });
  await loader.main();
  await loader.flashId();
  await loader.writeFlash({
    fileArray: [{ data: image, address: ADDRESS }],
    flashSize: 'keep',
    flashMode: 'keep',
    flashFreq: 'keep',
    eraseAll: false,
    compress: true,
  });
  // `hardResetDevice` in src/flash.ts.
  await transport.setRTS(true);
  await sleep(realClock, 100);
  await loader.after();
  await transport.disconnect();
  const ms = performance.now() - t0;
  if (!equalBytes(board.flash.read(ADDRESS, image.length), image)) {
    throw new Error('ESP Web Tools: the flash does not hold the image');
  }
  return ms;
}

export async function runEspWebSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<EspWebResult> {
  const image = benchImage('realistic', (options.quick ? 256 : 1024) * KiB, 7);
  const espWebToolsMs = await runEspWebTools(image);
  options.log(`espweb: ESP Web Tools' flow ${(espWebToolsMs / 1000).toFixed(2)} s`);
  const ours: EspWebResult['ours'] = [];
  for (const delta of [true, false]) {
    const settings = { baudRate: 'auto', delta } as const;
    const model = await runOurs(
      CP2102_ESP32,
      image,
      new VirtualClock({ yieldToHost: setImmediate }),
      settings,
    );
    const real = await runOurs(CP2102_ESP32, image, realClock, settings);
    ours.push({ delta, modelMs: model.ms, realMs: real.ms, baud: real.baud });
    options.log(
      `espweb: ours, delta ${delta ? 'on' : 'off'}, ${real.baud} baud: ` +
        `${(real.ms / 1000).toFixed(2)} s (model ${(model.ms / 1000).toFixed(2)} s)`,
    );
  }
  return { imageBytes: image.length, espWebToolsMs, ours };
}

/** The suite's table for docs/benchmarks.md. */
export function espWebSection(r: EspWebResult, machine: string): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const rows = r.ours.map((o) => {
    const ratio = o.realMs / r.espWebToolsMs;
    return (
      `| ${o.delta ? 'on (default)' : 'off'} | ${o.baud} | ${s(o.modelMs)} | ${s(o.realMs)} | ` +
      `${s(r.espWebToolsMs)} | ${ratio.toFixed(2)}× (${ratio <= TARGET ? 'met' : '**missed**'}) |`
    );
  });
  return [
    `### ESP Web Tools' flow against ours (ESP32, CP2102, ${r.imageBytes / KiB} KiB realistic update)`,
    '',
    machine,
    '',
    '| ours: delta | ours: line speed | ours: modelled | ours: real time | ESP Web Tools (esptool-js 0.7.0, 115200 baud): real time | ours ÷ ESP Web Tools (≤ 0.25×) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
