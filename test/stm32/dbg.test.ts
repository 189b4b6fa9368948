import { it, expect } from 'vitest';
import { VirtualClock } from '/work/main/src/core/clock.ts';
import { equalBytes } from '/work/main/src/core/bytes.ts';
import { runFlashJob } from '/work/main/src/job/index.ts';
import { createStm32Driver } from '/work/main/src/protocols/stm32/driver.ts';
import { LINK_CP2102, SerialWire, type FaultOptions } from '/work/main/src/sim/serial-wire.ts';
import { Stm32SimBoard } from '/work/main/src/sim/stm32/board.ts';
const faults: FaultOptions[] = [{ dropRate: 0.0003 }, { corruptRate: 0.0003 }, { delayRate: 0.01, delayMs: 1500 }, {dropRate:0.0002, corruptRate:0.0002}];
it('stress', async () => {
  const fails: string[] = [];
  for (const f of faults) for (let seed = 100; seed < 130; seed++) {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const device = new Stm32SimBoard({ chip: seed % 2 ? 'stm32f1' : 'stm32f4', timing: 'instant' });
    const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed });
    const data = Uint8Array.from({ length: 24 * 1024 }, (_, i) => (i * 7 + seed) & 0xff);
    const job = runFlashJob({ port: wire.port!, connector: createStm32Driver({enterSequence: null}), source: { kind: 'unverified', address: 0x08000000, data }, clock, allowUnverified: true, settings: { maxAttempts: 12, retryBaseDelayMs: 50 } });
    clock.setTimer(400, () => wire.setFaults({ ...f, seed }));
    const r = await job;
    const same = equalBytes(device.memory.flash.read(0x08000000, data.length), data);
    if (!r.ok || !same) fails.push(`${JSON.stringify(f)} seed ${seed}: ${r.ok ? 'content differs' : r.error.message}`);
  }
  console.log(fails.join('\n'));
  expect(fails.length).toBe(0);
}, 120000);
