import { VirtualClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/log.ts';
import { FlashJob } from '../src/job/engine.ts';
import { espDriver } from '../src/protocols/esp/driver.ts';
import { createBoard } from '../src/sim/boards.ts';
import type { EspSimBoard } from '../src/sim/esp/boards.ts';
import { benchImage } from './images.ts';
const [boardName, baud, kb, kind] = [
  process.argv[2]!,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5] as 'realistic',
];
const clock = new VirtualClock({ yieldToHost: setImmediate });
const board = createBoard(boardName, { clock, seed: 1 }) as EspSimBoard;
const image = benchImage(kind, kb * 1024, 7);
const logs: string[] = [];
const job = new FlashJob({
  port: board.wire!.port!,
  connector: espDriver,
  source: { kind: 'unverified', name: 'app', address: 0x10000, data: image },
  allowUnverified: true,
  clock,
  settings: { baudRate: baud },
  logger: createLogger(
    (e) => logs.push(`${e.time.toFixed(0)} ${e.source} ${e.level} ${e.message}`),
    () => clock.now(),
  ),
});
let last = 0;
let lastPhase = 'idle';
job.on('phase', (e) => {
  console.log(`${lastPhase.padEnd(12)} ${(e.time - last).toFixed(0).padStart(7)} ms`);
  last = e.time;
  lastPhase = e.phase;
});
const r = await job.run();
console.log(r.ok, r.durationMs);
console.log(
  logs
    .filter((l) => !l.includes(' debug '))
    .slice(0, 40)
    .join('\n'),
);
